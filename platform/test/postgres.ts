// A PostgreSQL of the test's own (Debian's postgresql package): the control plane's real backend.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { freePort } from '../http.js';

export interface TestPostgres {
  /** A fresh, empty database on the server, as a MESH_CONTROL_DB URL. */
  database(name?: string): Promise<string>;
  /** Fast shutdown (SIGINT), as an operator's stop. */
  stop(): Promise<void>;
  /** Back on the same port and data. */
  start(): Promise<void>;
  /** Stops the server and removes its files. */
  close(): Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(root, versions[0], 'bin');
}

/** Servers keep real time even when the test runs under faketime. */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'LD_PRELOAD' && !k.startsWith('FAKETIME')),
  );
}

/**
 * initdb in a temporary folder and a `postgres` on a free port, trust authentication on 127.0.0.1. As root (CI's
 * containers) the server runs as Debian's `postgres` user, which initdb requires. Undefined after a loud warning
 * without PostgreSQL; under CI that throws.
 */
export async function privatePostgres(): Promise<TestPostgres | undefined> {
  const bin = binDir();
  if (!bin) {
    if (process.env.CI) throw new Error('PostgreSQL is not installed: CI must install the postgresql package');
    console.warn(
      '\n\n!!! SKIPPING tests that need PostgreSQL: no /usr/lib/postgresql/*/bin/postgres ' +
        '(apt-get install -y postgresql) !!!\n\n',
    );
    return undefined;
  }
  const user: { uid?: number; gid?: number } = {};
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    user.uid = id('-u');
    user.gid = id('-g');
    if (!Number.isInteger(user.uid)) throw new Error('running as root, and no postgres user to run PostgreSQL as');
  }
  const dir = fs.mkdtempSync('/tmp/mesh-pg-');
  const data = path.join(dir, 'data');
  if (user.uid !== undefined) fs.chownSync(dir, user.uid, user.gid!);
  const init = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', 'mesh', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale', 'C'],
    { encoding: 'utf8', env: serverEnv(), ...user },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const admin = () => new pg.Client({ connectionString: `postgres://mesh@127.0.0.1:${port}/postgres` });
  const start = async () => {
    child = spawn(
      path.join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      { stdio: 'ignore', env: serverEnv(), ...user },
    );
    for (let i = 0; ; i++) {
      const c = admin();
      const ok = await c.connect().then(
        () => c.end().then(() => true),
        () => false,
      );
      if (ok) break;
      if (i > 200) throw new Error(`postgres did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGINT');
    await exited;
  };
  await start();
  let n = 0;
  return {
    async database(name = `mesh_${process.pid}_${n++}`) {
      const c = admin();
      await c.connect();
      await c.query(`create database ${c.escapeIdentifier(name)}`);
      await c.end();
      return `postgres://mesh@127.0.0.1:${port}/${name}`;
    },
    stop,
    start,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
