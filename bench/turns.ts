/**
 * Measurements of several bench processes taken in turns: step 1 of every process, then step 2 of every process (in
 * the reverse order), and so on. This host's speed moves by tens of percent within minutes (the rounds of one
 * run, a minute apart, measured 70 to 157 req/s), so figures compared across processes (bench/scales.ts's scales and
 * codes) are taken interleaved, not one process after another. Each process takes the same steps in the same order.
 * Without a directory every turn is taken at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeAtomic } from '../platform/files.js';

export interface Turns {
  /** Says this process is set up, then waits until every process is: none measures while another sets up. */
  ready(): Promise<void>;
  /** Runs `work` in this process's next turn. */
  take<T>(work: () => Promise<T>): Promise<T>;
}

export const readyFile = (dir: string, index: number) => path.join(dir, `ready-${index}`);

export function turns(dir: string | undefined, index: number, of: number): Turns {
  let step = 0;
  const counter = dir && path.join(dir, 'turn');
  const turnNow = () => Number(fs.existsSync(counter!) ? fs.readFileSync(counter!, 'utf8') : 0);
  return {
    async ready() {
      if (!dir) return;
      writeAtomic(readyFile(dir, index), '');
      while (Array.from({ length: of }, (_, i) => readyFile(dir, i)).some((f) => !fs.existsSync(f))) await sleep(200);
    },
    async take(work) {
      if (!counter) return work();
      // Every other step in the reverse order, so no process always goes first.
      const mine = step * of + (step % 2 === 0 ? index : of - 1 - index);
      step++;
      while (turnNow() !== mine) await sleep(50);
      try {
        return await work();
      } finally {
        writeAtomic(counter, String(mine + 1));
      }
    },
  };
}
