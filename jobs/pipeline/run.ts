import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  Duck,
  sqlIdent as id,
  sqlString,
  MeshError,
  ErrorCode,
  isMeshError,
  getJson,
  putJson,
  sweepStaleTemp,
  runUuid,
  faultPoint,
  platformAs,
  createEventStream,
  type Platform,
  type DomainInfo,
  type Progress,
} from '../../platform/index.js';
import {
  loadContract,
  evaluateQuality,
  loadPolicy,
  pipelineWritePrefixes,
  type DataContract,
} from '../../governance/index.js';
import { loadPipeline, streamSources, type PipelineSpec } from './spec.js';
import { fingerprint, loadSource, sourceFiles, unloadSource } from './load.js';
import {
  publishParquet,
  currentManifest,
  curatedManifestKey,
  extractManifestKey,
  quarantinePrefix,
  runKey,
  reportJobMetrics,
  recordStreamFreshness,
  type CuratedManifest,
  type IngestState,
  type RunRecord,
  type SourceAccounting,
} from '../../products/index.js';
import { ledgerAfter, planIngest, putIngestState } from './ingest.js';
import { freshnessOf, landStreamBatches, type Landing } from './streamBatch.js';
import { compactLandedBatches, isStreamBatch } from './landedBatches.js';
import { stageSource } from './stage.js';
import {
  buildFull,
  buildIncremental,
  publishDataset,
  stagedViews,
  type BuiltDataset,
  type DatasetContext,
} from './datasets.js';
import { pipelineRunSamples } from './metrics.js';
import { pipelineEnd, pipelineStart, type PipelineLineage } from './lineage.js';
import { pipelineColumnLineage, type DatasetColumnLineage, type DeclaredLineage } from './columnLineage.js';
import { loadDeclaredLineage } from './declaredLineage.js';

export interface RunOptions {
  progress?: Progress;
  /** Read every raw object again and rebuild every dataset, instead of continuing from the current version. */
  full?: boolean;
  /**
   * Called just before the manifest is committed: throws when this run may no longer publish (a scheduler instance
   * that lost its domain's lease while it ran, say, frozen past its expiry), so the version stays as it is.
   */
  fence?: () => Promise<void>;
}

/**
 * The current curated version when a run now would read exactly what it was built from (the same raw objects, the same
 * pipeline, SQL, contract and version), so running again would publish nothing new; undefined otherwise.
 */
export async function unchangedVersion(platform: Platform, domain: DomainInfo): Promise<CuratedManifest | undefined> {
  const current = await currentManifest(platform, domain.name);
  if (!current) return undefined;
  const pipeline = loadPipeline(domain, loadContract(domain.contractFile, domain.name));
  const files = await Promise.all(
    pipeline.sources.map(async (spec) => ({
      source: spec.name,
      files: await sourceFiles(platform.store, domain.name, spec),
    })),
  );
  return fingerprint(files, await definitionOf(domain, pipeline)) === current.inputFingerprint ? current : undefined;
}

async function definitionOf(domain: DomainInfo, pipeline: PipelineSpec): Promise<string> {
  return `${pipeline.text}\0${await fs.readFile(domain.contractFile, 'utf8')}\0${domain.version}`;
}

/**
 * Raw → curated for one domain. Incremental by default: only raw objects no earlier run read are loaded and staged
 * (typed, rejects quarantined, duplicates of anything staged before dropped), only the rows their `by` values reach are
 * recomputed, and only the files that held those rows are replaced. Then every dataset is checked against the contract
 * as a whole (rules that count, on what changed), PII is masked, Parquet is published content-addressed, and the
 * manifest (naming the ingest state) is committed last: a run killed at any point leaves the previous version current
 * and the next run starts from it.
 */
