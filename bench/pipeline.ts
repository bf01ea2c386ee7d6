/**
 * Pipeline throughput per domain at a large scale, against a baseline measured in the same run:
 * DuckDB only scanning the same raw files (JSON lines validated, CSV parsed). The ratio says how much of
 * the raw-scan ceiling the full pipeline (typing, rejects, dedup, curated SQL, quality rules, masking, Parquet, publish) keeps.
 *
 *   npx tsx bench/pipeline.ts [--scale 20] [--days 120] [--keep]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config.js';
import { createMeshPlatform } from '../lineage/meshPlatform.js';
import { listDomains } from '../platform/domains.js';
import { Duck, sqlList } from '../platform/duckdb.js';
import { formatMs } from '../platform/progress.js';
import { generateMarketplace, DEFAULT_GENERATE } from '../jobs/generate/index.js';
import { runDomainPipeline } from '../jobs/pipeline/run.js';
import { loadContract } from '../governance/contracts/load.js';
import { loadPipeline } from '../jobs/pipeline/spec.js';
import { table } from '../cli/format.js';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '20' }, days: { type: 'string', default: '120' }, keep: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
// With --json, stdout is one line of figures for tooling; progress goes to stderr.
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-'));
const platform = createMeshPlatform(loadConfig({ ...process.env, MESH_DATA_DIR: dataDir, MESH_LOG_LEVEL: 'warn' }));

let t = Date.now();
const gen = await generateMarketplace(platform.store, { ...DEFAULT_GENERATE, scale: Number(values.scale), days: Number(values.days) });
const lines = gen.sources.reduce((n, s) => n + s.lines, 0);
const bytes = gen.sources.reduce((n, s) => n + s.bytes, 0);
say(`generated ${lines.toLocaleString('en-US')} raw lines (${(bytes / 1e6).toFixed(0)} MB) at scale ${values.scale} in ${formatMs(Date.now() - t)}`);

const rows: (string | number)[][] = [];
const figures: { name: string; value: number; unit: string; baseline?: number; ratio?: number }[] = [];
let totalIn = 0;
let totalPipe = 0;
let totalScan = 0;
for (const domain of listDomains(platform.config.domainsDir)) {
  const spec = loadPipeline(domain, loadContract(domain.contractFile, domain.name));
  // Baseline: scan the same raw files with DuckDB and nothing else.
  const duck = await Duck.open(platform.config.duckdb);
  t = Date.now();
  for (const s of spec.sources) {
    const files = (await platform.store.list(`${domain.name}/${s.prefix}`)).filter((f) => !f.key.endsWith('.json') || s.format === 'jsonl');
    const paths = await Promise.all(files.filter((f) => (s.format === 'csv' ? f.key.endsWith('.csv') : /\.jsonl?$/.test(f.key))).map((f) => platform.store.localPath(f.key)));
    if (paths.length === 0) continue;
    await duck.all(
      s.format === 'csv'
        ? `SELECT count(*) FROM read_csv(${sqlList(paths)}, all_varchar = true, header = true, ignore_errors = true)`
        : `SELECT count(*) FILTER (WHERE json_valid(l)) FROM (SELECT unnest(string_split(content, chr(10))) AS l FROM read_text(${sqlList(paths)}))`,
    );
  }
  const scanMs = Date.now() - t;
  duck.close();
  t = Date.now();
  const run = await runDomainPipeline(platform, domain);
  const pipeMs = Date.now() - t;
  const n = run.accounting.reduce((s, a) => s + a.in, 0);
  totalIn += n;
  totalPipe += pipeMs;
  totalScan += scanMs;
  rows.push([domain.name, n, formatMs(pipeMs), Math.round(n / (pipeMs / 1000)), formatMs(scanMs), Math.round(n / (scanMs / 1000)), (scanMs / pipeMs).toFixed(2)]);
  figures.push({ name: `pipelines.${domain.name}.records_per_s`, value: Math.round(n / (pipeMs / 1000)), unit: 'records/s', baseline: Math.round(n / (scanMs / 1000)), ratio: Number((scanMs / pipeMs).toFixed(3)) });
}
figures.unshift({ name: 'pipelines.all.records_per_s', value: Math.round(totalIn / (totalPipe / 1000)), unit: 'records/s', baseline: Math.round(totalIn / (totalScan / 1000)), ratio: Number((totalScan / totalPipe).toFixed(3)) });
if (values.json) process.stdout.write(`${JSON.stringify({ figures })}\n`);
rows.push(['all', totalIn, formatMs(totalPipe), Math.round(totalIn / (totalPipe / 1000)), formatMs(totalScan), Math.round(totalIn / (totalScan / 1000)), (totalScan / totalPipe).toFixed(2)]);
say(`\n${table(['domain', 'records', 'pipeline', 'records/s', 'raw scan only', 'scan records/s', 'pipeline/scan speed'], rows)}`);
say(`\n${os.cpus().length} cores, DuckDB threads ${platform.config.duckdb.threads ?? 'default'}; data in ${dataDir}`);
if (!values.keep) fs.rmSync(dataDir, { recursive: true, force: true });
