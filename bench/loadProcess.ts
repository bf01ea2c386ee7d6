import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../platform/config.js';

/**
 * A load script of bench/ (`load.ts`, `contentionLoad.ts`) in a process of its own, so it does not share the measured
 * gateway's event loop: its plan is written to `dir`, and the JSON line it prints is its answer.
 */
export async function inLoadProcess<T>(script: string, dir: string, plan: object): Promise<T> {
  const file = path.join(dir, `plan-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(plan));
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO_ROOT, 'bench', script), file],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(out) as T;
}

/** What bench/load.ts prints. */
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}