export async function runDomainPipeline(
  shared: Platform,
  domain: DomainInfo,
  options: RunOptions = {},
): Promise<RunRecord> {
  // A run works as its domain's pipeline role: a bug aimed at another domain's data fails before writing.
  const platform = platformAs(shared, `${domain.name}-pipeline`, pipelineWritePrefixes(domain.name));
  const { store, config } = platform;
  const progress = options.progress;
  const startedAt = new Date();
  const runId = `${startedAt.toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
  const contract = loadContract(domain.contractFile, domain.name);
  const pipeline = loadPipeline(domain, contract);
  const declaredLineage = loadDeclaredLineage(
    domain,
    pipeline.sources.map((s) => s.name),
  );
  const policy = loadPolicy();
  const extract = await getJson<{ asOf: string }>(store, extractManifestKey(domain.name));
  const asOf = new Date(extract?.asOf ?? startedAt.toISOString());
  const tmpDir = path.join(config.tmpDir, runId);
  const lineage: PipelineLineage = {
    namespace: platform.lineage.namespace,
    storeNamespace: platform.lineage.storeNamespace,
    domain: domain.name,
    owner: contract.team?.name,
    description: contract.description?.purpose,
    sources: pipeline.sources,
  };
  platform.lineage.emit(pipelineStart(lineage, runUuid(runId), startedAt));

  const record: RunRecord = {
    runId,
    domain: domain.name,
    dataProduct: contract.dataProduct,
    contractVersion: contract.version,
    domainVersion: domain.version,
    status: 'failed',
    mode: 'full',
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationMs: 0,
    asOf: asOf.toISOString(),
    inputFingerprint: '',
    accounting: [],
    datasets: [],
    quarantine: [],
    quality: [],
  };
  await sweepStaleTemp(config.tmpDir);
  let duck: Duck | undefined;
  try {
    const definition = await definitionOf(domain, pipeline);
    const stream = pipeline.sources.some((s) => s.stream) ? createEventStream(config, platform.log) : undefined;
    let landings: Landing[] = [];
    if (stream) {
      try {
        const current = await currentManifest(platform, domain.name);
        const state = current?.state ? await getJson<IngestState>(store, current.state.key) : undefined;
        landings = await landStreamBatches(platform, pipeline, stream, state);
        record.streamBatches = landings.map((l) => l.batch);
        for (const source of streamSources(pipeline)) {
          const position = state?.sources[source.name]?.position ?? 0;
          await compactLandedBatches(platform, domain.name, source, position).catch((err: unknown) =>
            platform.log.warn({ err, domain: domain.name, source: source.name }, 'landed batches not merged'),
          );
        }
      } finally {
        await stream.close();
      }
      faultPoint(config, 'after-stream-batch');
    }
    const plan = await planIngest(platform, pipeline, definition, options.full ?? false);
    record.mode = plan.mode;
    if (plan.reason) record.modeReason = plan.reason;
    record.inputFingerprint = fingerprint(
      pipeline.sources.map((s) => ({ source: s.name, files: plan.files[s.name]! })),
      definition,
    );
    record.streamed = pipeline.sources.flatMap((s) => {
      const keys = plan.fresh[s.name]!.map((f) => f.key).filter((k) => s.stream && isStreamBatch(k));
      return keys.length > 0 ? [{ source: s.name, keys }] : [];
    });
    const previous = plan.previous;
    if (previous && Object.values(plan.fresh).every((f) => f.length === 0)) {
      record.unchanged = true;
      record.status = 'succeeded';
      record.datasets = Object.values(previous.manifest.datasets);
      record.cumulative = Object.values(previous.state.sources).map((s) => s.totals);
      // The data checked is the version serving: its run's results stand (for `mesh quality --gate` and the catalog).
      record.quality = (await getJson<RunRecord>(store, runKey(domain.name, previous.manifest.runId)))?.quality ?? [];
      progress?.done(`${domain.name}: nothing new since ${previous.manifest.runId}`);
      return record;
    }
    duck = await Duck.open({ ...config.duckdb, tempDirectory: path.join(tmpDir, 'duckdb') });
    await prepare(duck, asOf);
    const stagedTags = { domain: domain.name, 'data-product': contract.dataProduct, layer: 'staged' };
    const state: IngestState = { domain: domain.name, definition: plan.definition, sources: {} };
    for (const spec of pipeline.sources) {
      progress?.step(
        `${domain.name}: reading ${spec.name} ` +
          `(${plan.fresh[spec.name]!.length} ${plan.mode === 'full' ? '' : 'new '}files)`,
      );
      const load = await loadSource(duck, store, spec, plan.fresh[spec.name]!);
      const prior = previous?.state.sources[spec.name];
      const staged = await stageSource(duck, store, tmpDir, domain.name, spec, load, prior, stagedTags);
      await unloadSource(duck, spec);
      const acc = staged.accounting;
      record.accounting.push(acc);
      state.sources[spec.name] = {
        ...ledgerAfter(plan, spec),
        staged: staged.staged,
        streams: staged.streams,
        totals: prior ? addAccounting(prior.totals, acc) : acc,
      };
      progress?.done(
        `${domain.name}/${spec.name}: ${acc.curated} accepted, ${acc.quarantined} quarantined, ` +
          `${acc.duplicates} duplicates`,
        acc.in,
        'records',
      );
    }
    record.cumulative = Object.values(state.sources).map((s) => s.totals);
    faultPoint(config, 'after-staging');

    progress?.step(`${domain.name}: building curated datasets (${plan.mode})`);
    const ctx: DatasetContext = {
      duck,
      store,
      domain: domain.name,
      contract,
      policy,
      maskingKey: config.maskingKey,
      tmpDir,
      // A full run's staged records are all in this run's fresh tables: no need to read back what it just wrote.
      staged: Object.fromEntries(
        await Promise.all(
          Object.entries(state.sources).map(
            async ([s, st]) =>
              [s, plan.mode === 'full' ? [] : await Promise.all(st.staged.map((f) => store.localPath(f.key)))] as const,
          ),
        ),
      ),
    };
    await stagedViews(ctx);
    const built: BuiltDataset[] = [];
    // The counts the version continued from was checked with: rules that add up are checked on what changed only.
    const checked =
      previous && (await getJson<RunRecord>(store, runKey(domain.name, previous.manifest.runId)))?.quality;
    for (const ds of pipeline.datasets) {
      const object = contract.schema.find((o) => o.name === ds.name)!;
      const before = previous?.manifest.datasets[ds.name];
      const b = ds.by && before ? await buildIncremental(ctx, ds, object, before) : await buildFull(ctx, ds, object);
      built.push(b);
      const none = `(SELECT * FROM curated.${id(ds.name)} LIMIT 0)`;
      const change =
        checked && b.replaces !== 'all'
          ? {
              added: b.table ?? none,
              removed: b.replaced ?? none,
              by: ds.by,
              previous: checked,
              changedWithin: (other: string) => changedWithin(duck!, built, b, other),
            }
          : undefined;
      record.quality.push(
        ...(await evaluateQuality({
          duck,
          table: `curated.${id(ds.name)}`,
          object,
          asOf,
          blockingSeverities: policy.quality.blockingSeverities,
          ...(change ? { change } : {}),
        })),
      );
    }
    progress?.done(
      `${domain.name}: built and checked ${pipeline.datasets.length} datasets ` +
        `(${record.quality.filter((q) => q.passed).length}/${record.quality.length} rules passed)`,
    );

    progress?.step(`${domain.name}: publishing`);
    record.quarantine = await publishQuarantine(duck, platform, domain.name, pipeline, tmpDir);
    const broken = record.quality.filter((q) => q.blocking && !q.passed);
    if (broken.length > 0) {
      throw new MeshError(
        ErrorCode.QUALITY_GATE_FAILED,
        `${domain.name}: blocking quality rules failed, the previous curated version stays current:\n  ` +
          `- ${broken.map((b) => b.message).join('\n  - ')}`,
        { domain: domain.name, failed: broken },
      );
    }
    for (const b of built) {
      record.datasets.push(await publishDataset(ctx, b));
      faultPoint(config, `after-dataset:${b.object.name}`);
    }
    const manifest: CuratedManifest = {
      domain: domain.name,
      dataProduct: contract.dataProduct,
      contractVersion: contract.version,
      domainVersion: domain.version,
      runId,
      publishedAt: new Date().toISOString(),
      asOf: record.asOf,
      inputFingerprint: record.inputFingerprint,
      datasets: Object.fromEntries(record.datasets.map((d) => [d.name, d])),
      state: await putIngestState(store, state),
      ingest: ingestSummary(state),
    };
    faultPoint(config, 'before-manifest');
    await options.fence?.();
    // Queryable from the commit on (subgraphs pick a new version up within their 2 s poll).
    for (const l of landings) l.batch.freshness = freshnessOf(l.events, platform.now());
    await putJson(store, curatedManifestKey(domain.name), manifest, {
      domain: domain.name,
      'data-product': contract.dataProduct,
      layer: 'curated',
    });
    faultPoint(config, 'after-manifest');
    record.status = 'succeeded';
    await recordStreamFreshness(
      platform,
      domain.name,
      landings.flatMap(({ batch: { freshness, messages } }) =>
        freshness ? [{ at: Date.now(), events: messages, ...freshness }] : [],
      ),
    ).catch((err: unknown) => platform.log.warn({ err, domain: domain.name }, 'stream freshness not recorded'));
    platform.log.info(
      {
        domain: domain.name,
        runId,
        mode: record.mode,
        datasets: record.datasets.map((d) => ({ name: d.name, rows: d.rows, files: d.files.length })),
      },
      'curated version published',
    );
    progress?.done(`${domain.name}: published ${record.datasets.map((d) => `${d.name} (${d.rows})`).join(', ')}`);
    return record;
  } catch (err) {
    const e = isMeshError(err)
      ? err
      : new MeshError(
          ErrorCode.PIPELINE_INVALID,
          `${domain.name}: ${(err as Error).message}`,
          { domain: domain.name },
          { cause: err },
        );
    record.error = { code: e.code, message: e.message };
    platform.log.error({ domain: domain.name, runId, code: e.code }, e.message);
    throw e;
  } finally {
    const columns =
      duck && record.status === 'succeeded'
        ? await columnLineage(platform, duck, pipeline, declaredLineage, contract)
        : undefined;
    duck?.close();
    record.finishedAt = new Date().toISOString();
    record.durationMs = Date.now() - startedAt.getTime();
    await putJson(store, runKey(domain.name, runId), record, {
      domain: domain.name,
      'data-product': contract.dataProduct,
      layer: 'platform',
    }).catch((err: unknown) => platform.log.error({ err, domain: domain.name }, 'could not store the run record'));
    for (const event of pipelineEnd(lineage, { ...record, runId: runUuid(runId) }, columns))
      platform.lineage.emit(event);
    await reportJobMetrics(platform, `pipeline.${domain.name}`, pipelineRunSamples(record));
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}

/** Whether every row the dataset `other` (built before `b`) changed has a `by` value `b` recomputed. */
async function changedWithin(duck: Duck, built: BuiltDataset[], b: BuiltDataset, other: string): Promise<boolean> {
  const o = built.find((x) => x.spec.name === other);
  if (!o || o.replaces === 'all') return false;
  if (!o.table) return true;
  if (!o.recomputed || !b.recomputed || o.spec.by !== b.spec.by) return false;
  const { n } = await duck.one<{ n: number }>(
    `SELECT count(*) AS n FROM ${o.recomputed} ANTI JOIN ${b.recomputed} USING (${id(b.spec.by!)})`,
  );
  return Number(n) === 0;
}

function ingestSummary(state: IngestState): CuratedManifest['ingest'] {
  const newest = Object.values(state.sources)
    .flatMap((s) => Object.values(s.streams))
    .sort()
    .at(-1);
  return {
    newestEvent: newest ? `${newest.replace(' ', 'T').slice(0, 23)}Z` : null,
    rawFiles: Object.values(state.sources).reduce((n, s) => n + Object.keys(s.files).length, 0),
  };
}

function addAccounting(a: SourceAccounting, b: SourceAccounting): SourceAccounting {
  return {
    source: a.source,
    files: a.files + b.files,
    in: a.in + b.in,
    curated: a.curated + b.curated,
    quarantined: a.quarantined + b.quarantined,
    duplicates: a.duplicates + b.duplicates,
    malformed: a.malformed + b.malformed,
    lateArrivals: a.lateArrivals + b.lateArrivals,
  };
}

/**
 * The column lineage of the pipeline's SQL, and what lineage.yaml declares where the SQL cannot say. What has neither
 * is left out and said in the log (`mesh contracts validate` fails on it): a run never fails for its lineage, nor
 * guesses it.
 */
async function columnLineage(
  platform: Platform,
  duck: Duck,
  pipeline: PipelineSpec,
  declared: DeclaredLineage,
  contract: DataContract,
): Promise<Map<string, DatasetColumnLineage>> {
  const { datasets, problems } = await pipelineColumnLineage(duck, pipeline, {
    declared,
    columns: (name) => contract.schema.find((o) => o.name === name)?.properties.map((p) => p.name) ?? [],
  });
  for (const problem of problems) platform.log.warn({ domain: pipeline.domain }, `column lineage: ${problem}`);
  return datasets;
}

/** Helpers every domain's SQL may use, and the tables the engine fills. */
async function prepare(duck: Duck, asOf: Date): Promise<void> {
  await duck.run(`SET TimeZone = 'UTC'`);
  await duck.run(
    `CREATE SCHEMA src; CREATE SCHEMA curated; CREATE SCHEMA fresh; CREATE SCHEMA delta; CREATE SCHEMA touched;`,
  );
  await duck.run(`CREATE TABLE quarantine (source VARCHAR, file VARCHAR, line BIGINT, reason VARCHAR, raw VARCHAR)`);
  await duck.run(`CREATE MACRO ts(x) AS TRY_CAST(TRY_CAST(x AS TIMESTAMPTZ) AS TIMESTAMP)`);
  await duck.run(
    `CREATE MACRO as_of() AS TIMESTAMP ${sqlString(asOf.toISOString().replace('T', ' ').replace('Z', ''))}`,
  );
}

async function publishQuarantine(
  duck: Duck,
  platform: Platform,
  domain: string,
  pipeline: PipelineSpec,
  tmpDir: string,
): Promise<RunRecord['quarantine']> {
  const out: RunRecord['quarantine'] = [];
  for (const s of pipeline.sources) {
    const select = `SELECT * FROM quarantine WHERE source = ${sqlString(s.name)} ORDER BY ALL`;
    const { n } = await duck.one<{ n: number }>(`SELECT count(*) AS n FROM (${select})`);
    if (Number(n) === 0) continue;
    const tags = { domain, 'data-product': s.name, layer: 'quarantine' };
    out.push({
      source: s.name,
      ...(await publishParquet(
        duck,
        platform.store,
        tmpDir,
        select,
        quarantinePrefix(domain, s.name),
        'quarantine',
        tags,
      )),
    });
  }
  return out;
}
