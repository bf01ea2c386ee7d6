import { Redis, Cluster } from 'ioredis';
import { MeshError, ErrorCode } from '../../platform/index.js';
import { decodeRecord, encodeRecord, storedKey, PREFIX_LENGTH } from './codec.js';
import {
  onlineStoreUrl,
  type OnlineRecord,
  type OnlineStore,
  type OnlineWrite,
  type ReadRequest,
  type WriteResult,
} from './types.js';

export interface RedisOnlineStoreConfig {
  url: string;
  /** Connect with ioredis Cluster to the nodes of `url` (comma-separated redis:// URLs). */
  cluster: boolean;
  /** Milliseconds a command may take before it fails (MESH_REDIS_TIMEOUT_MS). */
  commandTimeoutMs?: number;
  keyPrefix: string;
}

// Refuses a value whose version prefix is not newer than the stored one, atomically on the server, for many records in
// one argument: a JSON array of (key, value, expire-at ms or 0) triples. One argument instead of three per record costs
// the client a third of its encoding time. Most materialized keys are new, so SET NX GET writes them in one call and
// hands back the old value of the others. On a cluster each call carries one record and declares its key, so that it
// runs on the node owning it; on one node the keys are not declared.
const SET_IF_NEWER =
  `
local records = cjson.decode(ARGV[1])
local written = 0
for i = 1, #records, 3 do
  local key, value, expireAt = records[i], records[i + 1], records[i + 2]
  local old
  if expireAt ~= '0' then old = redis.call('SET', key, value, 'NX', 'GET', 'PXAT', expireAt) else old = ` +
  `redis.call('SET', key, value, 'NX', 'GET') end
  if not old then
    written = written + 1
  elseif string.sub(old, 1, ${PREFIX_LENGTH}) < string.sub(value, 1, ${PREFIX_LENGTH}) then
    if expireAt ~= '0' then redis.call('SET', key, value, 'PXAT', expireAt) else redis.call('SET', key, value) end
    written = written + 1
  end
end
return written`;

type Client = (Redis | Cluster) & {
  meshSetIfNewer(records: string): Promise<number>;
  meshSetIfNewerOne(key: string, records: string): Promise<number>;
};

// Records per script call on one node: Redis runs nothing else meanwhile, so a call is kept to about a millisecond.
// On a cluster one key per call, since a script's keys must share a slot.
const RECORDS_PER_CALL = 250;
const WRITE_CHUNK = 10_000;

/**
 * Redis layout: one string per (view version, entity), key `<prefix><view>@v<N>:<entity key>`, value the encoded record
 * (version prefix + JSON array of the values); expiry at event time + expireAfter. A read of any number of views and
 * entities is one MGET on a single node; on a cluster, GETs auto-pipelined per node.
 */
export class RedisOnlineStore implements OnlineStore {
  readonly kind = 'redis';
  readonly url: string;
  private readonly client: Client;

  constructor(private readonly config: RedisOnlineStoreConfig) {
    this.url = onlineStoreUrl({ kind: 'redis', ...config });
    // A command waits at most commandTimeout (then fails, ONLINE_STORE_ERROR), not until Redis comes back.
    const options = {
      enableAutoPipelining: true,
      maxRetriesPerRequest: 2,
      lazyConnect: false,
      commandTimeout: config.commandTimeoutMs ?? 1_000,
    };
    const client = config.cluster
      ? new Cluster(
          config.url.split(',').map((u) => {
            const url = new URL(u.trim());
            return { host: url.hostname, port: Number(url.port || 6379) };
          }),
          { redisOptions: options, enableAutoPipelining: true },
        )
      : new Redis(config.url, options);
    // Connection failures surface where they matter, as ONLINE_STORE_ERROR on the commands they fail; ioredis would
    // otherwise print every reconnect attempt as an unhandled error event.
    client.on('error', () => undefined);
    client.defineCommand('meshSetIfNewer', { numberOfKeys: 0, lua: SET_IF_NEWER });
    // With a fixed key count ioredis can route each call to the node owning its key.
    client.defineCommand('meshSetIfNewerOne', { numberOfKeys: 1, lua: SET_IF_NEWER });
    this.client = client as Client;
  }

  private key(table: string, entity: string): string {
    return storedKey(`${this.config.keyPrefix}${table}:${entity}`);
  }

