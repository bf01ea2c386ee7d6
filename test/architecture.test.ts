import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../platform/config.js';
import { tempDir } from '../platform/test/helpers.js';

const exec = promisify(execFile);
const CONFIG = path.join(REPO_ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const config = createRequire(import.meta.url)(CONFIG) as { forbidden: { name: string }[] };
/** The layer order, bottom to top, as the configuration's rules name it. */
const LAYERS = config.forbidden.map((r) => /^(.+)-looks-down-only$/.exec(r.name)?.[1]).filter((l): l is string => !!l);

/** dependency-cruiser with the project's rules over `folders` of `cwd`: the violations it reports, one per line. */
async function violations(cwd: string, folders: string[]): Promise<string[]> {
  const present = folders.filter((f) => fs.existsSync(path.join(cwd, f)));
  const run = await exec(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'err', ...present], {
    cwd,
  }).catch((err: { stdout: string; code: number }) => err);
  return run.stdout
    .split('\n')
    .filter((l) => /^\s*error /.test(l))
    .map((l) => l.trim());
}

describe('architecture: folders form layers', () => {
  it('code and tests: nothing imports upward or into internals, domains use the toolkits, no cycle', async () => {
    expect(await violations(REPO_ROOT, [...LAYERS, 'subgraphs'])).toEqual([]);
  });

  it('docs/architecture.md draws the same layers in the same order', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'architecture.md'), 'utf8');
    const listed = [...doc.matchAll(/^\d+\. \*\*`([\w-]+)\/`\*\*/gm)].map((m) => m[1]);
    expect(listed).toEqual(LAYERS);
  });

  it('catches each planted fault: upward imports, internals, a domain, a cycle, a test helper', async () => {
    const dir = tempDir();
    const put = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    put('platform/index.ts', `export { run } from './context.js';\n`);
    put(
      'platform/context.ts',
      `import { emit } from '../lineage/index.js';
\nexport const run = () => emit();\n`,
    );
    put('lineage/index.ts', `export { emit } from './emit.js';\n`);
    put('lineage/emit.ts', `import { helper } from '../platform/context.js';\nexport const emit = () => helper;\n`);
    put('products/index.ts', `export const toolkit = 1;\n`);
    put(
      'subgraphs/sales/resolvers.ts',
      `import { run } from '../../platform/index.js';\nimport { toolkit } from '../../products/index.js';\nexport ` +
        `default [run, toolkit];\n`,
    );
    put('gateway/a.ts', `import { b } from './b.js';\nexport const a = () => b;\n`);
    put('jobs/test/run.test.ts', `import { startMesh } from '../../gateway/a.js';\nexport default startMesh;\n`);
    put('jobs/test/helpers.ts', `import { emit } from '../../lineage/index.js';\nexport const helper = emit;\n`);
    put('products/report.ts', `import { helper } from '../jobs/test/helpers.js';\nexport const report = helper;\n`);
    put('gateway/b.ts', `import { a } from './a.js';\nexport const b = () => a;\n`);
    const found = await violations(dir, [...LAYERS, 'subgraphs']);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^error platform-looks-down-only: platform\/context\.ts → lineage\/index\.ts/),
        expect.stringMatching(/^error public-module-only: lineage\/emit\.ts → platform\/context\.ts/),
        expect.stringMatching(/^error domains-use-the-toolkits: subgraphs\/sales\/resolvers\.ts → platform\/index\.ts/),
        expect.stringMatching(/^error no-circular: gateway\/(a|b)\.ts →/),
        expect.stringMatching(/^error jobs-tests-look-down-only: jobs\/test\/run\.test\.ts → gateway\/a\.ts/),
        expect.stringMatching(/^error jobs-tests-look-down-only: jobs\/test\/helpers\.ts → lineage\/index\.ts/),
        expect.stringMatching(/^error product-code-imports-no-test: products\/report\.ts → jobs\/test\/helpers\.ts/),
      ]),
    );
    // The toolkit import beside the bad one is allowed.
    expect(found.some((l) => l.includes('→ products/index.ts'))).toBe(false);
  });
});

describe('house rules a newcomer can rely on', () => {
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0');
  const code = tracked.filter((f) => /\.(ts|js|mjs|cjs)$/.test(f));
  /** Product code: what runs in the mesh, not its tests, benches or build configuration. */
  const product = code.filter((f) => !/(^|\/)test\/|^bench\/|\.config\.ts$|^types\//.test(f));
  const read = (f: string) => fs.readFileSync(path.join(REPO_ROOT, f), 'utf8');

  it('no line of code is wider than 120 columns (comments and strings included)', () => {
    const wide = code.flatMap((f) =>
      read(f)
        .split('\n')
        .flatMap((line, i) => ([...line].length > 120 ? [`${f}:${i + 1}`] : [])),
    );
    expect(wide).toEqual([]);
  });

  it('the environment is read in platform/config.ts alone; the user and git only by the CLI', () => {
    const env = product.filter(
      (f) => f !== 'platform/config.ts' && f !== 'cli/bin.js' && /process\.env\b/.test(read(f)),
    );
    expect(env).toEqual([]);
    const user = product.filter((f) => !f.startsWith('cli/') && /os\.userInfo|spawnSync\('git'|\bUSER\b/.test(read(f)));
    expect(user).toEqual([]);
  });
});
