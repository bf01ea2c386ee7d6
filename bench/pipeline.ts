/**
 * Pipeline throughput per domain at a large scale, against baselines measured in the same run:
 * DuckDB only scanning the same raw files (JSON lines validated, CSV parsed), and scanning them while extracting the
 * fields the pipeline declares (no pipeline reads a JSON line for less). The ratios say how much of each ceiling the
 * full pipeline (typing, rejects, dedup, curated SQL, quality rules, masking, Parquet, publish) keeps.
 *
 *   npx tsx bench/pipeline.ts [--scale 20] [--days 120] [--keep]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config.js';
import { listDomains } from '../platform/domains.js';
import { Duck, sqlList } from '../platform/duckdb.js';
import { formatMs, Progress } from '../platform/progress.js';
import { generateMarketplace, DEFAULT_GENERATE } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { sourceFiles } from '../jobs/pipeline/load.js';
import { loadContract } from '../governance/contracts/load.js';
import { loadPipeline } from '../jobs/pipeline/spec.js';
import { table } from '../cli/format.js';
import { createMeshPlatform } from '../cli/platform.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '20' },
    days: { type: 'string', default: '120' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
// With --json, stdout is one line of figures for tooling; progress goes to stderr.
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-'));
const platform = createMeshPlatform(loadConfig({ ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn' }));

let t = Date.now();
const gen = await generateMarketplace(platform.store, {
  ...DEFAULT_GENERATE,
  scale: Number(values.scale),
  days: Number(values.days),
});
const lines = gen.sources.reduce((n, s) => n + s.lines, 0);
const bytes = gen.sources.reduce((n, s) => n + s.bytes, 0);
say(
  `generated ${lines.toLocaleString('en-US')} raw lines (${(bytes / 1e6).toFixed(0)} MB) at ` +
    `scale ${values.scale} in ${formatMs(Date.now() - t)}`,
);

const rows: (string | number)[][] = [];
const figures: { name: string; value: number; unit: string; baseline?: number; ratio?: number }[] = [];
let totalIn = 0;
let totalPipe = 0;
let totalScan = 0;
let totalExtract = 0;
for (const domain of listDomains(platform.config.domainsDir)) {
  const spec = loadPipeline(domain, loadContract(domain.contractFile, domain.name));
  // Baselines: the same raw files (those the pipeline reads) scanned by DuckDB, then scanned with the declared fields
  // extracted.
  const duck = await Duck.open(platform.config.duckdb);
  const sources = await Promise.all(
    spec.sources.map(async (s) => ({
      ...s,
      paths: await Promise.all(
        (await sourceFiles(platform.store, domain.name, s)).map((f) => platform.store.localPath(f.key)),
      ),
    })),
  );
  const textLines = (paths: string[]) =>
    `SELECT unnest(string_split(content, chr(10))) AS l FROM read_text(${sqlList(paths)})`;
  const time = async (sql: (s: (typeof sources)[number]) => string) => {
    const started = Date.now();
    for (const s of sources) if (s.paths.length > 0) await duck.all(sql(s));
    return Date.now() - started;
  };
  const csv = (s: (typeof sources)[number]) =>
    `SELECT count(*) FROM read_csv(${sqlList(s.paths)}, all_varchar = true, header = true, ignore_errors = true)`;
  const scanMs = await time((s) =>
    s.format === 'csv' ? csv(s) : `SELECT count(*) FILTER (WHERE json_valid(l)) FROM (${textLines(s.paths)})`,
  );
  const extractMs = await time((s) =>
    s.format === 'csv' || !s.columns?.length
      ? csv(s)
      : `SELECT count(v[1]) FROM (SELECT json_extract_string(l, ${sqlList(s.columns.map((c) => `$.${c}`))}) AS v FROM
        (${textLines(s.paths)}) WHERE json_valid(l))`,
  );
  duck.close();
  t = Date.now();
  // Each phase's time (each source read and staged, curated datasets built and checked, publishing) goes to stderr.
  const run = await runDomainPipeline(platform, domain, { progress: new Progress() });
  const pipeMs = Date.now() - t;
  const n = run.accounting.reduce((s, a) => s + a.in, 0);
  totalIn += n;
  totalPipe += pipeMs;
  totalScan += scanMs;
  totalExtract += extractMs;
  rows.push(row(domain.name, n, pipeMs, scanMs, extractMs));
  figures.push(...figuresOf(domain.name, n, pipeMs, scanMs, extractMs));
}
figures.unshift(...figuresOf('all', totalIn, totalPipe, totalScan, totalExtract));
if (values.json) process.stdout.write(`${JSON.stringify({ figures })}\n`);
rows.push(row('all', totalIn, totalPipe, totalScan, totalExtract));
say(
  `\n${table(
    [
      'domain',
      'records',
      'pipeline',
      'records/s',
      'raw scan only',
      'scan records/s',
      'pipeline/scan',
      'scan + extract fields',
      'pipeline/extract',
    ],
    rows,
  )}`,
);
say(`\n${os.cpus().length} cores, DuckDB threads ${platform.config.duckdb.threads ?? 'default'}; data in ${dataDir}`);
if (!values.keep) fs.rmSync(dataDir, { recursive: true, force: true });

function rate(n: number, ms: number): number {
  return Math.round(n / (ms / 1000));
}

function row(name: string, n: number, pipeMs: number, scanMs: number, extractMs: number): (string | number)[] {
  return [
    name,
    n,
    formatMs(pipeMs),
    rate(n, pipeMs),
    formatMs(scanMs),
    rate(n, scanMs),
    (scanMs / pipeMs).toFixed(2),
    formatMs(extractMs),
    (extractMs / pipeMs).toFixed(2),
  ];
}

function figuresOf(name: string, n: number, pipeMs: number, scanMs: number, extractMs: number) {
  const ratio = (ms: number) => Number((ms / pipeMs).toFixed(3));
  return [
    {
      name: `pipelines.${name}.records_per_s`,
      value: rate(n, pipeMs),
      unit: 'records/s',
      baseline: rate(n, scanMs),
      ratio: ratio(scanMs),
    },
    {
      name: `pipelines.${name}.records_per_s_vs_extract`,
      value: rate(n, pipeMs),
      unit: 'records/s',
      baseline: rate(n, extractMs),
      ratio: ratio(extractMs),
    },
  ];
}
