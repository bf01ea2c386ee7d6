import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Duck, sqlIdent as id, sqlString, MeshError, ErrorCode, isMeshError, getJson, putJson, sweepStaleTemp, runUuid, faultPoint, type Platform, type DomainInfo, type Progress } from '../../platform/index.js';
import { loadContract, primaryKey, evaluateQuality, loadPolicy, isPiiClassification, columnProtection, type ContractSchemaObject, type DataContract, type LogicalType } from '../../governance/index.js';
import { loadPipeline, type PipelineSpec, type SourceSpec } from './spec.js';
import { fingerprint, loadSource, sourceFiles, type LoadedSource } from './load.js';
import { publishParquet, currentManifest, curatedManifestKey, curatedPrefix, extractManifestKey, quarantinePrefix, restrictedPrefix, runKey, reportJobMetrics, type CuratedManifest, type DatasetOutput, type RunRecord, type SourceAccounting } from '../../products/index.js';
import { pipelineRunSamples } from './metrics.js';
import { pipelineEnd, pipelineStart, type PipelineLineage } from './lineage.js';

export interface RunOptions {
  progress?: Progress;
}

/**
 * The current curated version when a run now would read exactly what it was built from (the same raw objects, the same
 * pipeline, SQL, contract and version), so running again would publish nothing new; undefined otherwise.
 */
export async function unchangedVersion(platform: Platform, domain: DomainInfo): Promise<CuratedManifest | undefined> {
  const current = await currentManifest(platform, domain.name);
  if (!current) return undefined;
  const pipeline = loadPipeline(domain, loadContract(domain.contractFile, domain.name));
  const files = await Promise.all(pipeline.sources.map(async (spec) => ({ source: spec.name, files: await sourceFiles(platform.store, domain.name, spec) })));
  return fingerprint(files, await definitionOf(domain, pipeline)) === current.inputFingerprint ? current : undefined;
}

async function definitionOf(domain: DomainInfo, pipeline: PipelineSpec): Promise<string> {
  return `${pipeline.text}\0${await fs.readFile(domain.contractFile, 'utf8')}\0${domain.version}`;
}

/**
 * Raw → curated for one domain: load, stage (type and reject), deduplicate, build curated datasets,
 * check them against the contract, mask PII, publish content-addressed Parquet and commit the manifest.
 * The manifest is written last: a run killed at any point leaves the previous version current.
 */
