import { Command } from 'commander';
import fs from 'node:fs';
import { MeshError, ErrorCode, isMeshError, listDomains } from '../../platform/index.js';
import { eventSchemaCandidates } from '../../jobs/index.js';
import { table } from '../format.js';
import {
  checkSchema,
  publishSchema,
  rollbackSchema,
  SchemaRegistry,
  schemaChanges,
  type CheckReport,
  type EventSchemaCandidate,
} from '../../governance/index.js';
import { createMeshPlatform } from '../platform.js';
import { publisher } from '../publisher.js';

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const days = (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--window-days must be a positive number, got "${v}"`);
  return n;
};

interface CheckFlags {
  schema?: string;
  json?: boolean;
  windowDays?: number;
  excludeClient?: string[];
  author?: string;
}

function withCheckOptions(cmd: Command): Command {
  return cmd
    .option('--schema <file>', "candidate SDL (default: the subgraph's working-copy schema)")
    .option('--window-days <n>', 'operations seen in this many days count', days, 7)
    .option('--exclude-client <list>', 'comma-separated client names whose operations do not count', list)
    .option('--json', 'the report as JSON (ok, steps, changes[] with criticality and path)');
}

/** A domain subgraph's stream event schemas (its working copy): checked with its GraphQL schema, registered with it. */
function eventSchemasOf(platform: { config: { domainsDir: string } }, subgraph: string): EventSchemaCandidate[] {
  const domain = listDomains(platform.config.domainsDir).find((d) => d.name === subgraph);
  return domain ? eventSchemaCandidates(domain) : [];
}

export function registerSchema(program: Command): void {
  const schema = program
    .command('schema')
    .description('the schema registry: check, publish, log, diff and roll back subgraph schemas');

  withCheckOptions(
    schema
      .command('check')
      .description('composition, changes, real-traffic, versioning and contract checks; exit 0 only when all pass')
      .argument('<subgraph>'),
  ).action(async (subgraph: string, o: CheckFlags) => {
    const platform = createMeshPlatform();
    const report = await checkSchema(platform, {
      subgraph,
      sdl: o.schema && fs.readFileSync(o.schema, 'utf8'),
      windowDays: o.windowDays,
      excludeClients: o.excludeClient,
      events: eventSchemasOf(platform, subgraph),
    });
    process.stdout.write(
      o.json ? `${JSON.stringify({ ...report, supergraphSdl: undefined }, null, 2)}\n` : formatReport(report),
    );
    if (!report.ok) process.exitCode = 1;
  });

  withCheckOptions(
    schema
      .command('publish')
      .description('check, record the version, recompose; running gateways reload it')
      .argument('<subgraph>'),
  )
    .option('--author <name>', 'who publishes (default: git user.email)')
    .action(async (subgraph: string, o: CheckFlags) => {
      const platform = createMeshPlatform();
      await report(o, () =>
        publishSchema(platform, {
          subgraph,
          sdl: o.schema && fs.readFileSync(o.schema, 'utf8'),
          windowDays: o.windowDays,
          excludeClients: o.excludeClient,
          publisher: publisher(o.author),
          events: eventSchemasOf(platform, subgraph),
        }),
      );
    });

  schema
    .command('log')
    .description('published versions of a subgraph, newest last')
    .argument('<subgraph>')
    .option('--json', 'as JSON')
    .action(async (subgraph: string, o: { json?: boolean }) => {
      const versions = await new SchemaRegistry(createMeshPlatform()).log(subgraph);
      if (o.json) return void process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`);
      process.stdout.write(
        `${table(
          ['#', 'version', 'contract', 'published', 'author', 'commit', 'note'],
          versions.map((v) => [
            String(v.seq),
            v.version,
            v.contractVersion ?? '-',
            v.publishedAt,
            v.author,
            v.gitCommit?.slice(0, 12) ?? '-',
            v.rollbackOf ? `rollback to #${v.rollbackOf}` : '',
          ]),
        )}\n`,
      );
    });

  schema
    .command('diff')
    .description('changes between two published versions (registry number or semver)')
    .arguments('<subgraph> <from> <to>')
    .option('--json', 'as JSON')
    .action(async (subgraph: string, from: string, to: string, o: { json?: boolean }) => {
      const registry = new SchemaRegistry(createMeshPlatform());
      const [a, b] = [await registry.get(subgraph, from), await registry.get(subgraph, to)];
      const changes = await schemaChanges(a.sdl, b.sdl, subgraph);
      if (o.json) return void process.stdout.write(`${JSON.stringify(changes, null, 2)}\n`);
      process.stdout.write(
        `${subgraph} #${a.seq} (${a.version}) → ` +
          `#${b.seq} (${b.version}): ${changes.length} change(s)\n${changeTable(changes)}\n`,
      );
    });

  withCheckOptions(
    schema
      .command('rollback')
      .description('republish an earlier version through the same checks')
      .arguments('<subgraph> <version>'),
  )
    .option('--author <name>', 'who rolls back (default: git user.email)')
    .action(async (subgraph: string, version: string, o: CheckFlags) => {
      await report(o, () =>
        rollbackSchema(createMeshPlatform(), subgraph, version, {
          windowDays: o.windowDays,
          excludeClients: o.excludeClient,
          publisher: publisher(o.author),
        }),
      );
    });
}

async function report(o: CheckFlags, run: () => ReturnType<typeof publishSchema>): Promise<void> {
  try {
    const { report, published, supergraphFile } = await run();
    if (o.json)
      return void process.stdout.write(
        `${JSON.stringify(
          { ...report, supergraphSdl: undefined, published: { ...published, sdl: undefined, contract: undefined } },
          null,
          2,
        )}\n`,
      );
    process.stdout.write(
      `${formatReport(report)}published ${published.subgraph} #${published.seq} (${published.version}); supergraph ` +
        `written to ${supergraphFile}\n`,
    );
  } catch (err) {
    if (!isMeshError(err, ErrorCode.SCHEMA_CHECK_FAILED)) throw err;
    const r = err.details.report as CheckReport;
    process.stdout.write(o.json ? `${JSON.stringify({ ...r, supergraphSdl: undefined }, null, 2)}\n` : formatReport(r));
    throw new MeshError(
      ErrorCode.SCHEMA_CHECK_FAILED,
      `${r.subgraph} was not published: ${r.steps
        .filter((s) => !s.ok)
        .map((s) => s.name)
        .join(', ')} failed`,
    );
  }
}

function changeTable(changes: CheckReport['changes'] | Awaited<ReturnType<typeof schemaChanges>>): string {
  return changes.length
    ? table(
        ['', 'source', 'path', 'change'],
        changes.map((c) => [{ BREAKING: '✖', DANGEROUS: '!', SAFE: '✔' }[c.criticality], c.source, c.path, c.message]),
      )
    : '(no changes)';
}

export function formatReport(r: CheckReport): string {
  const lines = [
    `${r.subgraph} ${r.version}${r.previous ? ` against published #${r.previous.seq} (${r.previous.version})` : ''}`,
  ];
  r.steps.forEach((s, i) => {
    lines.push(`${i + 1}. ${s.ok ? '✔' : '✖'} ${s.name}: ${s.summary}`);
    for (const p of s.problems) lines.push(`     - ${p}`);
  });
  if (r.changes.length) lines.push('', changeTable(r.changes));
  lines.push('', r.ok ? '✔ all checks passed' : '✖ checks failed', '');
  return `${lines.join('\n')}\n`;
}
