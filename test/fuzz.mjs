#!/usr/bin/env node
// npm run fuzz [-- --long] [-- --seed N]: the fuzz suite (test/fuzz.test.ts) alone; --long runs every class twenty
// times as long, from a seed of its own unless one is given, and prints it so a failure can be replayed.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { long: { type: 'boolean', default: false }, seed: { type: 'string' } } });
const seed = values.seed ?? (values.long ? String(Math.floor(Math.random() * 1e9)) : '1000');
const replay = `npm run fuzz -- --seed ${seed}${values.long ? ' --long' : ''}`;
console.log(`fuzz: ${values.long ? 'long' : 'short'} run from seed ${seed} (replay: ${replay})`);
const run = spawnSync('npx', ['vitest', 'run', 'test/fuzz.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SEED: seed, ...(values.long ? { FUZZ_LONG: '1' } : {}) },
});
process.exit(run.status ?? 1);
