import { ErrorCode, MeshError } from '../errors.js';
import type { BucketLayout } from '../config.js';
import { assertValidKey, type ObjectInfo, type ObjectStore, type ObjectTags, type PutOptions } from './types.js';

/** The first key segment of the platform's own objects, and the owner its bucket is named after. */
export const PLATFORM_SEGMENT = '_platform';
export const PLATFORM_BUCKET_OWNER = 'platform';

export const bucketOf = (layout: BucketLayout, owner: string): string =>
  layout.overrides[owner] ?? layout.template.replaceAll('{domain}', owner);

/** The owner of a key's bucket, and the key inside it: the first segment names the owner. */
export function splitKey(key: string): { owner: string; segment: string; rest: string } {
  const slash = key.indexOf('/');
  const segment = slash < 0 ? key : key.slice(0, slash);
  const rest = slash < 0 ? '' : key.slice(slash + 1);
  return { owner: segment === PLATFORM_SEGMENT ? PLATFORM_BUCKET_OWNER : segment, segment, rest };
}

/**
 * One key space over a bucket per owner: `<domain>/<layer>/…` lives at `<layer>/…` in the domain's bucket,
 * `_platform/…` in the platform's. Callers see the same keys as on one bucket.
 */
export class BucketRoutedStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly url: string;
  private readonly stores = new Map<string, ObjectStore>();

  /**
   * `open` gives the store of one bucket; `owners` the domains known now, for a listing that spans buckets (a
   * domain's bucket is only listed once the domain exists).
   */
  constructor(
    private readonly layout: BucketLayout,
    private readonly open: (bucket: string) => ObjectStore,
    private readonly owners: () => string[],
  ) {
    this.url = `s3://${layout.template}`;
  }

  /** The store of an owner's bucket. */
  bucketStore(owner: string): ObjectStore {
    const bucket = bucketOf(this.layout, owner);
    let store = this.stores.get(bucket);
    if (!store) this.stores.set(bucket, (store = this.open(bucket)));
    return store;
  }

  private route(key: string): { store: ObjectStore; rest: string; segment: string } {
    assertValidKey(key);
    const { owner, segment, rest } = splitKey(key);
    if (rest === '')
      throw new MeshError(ErrorCode.STORE_ERROR, `invalid object key "${key}": a key names its owner, then a path`);
    return { store: this.bucketStore(owner), rest, segment };
  }

  async put(key: string, body: string | Uint8Array, options?: PutOptions): Promise<void> {
    const r = this.route(key);
    return r.store.put(r.rest, body, options);
  }

  async putFile(key: string, localPath: string, options?: PutOptions): Promise<void> {
    const r = this.route(key);
    return r.store.putFile(r.rest, localPath, options);
  }

  async get(key: string): Promise<Buffer> {
    const r = this.route(key);
    return r.store.get(r.rest);
  }

  async tryGet(key: string): Promise<Buffer | undefined> {
    const r = this.route(key);
    return r.store.tryGet(r.rest);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const r = this.route(key);
    const info = await r.store.head(r.rest);
    return info && { ...info, key };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (prefix.includes('/')) {
      const { owner, segment, rest } = splitKey(prefix);
      const found = await this.bucketStore(owner).list(rest);
      return found.map((o) => ({ ...o, key: `${segment}/${o.key}` }));
    }
    // A prefix within the first segment spans the buckets whose segment it starts.
    const segments = [...this.owners(), PLATFORM_SEGMENT].filter((s) => s.startsWith(prefix));
    const lists = await Promise.all(segments.map((s) => this.list(`${s}/`)));
    return lists.flat().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const r = this.route(key);
    return r.store.delete(r.rest);
  }

  async getTags(key: string): Promise<ObjectTags> {
    const r = this.route(key);
    return r.store.getTags(r.rest);
  }

  async localPath(key: string): Promise<string> {
    const r = this.route(key);
    return r.store.localPath(r.rest);
  }
}

/** Written into the one bucket by `mesh store migrate --to-buckets` once every copy is verified: the switch. */
export const MIGRATED_MARKER_KEY = `${PLATFORM_SEGMENT}/store/migrated-to-buckets.json`;

/**
 * The one bucket until it holds the migration's marker, then the buckets per domain: a mesh configured with both keeps
 * working through its migration. A process decides once, at its first call; one started before the switch keeps
 * writing the one bucket until it restarts.
 */
export function untilMigrated(single: ObjectStore, routed: ObjectStore): ObjectStore {
  let decided: ObjectStore | undefined;
  const target = async () => (decided ??= (await single.head(MIGRATED_MARKER_KEY)) ? routed : single);
  return {
    kind: 's3',
    url: single.url,
    put: async (key, body, options) => (await target()).put(key, body, options),
    putFile: async (key, file, options) => (await target()).putFile(key, file, options),
    get: async (key) => (await target()).get(key),
    tryGet: async (key) => (await target()).tryGet(key),
    head: async (key) => (await target()).head(key),
    list: async (prefix) => (await target()).list(prefix),
    delete: async (key) => (await target()).delete(key),
    getTags: async (key) => (await target()).getTags(key),
    localPath: async (key) => (await target()).localPath(key),
  };
}
