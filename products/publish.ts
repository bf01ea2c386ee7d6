import fs from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { readParquet, type ObjectStore, type ObjectTags, type Duck } from '../platform/index.js';
import type { PublishedFile } from './types.js';

/**
 * Writes `select` to Parquet and publishes it content-addressed: `<prefix>/v=<sha>/<name>.parquet`.
 * The same rows give the same bytes, so a rerun finds the object already there and writes nothing.
 */
export async function publishParquet(
  duck: Duck,
  store: ObjectStore,
  tmpDir: string,
  select: string,
  prefix: string,
  fileName: string,
  tags: ObjectTags,
  /**
   * zstd for what readers keep; snappy for what only the next run reads back; lz4 for what is kept and scanned whole
   * again and again (feature tables: it decodes about 2x faster than zstd, for about 1.4x the bytes).
   */
  compression: 'zstd' | 'snappy' | 'lz4' = 'zstd',
  /** Also hash its rows (`digest`): datasets are compared by their rows, whichever files hold them. */
  digest = false,
): Promise<PublishedFile> {
  await fs.mkdir(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `${randomUUID()}.parquet`);
  try {
    const { Count: rows } = await duck.one<{ Count: number }>(
      `COPY (${select}) TO '${tmp.replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION ${compression}, ROW_GROUP_SIZE
        122880)`,
    );
    const body = await fs.readFile(tmp);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const key = `${prefix}/v=${sha256.slice(0, 16)}/${fileName}.parquet`;
    const rowsHash = digest ? { digest: await rowsDigest(duck, tmp) } : {};
    if ((await store.head(key))?.size !== body.length)
      await store.putFile(key, tmp, { tags, contentType: 'application/vnd.apache.parquet' });
    return { key, rows: Number(rows), bytes: body.length, sha256, ...rowsHash };
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/**
 * A hash of a Parquet file's rows that does not depend on their order or on how they are split into files: the sum of
 * each row's hash (DuckDB's), mod 2^64, in decimal. Files' digests add up to their union's.
 */
export async function rowsDigest(duck: Duck, file: string): Promise<string> {
  const { digest } = await duck.one<{ digest: string }>(
    `SELECT (coalesce(sum(hash(*COLUMNS(*))::HUGEINT), 0) % 18446744073709551616)::VARCHAR AS digest FROM
      ${readParquet([file])}`,
  );
  return digest;
}
