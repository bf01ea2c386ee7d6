import { createHash } from 'node:crypto';
import { getJson, type ObjectInfo, type ObjectStore, type Platform } from '../../platform/index.js';
import {
  currentManifest,
  ingestStatePrefix,
  type CuratedManifest,
  type IngestState,
  type PublishedFile,
  type SourceState,
} from '../../products/index.js';
import { batchRange, isStreamBatch, lastSequence } from './landedBatches.js';
import { sourceFiles } from './load.js';
import type { PipelineSpec, SourceSpec } from './spec.js';

/** What a run reads and what it continues from. */
export interface IngestPlan {
  mode: 'full' | 'incremental';
  reason?: string;
  /** A hash of the definition the run builds with. */
  definition: string;
  /** Every raw object each source has now. */
  files: Record<string, ObjectInfo[]>;
  /** The objects this run reads: all of them when full, the ones no earlier run read when incremental. */
  fresh: Record<string, ObjectInfo[]>;
  /** Incremental only: the version and ingest state the run continues from. */
  previous?: { manifest: CuratedManifest; state: IngestState };
}

const fileStamp = (f: ObjectInfo) => `${f.size}:${f.etag}`;

/**
 * Incremental unless the run cannot continue faithfully from the current version: there is none or no state beside it,
 * the definition changed (every row may change), a source is new, or a raw object already read was rewritten in place
 * (its old records are in the staged layer and cannot be told apart). Objects deleted from raw keep their records.
 */
export async function planIngest(
  platform: Pick<Platform, 'store'>,
  pipeline: PipelineSpec,
  definitionText: string,
  full: boolean,
): Promise<IngestPlan> {
  const definition = createHash('sha256').update(definitionText).digest('hex');
  const files = Object.fromEntries(
    await Promise.all(
      pipeline.sources.map(async (s) => [s.name, await sourceFiles(platform.store, pipeline.domain, s)] as const),
    ),
  );
  const fullPlan = (reason: string): IngestPlan => ({ mode: 'full', reason, definition, files, fresh: files });
  if (full) return fullPlan('--full');
  const manifest = await currentManifest(platform, pipeline.domain);
  if (!manifest) return fullPlan('the first run');
  const state = manifest.state ? await getJson<IngestState>(platform.store, manifest.state.key) : undefined;
  if (!state) return fullPlan('the current version has no ingest state');
  if (state.definition !== definition) return fullPlan('the pipeline definition changed');
  const fresh: Record<string, ObjectInfo[]> = {};
  for (const s of pipeline.sources) {
    const seen = state.sources[s.name];
    if (!seen) return fullPlan(`source "${s.name}" is new`);
    const rewritten = files[s.name]!.find(
      (f) => !isStreamBatch(f.key) && seen.files[f.key] !== undefined && seen.files[f.key] !== fileStamp(f),
    );
    if (rewritten) return fullPlan(`raw object ${rewritten.key} was rewritten after it was read`);
    fresh[s.name] = files[s.name]!.filter((f) => {
      const batch = batchRange(f.key);
      return batch ? batch.first > (seen.position ?? 0) : seen.files[f.key] === undefined;
    });
  }
  return { mode: 'incremental', definition, files, fresh, previous: { manifest, state } };
}

/**
 * The ledger after a run: what the previous state had read plus what this run read, raw files by their stamps and a
 * stream source's landed batches by the last sequence read (its committed position): one entry per file delivered,
 * none per micro-batch.
 */
export function ledgerAfter(plan: IngestPlan, spec: SourceSpec): Pick<SourceState, 'files' | 'position'> {
  const prior = plan.previous?.state.sources[spec.name];
  const files = Object.fromEntries(
    [...Object.entries(prior?.files ?? {}), ...plan.fresh[spec.name]!.map((f) => [f.key, fileStamp(f)] as const)]
      // States written before positions were the ledger named every batch.
      .filter(([key]) => !isStreamBatch(key)),
  );
  if (!spec.stream) return { files };
  return { files, position: Math.max(prior?.position ?? 0, lastSequence(plan.files[spec.name]!.map((f) => f.key))) };
}

/** Writes the state content-addressed; the manifest that names it is the commit. */
export async function putIngestState(store: ObjectStore, state: IngestState): Promise<PublishedFile> {
  const body = JSON.stringify(state);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const key = `${ingestStatePrefix(state.domain)}/v=${sha256.slice(0, 16)}.json`;
  if ((await store.head(key))?.size !== Buffer.byteLength(body)) {
    await store.put(key, body, {
      tags: { domain: state.domain, 'data-product': '_staged', layer: 'staged' },
      contentType: 'application/json',
    });
  }
  return { key, rows: Object.keys(state.sources).length, bytes: Buffer.byteLength(body), sha256 };
}