export async function runDomainPipeline(platform: Platform, domain: DomainInfo, options: RunOptions = {}): Promise<RunRecord> {
  const { store, config } = platform;
  const progress = options.progress;
  const startedAt = new Date();
  const runId = `${startedAt.toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
  const contract = loadContract(domain.contractFile, domain.name);
  const pipeline = loadPipeline(domain, contract);
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
  const duck = await Duck.open({ ...config.duckdb, tempDirectory: path.join(tmpDir, 'duckdb') });
  try {
    await prepare(duck, asOf);
    const loaded: { spec: SourceSpec; load: LoadedSource }[] = [];
    for (const spec of pipeline.sources) {
      progress?.step(`${domain.name}: reading ${spec.name}`);
      const load = await loadSource(duck, store, domain.name, spec);
      record.accounting.push(await stageSource(duck, spec, load));
      loaded.push({ spec, load });
      const acc = record.accounting.at(-1)!;
      progress?.done(`${domain.name}/${spec.name}: ${acc.curated} accepted, ${acc.quarantined} quarantined, ${acc.duplicates} duplicates`, acc.in, 'records');
    }
    record.inputFingerprint = fingerprint(loaded.map((l) => ({ source: l.spec.name, files: l.load.files })), await definitionOf(domain, pipeline));
    faultPoint(config, 'after-staging');

    progress?.step(`${domain.name}: building curated datasets`);
    for (const ds of pipeline.datasets) {
      const object = contract.schema.find((o) => o.name === ds.name)!;
      try {
        await duck.run(`CREATE TABLE curated.${id(ds.name)} AS ${ds.sql}`);
      } catch (err) {
        throw new MeshError(ErrorCode.PIPELINE_INVALID, `${domain.name}: SQL of dataset "${ds.name}" failed: ${(err as Error).message}`, { domain: domain.name, dataset: ds.name });
      }
      await checkSchema(duck, domain.name, object);
      record.quality.push(
        ...(await evaluateQuality({ duck, table: `curated.${id(ds.name)}`, object, asOf, blockingSeverities: policy.quality.blockingSeverities })),
      );
    }
    progress?.done(`${domain.name}: built and checked ${pipeline.datasets.length} datasets (${record.quality.filter((q) => q.passed).length}/${record.quality.length} rules passed)`);

    progress?.step(`${domain.name}: publishing`);
    record.quarantine = await publishQuarantine(duck, platform, domain.name, pipeline, tmpDir);
    const broken = record.quality.filter((q) => q.blocking && !q.passed);
    if (broken.length > 0) {
      throw new MeshError(
        ErrorCode.QUALITY_GATE_FAILED,
        `${domain.name}: blocking quality rules failed, the previous curated version stays current:\n  - ${broken.map((b) => b.message).join('\n  - ')}`,
        { domain: domain.name, failed: broken },
      );
    }
    for (const object of contract.schema) {
      record.datasets.push(await publishDataset(duck, platform, domain.name, contract, object, tmpDir));
      faultPoint(config, `after-dataset:${object.name}`);
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
    };
    faultPoint(config, 'before-manifest');
    await putJson(store, curatedManifestKey(domain.name), manifest, { domain: domain.name, 'data-product': contract.dataProduct, layer: 'curated' });
    faultPoint(config, 'after-manifest');
    record.status = 'succeeded';
    platform.log.info({ domain: domain.name, runId, datasets: record.datasets.map((d) => ({ name: d.name, rows: d.rows, key: d.key })) }, 'curated version published');
    progress?.done(`${domain.name}: published ${record.datasets.map((d) => `${d.name} (${d.rows})`).join(', ')}`);
    return record;
  } catch (err) {
    const e = isMeshError(err) ? err : new MeshError(ErrorCode.PIPELINE_INVALID, `${domain.name}: ${(err as Error).message}`, { domain: domain.name }, { cause: err });
    record.error = { code: e.code, message: e.message };
    platform.log.error({ domain: domain.name, runId, code: e.code }, e.message);
    throw e;
  } finally {
    duck.close();
    record.finishedAt = new Date().toISOString();
    record.durationMs = Date.now() - startedAt.getTime();
    await putJson(store, runKey(domain.name, runId), record, { domain: domain.name, 'data-product': contract.dataProduct, layer: 'platform' }).catch((err: unknown) =>
      platform.log.error({ err, domain: domain.name }, 'could not store the run record'),
    );
    for (const event of pipelineEnd(lineage, { ...record, runId: runUuid(runId) })) platform.lineage.emit(event);
    await reportJobMetrics(platform, `pipeline.${domain.name}`, pipelineRunSamples(record));
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}

/** Helpers every domain's SQL may use, and the tables the engine fills. */
async function prepare(duck: Duck, asOf: Date): Promise<void> {
  await duck.run(`SET TimeZone = 'UTC'`);
  await duck.run(`CREATE SCHEMA src; CREATE SCHEMA curated;`);
  await duck.run(`CREATE TABLE quarantine (source VARCHAR, file VARCHAR, line BIGINT, reason VARCHAR, raw VARCHAR)`);
  await duck.run(`CREATE MACRO ts(x) AS TRY_CAST(TRY_CAST(x AS TIMESTAMPTZ) AS TIMESTAMP)`);
  await duck.run(`CREATE MACRO as_of() AS TIMESTAMP ${sqlString(asOf.toISOString().replace('T', ' ').replace('Z', ''))}`);
}

/** Runs the domain's stage SQL, quarantines rejects, drops duplicates, and proves the counts add up. */
async function stageSource(duck: Duck, spec: SourceSpec, load: LoadedSource): Promise<SourceAccounting> {
  const staged = id(`staged_${spec.name}`);
  await duck.run(`CREATE OR REPLACE TEMP VIEW input AS SELECT * FROM ${id(`input_${spec.name}`)}`);
  try {
    await duck.run(`CREATE TABLE ${staged} AS ${spec.stageSql}`);
  } catch (err) {
    throw new MeshError(ErrorCode.PIPELINE_INVALID, `stage SQL of source "${spec.name}" failed: ${(err as Error).message}`, { source: spec.name });
  }
  const cols = (await duck.all<{ column_name: string }>(`SELECT column_name FROM (DESCRIBE ${staged})`)).map((c) => c.column_name);
  for (const needed of ['_reject_reason', '_file', '_line', '_raw', ...spec.key]) {
    if (!cols.includes(needed)) throw new MeshError(ErrorCode.PIPELINE_INVALID, `stage SQL of source "${spec.name}" must select column "${needed}"`, { source: spec.name });
  }
  const src = sqlString(spec.name);
  await duck.run(`INSERT INTO quarantine SELECT ${src}, _file, _line, _reject_reason, _raw FROM ${staged} WHERE _reject_reason IS NOT NULL`);
  const keys = spec.key.map(id).join(', ');
  await duck.run(`
    CREATE TABLE src.${id(spec.name)} AS
    SELECT * EXCLUDE (_reject_reason, _file, _line, _raw, _dup) FROM (
      SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY _file, _line) AS _dup FROM ${staged} WHERE _reject_reason IS NULL
    ) WHERE _dup = 1`);
  const { staged: n, rejected } = await duck.one<{ staged: number; rejected: number }>(
    `SELECT count(*) AS staged, count(*) FILTER (WHERE _reject_reason IS NOT NULL) AS rejected FROM ${staged}`,
  );
  const { curated } = await duck.one<{ curated: number }>(`SELECT count(*) AS curated FROM src.${id(spec.name)}`);
  let lateArrivals = 0;
  if (spec.eventTime) {
    // A stream is a file's folder with dates removed (a Kafka partition, a carrier's feed); a record is late when an
    // earlier file of its stream already held events more than a day newer.
    const { late } = await duck.one<{ late: number }>(`
      WITH r AS (SELECT ${id(spec.eventTime)} AS t, _file FROM ${staged} WHERE _reject_reason IS NULL),
      f AS (
        SELECT _file, max(t) AS newest,
               regexp_replace(regexp_replace(_file, '/[^/]*$', ''), '\\d{4}-?\\d{2}-?\\d{2}', '', 'g') AS stream
        FROM r GROUP BY _file),
      w AS (SELECT _file, max(newest) OVER (PARTITION BY stream ORDER BY _file ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS seen FROM f)
      SELECT count(*) FILTER (WHERE r.t < w.seen - INTERVAL 1 DAY) AS late FROM r JOIN w USING (_file)`);
    lateArrivals = Number(late);
  }
  await duck.run(`DROP TABLE ${staged}`);
  const acc: SourceAccounting = {
    source: spec.name,
    files: load.files.length,
    in: load.lines,
    curated: Number(curated),
    quarantined: load.malformed + Number(rejected),
    duplicates: Number(n) - Number(rejected) - Number(curated),
    malformed: load.malformed,
    lateArrivals,
  };
  if (acc.in !== acc.curated + acc.quarantined + acc.duplicates) {
    throw new MeshError(ErrorCode.ACCOUNTING_MISMATCH, `source "${spec.name}": ${acc.in} records in but ${acc.curated} curated + ${acc.quarantined} quarantined + ${acc.duplicates} duplicates`, { accounting: acc });
  }
  return acc;
}

const TYPES: Record<LogicalType, RegExp> = {
  string: /^VARCHAR$/,
  integer: /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/,
  number: /^(FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/,
  timestamp: /^TIMESTAMP( WITH TIME ZONE)?$/,
  date: /^DATE$/,
  time: /^TIME$/,
  boolean: /^BOOLEAN$/,
  object: /^(STRUCT|MAP|JSON)/,
  array: /\[\]$/,
};

/** The curated table must have exactly the contract's properties, in order, with compatible types. */
async function checkSchema(duck: Duck, domain: string, object: ContractSchemaObject): Promise<void> {
  const actual = await duck.all<{ column_name: string; column_type: string }>(`SELECT column_name, column_type FROM (DESCRIBE curated.${id(object.name)})`);
  const problems: string[] = [];
  const want = object.properties.map((p) => p.name);
  const got = actual.map((c) => c.column_name);
  if (want.join(',') !== got.join(',')) problems.push(`columns are [${got.join(', ')}] but the contract declares [${want.join(', ')}]`);
  for (const p of object.properties) {
    const col = actual.find((c) => c.column_name === p.name);
    if (!col) continue;
    if (!TYPES[p.logicalType].test(col.column_type)) problems.push(`${p.name} is ${col.column_type}, not a ${p.logicalType}`);
    if (p.physicalType && p.physicalType.toUpperCase() !== col.column_type) problems.push(`${p.name} is ${col.column_type}, the contract says ${p.physicalType}`);
  }
  if (problems.length > 0) {
    throw new MeshError(ErrorCode.CONTRACT_INVALID, `${domain}: dataset "${object.name}" breaks its contract:\n  - ${problems.join('\n  - ')}`, { domain, dataset: object.name, problems });
  }
}

async function publishDataset(
  duck: Duck,
  platform: Platform,
  domain: string,
  contract: DataContract,
  object: ContractSchemaObject,
  tmpDir: string,
): Promise<DatasetOutput> {
  const policy = loadPolicy();
  const pii = new Set(object.properties.filter((p) => isPiiClassification(policy, p.classification)).map((p) => p.name));
  const table = `curated.${id(object.name)}`;
  const tags = { domain, 'data-product': contract.dataProduct, layer: 'curated' };
  // The primary key is unique (a blocking rule checked it), so ordering by it alone is total and cheaper than ALL.
  const keyCols = primaryKey(object);
  const order = keyCols.length > 0 ? keyCols.map(id).join(', ') : 'ALL';
  const masked = object.properties
    .map((p) => {
      const protection = columnProtection(platform.config.maskingKey, policy, contract, object, p);
      // A denied column keeps its type in the shared layer, with no value at all: only the restricted layer holds it.
      if (protection.kind === 'deny') return `CASE WHEN false THEN ${id(p.name)} END AS ${id(p.name)}`;
      return protection.kind === 'token' ? `${protection.masker.sql(id(p.name))} AS ${id(p.name)}` : id(p.name);
    })
    .join(', ');
  const types = await duck.all<{ column_name: string; column_type: string }>(`SELECT column_name, column_type FROM (DESCRIBE ${table})`);
  const out: DatasetOutput = {
    name: object.name,
    ...(await publishParquet(duck, platform.store, tmpDir, `SELECT ${masked} FROM ${table} ORDER BY ${order}`, curatedPrefix(domain, object.name), 'data', tags)),
    columns: types.map((t) => ({ name: t.column_name, type: t.column_type, pii: pii.has(t.column_name) })),
  };
  if (pii.size > 0) {
    const cols = [...keyCols, ...object.properties.filter((p) => pii.has(p.name)).map((p) => p.name)];
    const select = `SELECT ${cols.map(id).join(', ')} FROM ${table} ORDER BY ${order}`;
    out.restricted = {
      ...(await publishParquet(duck, platform.store, tmpDir, select, restrictedPrefix(domain, object.name), 'data', { ...tags, layer: 'restricted' })),
      columns: cols,
    };
  }
  return out;
}

async function publishQuarantine(duck: Duck, platform: Platform, domain: string, pipeline: PipelineSpec, tmpDir: string): Promise<RunRecord['quarantine']> {
  const out: RunRecord['quarantine'] = [];
  for (const s of pipeline.sources) {
    const select = `SELECT * FROM quarantine WHERE source = ${sqlString(s.name)} ORDER BY ALL`;
    const { n } = await duck.one<{ n: number }>(`SELECT count(*) AS n FROM (${select})`);
    if (Number(n) === 0) continue;
    const tags = { domain, 'data-product': s.name, layer: 'quarantine' };
    out.push({ source: s.name, ...(await publishParquet(duck, platform.store, tmpDir, select, quarantinePrefix(domain, s.name), 'quarantine', tags)) });
  }
  return out;
}
