/**
 * Key lookups as the data grows, in one run: bench/gateway.ts's distinct CustomerOverview (a different customer per
 * request, governed gateway, response cache off) at each scale, with every subgraph process's RSS after the load and
 * the time a new replica takes from its spawn to its first answer. With `--base REV`, the code at REV is measured the
 * same way in the same run (a worktree of it runs this tree's bench/gateway.ts), for before and after. The runs are set
 * up one after another and then measured in turns, step by step (bench/turns.ts): this host's speed drifts too much
 * over minutes for runs taken one after another to be compared.
 * Figures: throughput at each scale (the median of `--rounds` loads) as a ratio to scale 1 of the same code, and this
 * code's against REV's.
 *
 *   npx tsx bench/scales.ts [--scales 1,20,100] [--base REV] [--duration 10] [--connections 20] [--rounds 3]
 *                        [--json]
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../platform/config.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { table } from '../cli/format.js';
import { readyFile } from './turns.js';

const { values } = parseArgs({
  options: {
    scales: { type: 'string', default: '1,20,100' },
    base: { type: 'string' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const scales = values.scales.split(',').map(Number);
const turnsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-turns-'));
const say = (line: string) => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);

interface Run {
  code: string;
  scale: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  subgraphs: { name: string; rssMb: number; privateMb: number; fileMb: number; startToServingMs: number }[];
}

/**
 * One bench/gateway.ts run in `root`'s code, distinct scenario, governed gateway without its cache, taking turn `turn`
 * of `of` in `turnsDir` (bench/turns.ts). `started` resolves once it is set up.
 */
function gatewayRun(
  root: string,
  scale: number,
  turn: number,
  of: number,
): { started: Promise<void>; done: Promise<Omit<Run, 'code'>>; kill(): void } {
  const args = [
    path.join(root, 'node_modules/tsx/dist/cli.mjs'),
    path.join(root, 'bench/gateway.ts'),
    ...['--scale', String(scale), '--gateways', 'governed-no-cache', '--scenarios', 'distinct'],
    ...['--duration', values.duration, '--connections', values.connections, '--rounds', values.rounds, '--json'],
    ...['--turns', turnsDir, '--turn', String(turn), '--of', String(of)],
  ];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let exited = false;
  const done = new Promise<Omit<Run, 'code'>>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('exit', (code) => {
      exited = true;
      if (code !== 0) return reject(new Error(`bench/gateway.ts --scale ${scale} in ${root} exited ${code}`));
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
        scenarios: { rps: number; p50: number; p99: number; errors: number }[];
        subgraphs: Run['subgraphs'];
      };
      const [m] = r.scenarios;
      resolve({ scale, rps: m!.rps, p50: m!.p50, p99: m!.p99, errors: m!.errors, subgraphs: r.subgraphs });
    });
  });
  // Awaited all together below; a run that fails while others are awaited is not left unhandled.
  void done.catch(() => undefined);
  const started = (async () => {
    while (!fs.existsSync(readyFile(turnsDir, turn))) {
      if (exited) await done;
      await sleep(500);
    }
  })();
  return { started, done, kill: () => void (exited || child.kill('SIGTERM')) };
}

