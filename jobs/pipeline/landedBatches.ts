import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { faultPoint, type ObjectInfo, type Platform } from '../../platform/index.js';
import type { SourceSpec, StreamSourceSpec } from './spec.js';
import { tierOf } from './tiers.js';

/** Below a stream source's prefix: the batches landed from its stream, one object per run of sequences. */
const BATCH_FOLDER = 'stream/';
const SEQUENCE = /\+(\d{12})-(\d{12})\.jsonl$/;
const pad = (n: number) => String(n).padStart(12, '0');

/** Committed batches are merged this many of a size at a time, so the folder keeps few objects (tiered). */
const MERGE_FANOUT = 16;
/** A merge reads each part whole: parts past this many messages are left as they are. */
const MAX_MERGED_MESSAGES = 1 << 20;
/** A push waiting on a lagging consumer reads its runs' batches by key (at most 30 s later): younger ones stay put. */
const SETTLE_MS = 5 * 60_000;
/** Merges per call: a run after a long outage catches up over several runs instead of delaying one. */
const MERGES_PER_RUN = 4;

export const batchFolder = (domain: string, source: Pick<SourceSpec, 'prefix'>) =>
  `${domain}/${source.prefix}${BATCH_FOLDER}`;

export const batchKey = (folder: string, subject: string, first: number, last: number) =>
  `${folder}${subject}+${pad(first)}-${pad(last)}.jsonl`;

/** Whether a raw object is a batch landed from a stream. */
export const isStreamBatch = (key: string) => key.includes(`/${BATCH_FOLDER}`) && SEQUENCE.test(key);

/** The stream sequences a landed batch holds. */
export function batchRange(key: string): { first: number; last: number } | undefined {
  const m = isStreamBatch(key) ? SEQUENCE.exec(key) : null;
  return m ? { first: Number(m[1]), last: Number(m[2]) } : undefined;
}

/** The last stream sequence among these raw objects' batches (0: none). */
export function lastSequence(keys: Iterable<string>): number {
  let last = 0;
  for (const key of keys) last = Math.max(last, batchRange(key)?.last ?? 0);
  return last;
}

/**
 * The objects without the landed batches another one covers: the parts of a merge killed before it deleted them, so
 * every sequence is read from exactly one object.
 */
export function withoutCovered<T extends Pick<ObjectInfo, 'key'>>(objects: T[]): T[] {
  const covered = new Set(coveredBatches(objects).map((o) => o.key));
  return covered.size === 0 ? objects : objects.filter((o) => !covered.has(o.key));
}

function coveredBatches<T extends Pick<ObjectInfo, 'key'>>(objects: T[]): T[] {
  const batches = objects
    .flatMap((o) => {
      const range = batchRange(o.key);
      return range ? [{ o, ...range }] : [];
    })
    .sort((a, b) => a.first - b.first || b.last - a.last);
  let reached = 0;
  const covered: T[] = [];
  for (const b of batches) {
    if (b.last <= reached) covered.push(b.o);
    reached = Math.max(reached, b.last);
  }
  return covered;
}

/**
 * Merges a stream source's committed batches (sequences up to `position`), sixteen adjacent ones of a size at a time,
 * so its folder holds a number of objects that grows with the logarithm of the stream, not with the runs that read it:
 * every run lists the folder and a full run reads every object. The merged object is written before its parts are
 * deleted; a merge killed between leaves parts it covers, left out of reads (`withoutCovered`) and deleted here.
 * Returns the number of merges.
 */
export async function compactLandedBatches(
  platform: Pick<Platform, 'store' | 'config'>,
  domain: string,
  source: StreamSourceSpec,
  position: number,
  now = Date.now(),
): Promise<number> {
  const { store } = platform;
  const folder = batchFolder(domain, source);
  const listed = await store.list(folder);
  for (const part of coveredBatches(listed)) if (batchRange(part.key)!.last <= position) await store.delete(part.key);
  const settled = withoutCovered(listed)
    .map((o) => ({ ...o, ...batchRange(o.key)! }))
    .filter((b) => b.last <= position && b.lastModified.getTime() <= now - SETTLE_MS)
    .sort((a, b) => a.first - b.first);
  let merges = 0;
  for (let i = 0; i + MERGE_FANOUT <= settled.length && merges < MERGES_PER_RUN; ) {
    const parts = settled.slice(i, i + MERGE_FANOUT);
    const tier = tierOf(parts[0]!.last - parts[0]!.first + 1, MERGE_FANOUT);
    const oneSize = parts.every((p) => tierOf(p.last - p.first + 1, MERGE_FANOUT) === tier);
    if (!oneSize || parts.at(-1)!.last - parts[0]!.first + 1 > MAX_MERGED_MESSAGES) {
      i++;
      continue;
    }
    const file = path.join(platform.config.tmpDir, `batches-${randomBytes(6).toString('hex')}.jsonl`);
    await fs.mkdir(platform.config.tmpDir, { recursive: true });
    try {
      for (const p of parts) await fs.appendFile(file, await store.get(p.key));
      await store.putFile(batchKey(folder, source.stream.subject, parts[0]!.first, parts.at(-1)!.last), file, {
        tags: { domain, 'data-product': source.name, layer: 'raw' },
        contentType: 'application/x-ndjson',
      });
    } finally {
      await fs.rm(file, { force: true });
    }
    faultPoint(platform.config, 'during-batch-merge');
    for (const p of parts) await store.delete(p.key);
    merges++;
    i += MERGE_FANOUT;
  }
  return merges;
}
