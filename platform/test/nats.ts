// A NATS server with JetStream of the test's own (Debian's nats-server package): the event stream's real broker.
import fs from 'node:fs';
import net from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../http.js';

// Debian installs it in /usr/sbin, which is not on every user's PATH.
const NATS_SERVER = fs.existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';

export interface TestNats {
  /** As MESH_STREAM_URL. */
  url: string;
  /** SIGTERM, as an operator's stop: what JetStream stored stays on disk. */
  stop(): Promise<void>;
  /** Back on the same port and storage. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Whether Debian's nats-server is on PATH (tests decide at collection whether they run). */
export function natsInstalled(): boolean {
  return spawnSync(NATS_SERVER, ['--version'], { encoding: 'utf8' }).status === 0;
}

async function listening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `nats-server -js` on a free port with its storage in a temporary folder. Undefined after a loud warning without
 * nats-server; under CI that throws.
 */
export async function privateNats(): Promise<TestNats | undefined> {
  if (!natsInstalled()) {
    if (process.env.CI) throw new Error('nats-server is not installed: CI must install the nats-server package');
    console.warn(
      '\n\n!!! SKIPPING tests that need NATS JetStream: no nats-server (apt-get install -y nats-server) !!!\n\n',
    );
    return undefined;
  }
  const dir = fs.mkdtempSync('/tmp/mesh-nats-');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: 'ignore' });
    await listening(port, 10_000);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop,
    start,
    close: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