/** A worktree of `rev` sharing this tree's dependencies, running this tree's bench scripts. */
function worktree(rev: string): { root: string; remove(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-base-'));
  execFileSync('git', ['-C', REPO_ROOT, 'worktree', 'add', '--detach', root, rev], { stdio: 'ignore' });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  for (const f of ['gateway.ts', 'load.ts', 'loadProcess.ts', 'unthrottled.ts', 'production.ts', 'turns.ts'])
    fs.copyFileSync(path.join(REPO_ROOT, 'bench', f), path.join(root, 'bench', f));
  return {
    root,
    remove: () => execFileSync('git', ['-C', REPO_ROOT, 'worktree', 'remove', '--force', root], { stdio: 'ignore' }),
  };
}

const codes: { code: string; root: string }[] = [{ code: 'this', root: REPO_ROOT }];
const base = values.base ? worktree(values.base) : undefined;
if (base) codes.push({ code: values.base!, root: base.root });
const runs: Run[] = [];
const plan = scales.flatMap((scale) => codes.map((c) => ({ ...c, scale })));
const running: ReturnType<typeof gatewayRun>[] = [];
try {
  // Set up one after another (each waits, idle, for the rest), then measured in turns: each step of every run, then
  // the next step of every run, so a drift of the machine touches every scale and code alike.
  for (const [i, { code, root, scale }] of plan.entries()) {
    say(`${code} at scale ${scale}: setting up…`);
    running.push(gatewayRun(root, scale, i, plan.length));
    await running[i]!.started;
  }
  say('measuring in turns…');
  // All at once: a run that fails stops the others (each would wait for its turn for ever).
  const done = await Promise.all(running.map((r) => r.done));
  for (const [i, { code }] of plan.entries()) {
    const run = { code, ...done[i]! };
    say(
      `${code} at scale ${run.scale}: ${run.rps} req/s, p99 ${run.p99} ms, ` +
        `RSS ${Math.max(...run.subgraphs.map((s) => s.rssMb))} MB at most`,
    );
    runs.push(run);
  }
} finally {
  for (const r of running) r.kill();
  base?.remove();
  fs.rmSync(turnsDir, { recursive: true, force: true });
}

const figures: { name: string; value: number; unit: string; baseline?: number; ratio?: number }[] = [];
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
for (const r of runs) {
  const prefix = `scales.${r.code === 'this' ? '' : 'base.'}${r.scale}`;
  const first = runs.find((x) => x.code === r.code && x.scale === scales[0]);
  figures.push(
    {
      name: `${prefix}.distinct.rps`,
      value: r.rps,
      unit: 'req/s',
      baseline: first!.rps,
      ratio: ratio(r.rps, first!.rps),
    },
    { name: `${prefix}.distinct.p99_ms`, value: r.p99, unit: 'ms' },
    { name: `${prefix}.subgraph.max_rss_mb`, value: Math.max(...r.subgraphs.map((s) => s.rssMb)), unit: 'MB' },
    { name: `${prefix}.subgraph.max_private_mb`, value: Math.max(...r.subgraphs.map((s) => s.privateMb)), unit: 'MB' },
    {
      name: `${prefix}.subgraph.max_start_to_serving_ms`,
      value: Math.max(...r.subgraphs.map((s) => s.startToServingMs)),
      unit: 'ms',
    },
  );
  const before = runs.find((x) => x.code !== 'this' && x.scale === r.scale);
  if (r.code === 'this' && before)
    figures.push({
      name: `scales.${r.scale}.distinct.rps_vs_base`,
      value: r.rps,
      unit: 'req/s',
      baseline: before.rps,
      ratio: ratio(r.rps, before.rps),
    });
}

if (values.json) process.stdout.write(`${JSON.stringify({ figures, runs })}\n`);
else {
  console.log(
    `\ndistinct CustomerOverview, governed gateway without its cache, ${values.connections} connections, ` +
      `${values.duration} s each, ${os.cpus().length} cores\n`,
  );
  console.log(
    table(
      [
        'code',
        'scale',
        'req/s',
        'of scale 1',
        'p50 ms',
        'p99 ms',
        'errors',
        'RSS MB (private) by subgraph',
        'start to serving ms',
      ],
      runs.map((r) => {
        const first = runs.find((x) => x.code === r.code && x.scale === scales[0])!;
        return [
          r.code,
          r.scale,
          r.rps,
          `${ratio(r.rps, first.rps)}x`,
          r.p50,
          r.p99,
          r.errors,
          r.subgraphs.map((s) => `${s.name} ${s.rssMb} (${s.privateMb})`).join(' '),
          r.subgraphs.map((s) => `${s.name} ${s.startToServingMs}`).join(' '),
        ];
      }),
    ),
  );
}
