import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from '../platform/index.js';

/** Who publishes from this checkout, and from which commit: what the schema registry records with each version. */
export interface Publisher {
  /** `HEAD`'s commit, `-dirty` when the work tree has changes; null outside a git checkout. */
  commit: string | null;
  author: string;
}

/** The publisher of this checkout: `--author` if given, else git's `user.email`, else the OS user. */
export function publisher(author?: string): Publisher {
  return { commit: gitCommit(), author: author ?? operator() };
}

/** Who runs a command that changes shared state (a pause, a publication): git's `user.email`, else the OS user. */
export function operator(): string {
  const r = spawnSync('git', ['config', 'user.email'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return (r.status === 0 && r.stdout.trim()) || os.userInfo().username;
}

function gitCommit(): string | null {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  return `${r.stdout.trim()}${dirty ? '-dirty' : ''}`;
}