  async write(table: string, records: OnlineWrite[], expireAfterMs: number, now = Date.now()): Promise<WriteResult> {
    let written = 0;
    const skew = Date.now() - now;
    for (let i = 0; i < records.length; i += WRITE_CHUNK) {
      const chunk = records.slice(i, i + WRITE_CHUNK);
      const expireAt = (r: OnlineWrite) => (expireAfterMs > 0 ? String(r.eventTs + expireAfterMs + skew) : '0');
      const calls: (() => Promise<number>)[] = [];
      if (this.config.cluster) {
        for (const r of chunk) {
          const key = this.key(table, r.key);
          const records = JSON.stringify([key, encodeRecord(r), expireAt(r)]);
          calls.push(() => this.client.meshSetIfNewerOne(key, records));
        }
      } else {
        for (let j = 0; j < chunk.length; j += RECORDS_PER_CALL) {
          const packed: string[] = [];
          for (const r of chunk.slice(j, j + RECORDS_PER_CALL))
            packed.push(this.key(table, r.key), encodeRecord(r), expireAt(r));
          const records = JSON.stringify(packed);
          calls.push(() => this.client.meshSetIfNewer(records));
        }
      }
      const results = await this.guard(() => this.callScripts(calls));
      written += results.reduce((a, b) => a + b, 0);
    }
    return { written, skipped: records.length - written };
  }

  async read(requests: ReadRequest[]): Promise<(OnlineRecord | undefined)[][]> {
    const keys = requests.flatMap((r) => r.keys.map((k) => this.key(r.table, k)));
    if (keys.length === 0) return requests.map(() => []);
    const values = await this.guard(() =>
      this.config.cluster ? Promise.all(keys.map((k) => this.client.get(k))) : (this.client as Redis).mget(keys),
    );
    let i = 0;
    return requests.map((r) =>
      r.keys.map(() => {
        const v = values[i++];
        return v == null ? undefined : decodeRecord(v);
      }),
    );
  }

  async stats(): Promise<{ table: string; keys: number; bytes: number }[]> {
    const tables = new Map<string, { keys: number; bytes: number }>();
    for (const node of this.masters()) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${this.config.keyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        const sizes = keys.length ? await Promise.all(keys.map((k) => node.strlen(k))) : [];
        keys.forEach((k, j) => {
          const table = k.slice(this.config.keyPrefix.length, k.indexOf(':', this.config.keyPrefix.length));
          const t = tables.get(table) ?? { keys: 0, bytes: 0 };
          t.keys++;
          t.bytes += k.length + sizes[j]!;
          tables.set(table, t);
        });
      } while (cursor !== '0');
    }
    return [...tables].map(([table, t]) => ({ table, ...t })).sort((a, b) => a.table.localeCompare(b.table));
  }

  async drop(table: string): Promise<void> {
    for (const node of this.masters()) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${this.config.keyPrefix}${table}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await Promise.all(keys.map((k) => node.unlink(k)));
      } while (cursor !== '0');
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /**
   * Runs script calls; those a node answered NOSCRIPT are sent again once the script is loaded on every master. ioredis
   * sends automatic pipelines with EVALSHA and loads a script once per client, not per node, so a cluster node that has
   * not seen it (or a server whose scripts were flushed, or that restarted) refuses it. The calls refused wrote
   * nothing, so each record is written once.
   */
  private async callScripts(calls: (() => Promise<number>)[]): Promise<number[]> {
    const settled = await Promise.allSettled(calls.map((call) => call()));
    const noScript = (r: PromiseSettledResult<number>) =>
      r.status === 'rejected' && /^NOSCRIPT/.test((r.reason as Error)?.message ?? '');
    const failed = settled.find((r) => r.status === 'rejected' && !noScript(r));
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const again = settled.flatMap((r, i) => (noScript(r) ? [i] : []));
    if (again.length > 0) {
      await Promise.all(this.masters().map((node) => node.script('LOAD', SET_IF_NEWER)));
      const values = await Promise.all(again.map((i) => calls[i]!()));
      again.forEach((i, j) => (settled[i] = { status: 'fulfilled', value: values[j]! }));
    }
    return settled.map((r) => (r as PromiseFulfilledResult<number>).value);
  }

  private masters(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client as Redis];
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // The client learns that the store failed and how; the store's address stays in the log (the error's cause).
      throw new MeshError(
        ErrorCode.ONLINE_STORE_ERROR,
        `the online store did not answer: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  }
}
