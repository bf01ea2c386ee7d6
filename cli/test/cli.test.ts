import fs from 'node:fs';
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../platform/config.js';
import { childEnv, copyDomains, tempDir } from '../../platform/test/helpers.js';

const exec = promisify(execFile);
const BIN = path.join(REPO_ROOT, 'cli', 'bin.js');

async function mesh(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      env: childEnv(env),
      maxBuffer: 20 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('mesh CLI', () => {
  it('validates every contract', async () => {
    const r = await mesh(['contracts', 'validate']);
    expect(r.code).toBe(0);
    for (const d of ['sales', 'fulfillment', 'catalog', 'campaigns', 'payments'])
      expect(r.stdout).toContain(`✔ ${d}: contract urn:mesh:contract:${d}`);
    expect(r.stdout).toContain('✔ column lineage: 108 curated columns of 12 datasets, 39 columns of 7 feature views');
  });

  it('fails on SQL whose column lineage it cannot derive, naming the construct and where, until declared', async () => {
    const domains = copyDomains();
    try {
      const sql = path.join(domains.dir, 'campaigns', 'pipeline', 'campaigns.sql');
      fs.writeFileSync(
        sql,
        fs
          .readFileSync(sql, 'utf8')
          .replace('FROM src.campaign_definitions', 'FROM src.campaign_definitions, range(1) r'),
      );
      const env = { MESH_DOMAINS_DIR: domains.dir };
      const refused = await mesh(['contracts', 'validate'], env);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toMatch(
        /✖ column lineage: campaigns\.campaigns: column lineage cannot follow a TABLE_FUNCTION in FROM at "range\(1\)/,
      );
      expect(refused.stderr).toMatch(/LINEAGE_UNDERIVABLE|column lineage problem/);
      // Declared by hand in lineage.yaml, every column: the check passes, and a wrong declaration fails where the
      // SQL can say.
      const columns = ['campaign_id', 'name', 'channel', 'start_date', 'end_date', 'budget_eur', 'target_segment'];
      const declared = columns.map((c) => `    ${c}: [campaign_definitions.${c} IDENTITY]`).join('\n');
      fs.appendFileSync(
        path.join(domains.dir, 'campaigns', 'lineage.yaml'),
        `columns:\n  campaigns:\n${declared}\n  campaign_touches:\n    converted: [touches.converted IDENTITY]\n`,
      );
      const checked = await mesh(['contracts', 'validate'], env);
      expect(checked.stdout).toContain(
        '✖ column lineage: campaigns.campaign_touches.converted: lineage.yaml declares touches.converted (IDENTITY), ' +
          'the SQL derives touches.converted (TRANSFORMATION)',
      );
      expect(checked.stdout).not.toContain('campaigns.campaigns:');
      expect(checked.code).not.toBe(0);
    } finally {
      domains.remove();
    }
  });

  it('generates, runs one domain, and reports quality as JSON', async () => {
    const env = { MESH_DATA_DIR: tempDir() };
    const gen = await mesh(['generate', '--scale', '0.1', '--days', '30', '--seed', '3'], env);
    expect(gen.code).toBe(0);
    expect(gen.stdout).toMatch(/sales\/order_events\s+\d+\s+\d+/);
    const run = await mesh(['run', 'payments'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/payments\/settlements\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+✔/);
    expect(run.stderr).toMatch(/✔ payments: published payments/);
    const q = await mesh(['quality', 'payments', '--json'], env);
    const parsed = JSON.parse(q.stdout) as { domain: string; status: string; quality: { passed: boolean }[] }[];
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({ domain: 'payments', status: 'succeeded' });
    expect(parsed[0]!.quality.length).toBeGreaterThan(10);
  });

  it('talks to a person in a terminal: the summary on screen, the JSON log in the data directory', async () => {
    const env = { MESH_DATA_DIR: tempDir(), MESH_LOG_LEVEL: 'info' };
    expect((await mesh(['generate', '--scale', '0.05', '--days', '7', '--seed', '3'], env)).code).toBe(0);
    // Outside a terminal (pipes, containers, CI): JSON lines on stderr, the summary alone on stdout.
    const piped = await mesh(['run', 'catalog', '--no-features'], env);
    expect(piped.stderr).toMatch(/^\{"level":30,.*"msg":"curated version published"/m);
    expect(piped.stdout).not.toContain('"level"');
    // In a terminal, which script(1) gives the command: no JSON on the screen, every entry in the log file.
    const tty = spawnSync(
      'script',
      ['-qec', `${process.execPath} ${BIN} run catalog --full --no-features`, '/dev/null'],
      { env: childEnv(env), encoding: 'utf8' },
    );
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/catalog\/product_feed/);
    expect(tty.stdout).not.toContain('"level"');
    const file = fs.readFileSync(path.join(env.MESH_DATA_DIR, 'logs', 'mesh.log'), 'utf8');
    expect(file).toMatch(/^\{"level":30,.*"msg":"curated version published"/m);
  });

  it('prints only a token for a role, and refuses unknown roles', async () => {
    const ok = await mesh(['token', '--role', 'sales-owner', '--sub', 'ana']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const payload = JSON.parse(Buffer.from(ok.stdout.split('.')[1]!, 'base64url').toString()) as {
      role: string;
      sub: string;
    };
    expect(payload).toMatchObject({ role: 'sales-owner', sub: 'ana' });
    const bad = await mesh(['token', '--role', 'intern']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown role "intern" \(known: admin, analyst, ml-engineer, operator, campaigns-owner/);
  });

  it('fails with a clear message and a non-zero code on bad input', async () => {
    const unknown = await mesh(['run', 'shipping'], { MESH_DATA_DIR: tempDir() });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /BAD_USER_INPUT: unknown domain "shipping" \(known: campaigns, catalog, fulfillment, payments, sales\)/,
    );
    const badScale = await mesh(['generate', '--scale', 'lots'], { MESH_DATA_DIR: tempDir() });
    expect(badScale.code).not.toBe(0);
    expect(badScale.stderr).toMatch(/--scale must be a number/);
    const badEnv = await mesh(['run'], { MESH_STORE: 'ftp' });
    expect(badEnv.code).toBe(1);
    expect(badEnv.stderr).toMatch(/CONFIG_INVALID: MESH_STORE must be one of local, s3/);
  });
});
