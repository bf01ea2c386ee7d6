import { ErrorCode, MeshError } from '../errors.js';
import type { ObjectStore } from './types.js';

/** `store` with some of its calls replaced; the others pass through. */
export function wrapStore(store: ObjectStore, replaced: Partial<Omit<ObjectStore, 'kind' | 'url'>>): ObjectStore {
  return {
    kind: store.kind,
    url: store.url,
    put: (key, body, options) => store.put(key, body, options),
    putFile: (key, localPath, options) => store.putFile(key, localPath, options),
    delete: (key) => store.delete(key),
    get: (key) => store.get(key),
    tryGet: (key) => store.tryGet(key),
    head: (key) => store.head(key),
    list: (prefix) => store.list(prefix),
    getTags: (key) => store.getTags(key),
    localPath: (key) => store.localPath(key),
    ...replaced,
  };
}

/**
 * `store` as `principal` may use it: reads pass, and a write or delete of a key outside `prefixes` is refused before
 * any request is sent. It says on the embedded store, and earlier, what the principal's IAM policy says on S3.
 */
export function fenceWrites(store: ObjectStore, principal: string, prefixes: readonly string[]): ObjectStore {
  const check = (key: string) => {
    if (!prefixes.some((p) => key.startsWith(p)))
      throw new MeshError(
        ErrorCode.FORBIDDEN,
        `${principal} may not write "${key}": its writes are limited to ${prefixes.join(', ')}`,
        { principal, key },
      );
  };
  return wrapStore(store, {
    put: async (key, body, options) => (check(key), store.put(key, body, options)),
    putFile: async (key, localPath, options) => (check(key), store.putFile(key, localPath, options)),
    delete: async (key) => (check(key), store.delete(key)),
  });
}
