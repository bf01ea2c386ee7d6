import { fork, type ChildProcess } from 'node:child_process';
import { SUPERVISOR_GATE_ENV } from './config.js';
import { MeshError, ErrorCode } from './errors.js';
import type { Logger } from './log.js';

/** What a served process tells its supervisor once it listens (over the IPC channel `fork` opens). */
export interface ServedProcess {
  name: string;
  url: string;
  version: string;
  sdl: string;
  /** A line for the start banner (the feature server's online store, say). */
  detail?: string;
}

export interface ProcessSpec {
  name: string;
  /** Arguments to the supervised script, which must call `announceServing` once it listens. */
  args: string[];
  /**
   * The first start forks at once (loading code takes seconds) but the process waits in `serveGate()` until this
   * settles: for a server whose inputs are still being computed. Restarts are not gated.
   */
  gate?: Promise<unknown>;
}

export type ProcessPhase = 'starting' | 'up' | 'restarting' | 'stopped';

export interface ProcessState {
  name: string;
  phase: ProcessPhase;
  pid?: number;
  url?: string;
  restarts: number;
  /** When the process entered its current phase. */
  since: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
}

/** The port upper layers read process state through (the gateway's /health and /metrics, the console). */
export interface ProcessStates {
  states(): ProcessState[];
}

export interface SupervisorOptions {
  log: Logger;
  /** First restart delay; doubles on each crash that follows a short life, up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A process that stays up this long is healthy again: its next crash restarts after backoffMs. */
  healthyAfterMs?: number;
  readyTimeoutMs?: number;
  /** The children's environment, which is where they read their configuration; read at each start. */
  env: () => NodeJS.ProcessEnv;
}

/**
 * Runs each served part of the mesh as its own child process of `script` and restarts any that exits, with exponential
 * backoff. Children hold no state the supervisor needs back: a restart reads the same curated versions from the store.
 */
export class Supervisor implements ProcessStates {
  private readonly children = new Map<
    string,
    {
      spec: ProcessSpec;
      state: ProcessState;
      child?: ChildProcess;
      failures: number;
      upAt?: number;
      timer?: NodeJS.Timeout;
    }
  >();
  private closing = false;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly healthyAfterMs: number;
  private readonly readyTimeoutMs: number;

  constructor(
    private readonly script: string,
    private readonly options: SupervisorOptions,
  ) {
    this.backoffMs = options.backoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.healthyAfterMs = options.healthyAfterMs ?? 30_000;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  }

  /** Starts a process and resolves with what it serves; a process that exits before serving rejects. */
  start(spec: ProcessSpec): Promise<ServedProcess> {
    if (this.children.has(spec.name))
      throw new MeshError(ErrorCode.CONFIG_INVALID, `process "${spec.name}" is already supervised`);
    this.children.set(spec.name, {
      spec,
      state: { name: spec.name, phase: 'starting', restarts: 0, since: new Date().toISOString() },
      failures: 0,
    });
    return this.spawn(spec.name);
  }

  states(): ProcessState[] {
    return [...this.children.values()].map((c) => ({ ...c.state }));
  }

  /** The child's pid, for operators and chaos tests. */
  pid(name: string): number | undefined {
    return this.children.get(name)?.child?.pid;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.children.values()].map(async (c) => {
        clearTimeout(c.timer);
        c.state = { ...c.state, phase: 'stopped', since: new Date().toISOString() };
        const child = c.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(hard);
      }),
    );
  }

  private spawn(name: string): Promise<ServedProcess> {
    const entry = this.children.get(name)!;
    // No inherited --inspect or loader flags; the script registers what it needs. stdout is the child's own banner, not
    // ours.
    const gated = entry.spec.gate !== undefined && entry.state.restarts === 0;
    const base = this.options.env();
    const env = gated ? { ...base, [SUPERVISOR_GATE_ENV]: '1' } : base;
    const child = fork(this.script, entry.spec.args, {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: [],
      env,
    });
    entry.child = child;
    if (gated) {
      entry.spec.gate!.then(
        () => child.connected && child.send({ type: 'go' }),
        () => {
          // Not needed after all: it leaves the supervisor's list, not marked as a failure.
          this.children.delete(name);
          child.kill('SIGTERM');
        },
      );
    }
    entry.state = {
      ...entry.state,
      pid: child.pid,
      phase: entry.state.phase === 'restarting' ? 'restarting' : 'starting',
      since: new Date().toISOString(),
    };
    return new Promise<ServedProcess>((resolve, reject) => {
      let served = false;
      const timeout = setTimeout(() => {
        this.options.log.error(
          { process: name },
          `process ${name} did not start serving within ${this.readyTimeoutMs} ms; killing it`,
        );
        child.kill('SIGKILL');
      }, this.readyTimeoutMs);
      child.on('message', (m: { type?: string } & Partial<ServedProcess>) => {
        if (m?.type !== 'serving' || served) return;
        served = true;
        clearTimeout(timeout);
        entry.upAt = Date.now();
        entry.state = { ...entry.state, phase: 'up', url: m.url, since: new Date().toISOString() };
        if (entry.state.restarts > 0)
          this.options.log.info(
            { process: name, pid: child.pid, restarts: entry.state.restarts },
            `process ${name} serving again`,
          );
        resolve({ name: m.name ?? name, url: m.url!, version: m.version ?? '', sdl: m.sdl ?? '', detail: m.detail });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timeout);
        entry.child = undefined;
        entry.state = { ...entry.state, pid: undefined, lastExit: { code, signal, at: new Date().toISOString() } };
        if (this.closing || this.children.get(name) !== entry)
          return reject(new MeshError(ErrorCode.INTERNAL_SERVER_ERROR, `process ${name} was stopped before serving`));
        if (!served && entry.state.restarts === 0) {
          entry.state = { ...entry.state, phase: 'stopped', since: new Date().toISOString() };
          return reject(
            new MeshError(
              ErrorCode.INTERNAL_SERVER_ERROR,
              `process ${name} exited before serving (code ${code}, signal ${signal}); its log is above`,
            ),
          );
        }
        this.restartLater(name, code, signal);
      });
    });
  }

  private restartLater(name: string, code: number | null, signal: string | null): void {
    const entry = this.children.get(name)!;
    const lived = entry.upAt === undefined ? 0 : Date.now() - entry.upAt;
    entry.failures = lived >= this.healthyAfterMs ? 0 : entry.failures + 1;
    entry.upAt = undefined;
    const delay = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.max(0, entry.failures - 1));
    entry.state = {
      ...entry.state,
      phase: 'restarting',
      restarts: entry.state.restarts + 1,
      since: new Date().toISOString(),
    };
    this.options.log.warn(
      { process: name, code, signal, restartInMs: delay, restarts: entry.state.restarts },
      `process ${name} exited; restarting`,
    );
    entry.timer = setTimeout(() => {
      // A restart that fails before serving is itself restarted by its exit handler.
      this.spawn(name).catch(() => undefined);
    }, delay);
  }
}

/**
 * In a gated supervised process (`gated`: its configuration's `supervisorGate`): waits for the supervisor's go before
 * serving. Elsewhere it returns at once.
 */
export async function serveGate(gated: boolean): Promise<void> {
  if (!gated || !process.send) return;
  await new Promise<void>((resolve) => {
    const onMessage = (m: { type?: string }) => {
      if (m?.type !== 'go') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
  });
}

/**
 * Called by a served process once it listens: tells a supervising parent what it serves, and ends with the parent so
 * no child outlives the mesh it belongs to. A process started by hand has no IPC channel and is unaffected.
 */
export function announceServing(served: ServedProcess, close: () => Promise<void>): void {
  if (!process.send) return;
  const { name, url, version, sdl, detail } = served;
  process.send({ type: 'serving', name, url, version, sdl, detail });
  process.once('disconnect', () => closeThenExit(close));
}

const CLOSE_GRACE_MS = 5_000;

/**
 * Closes, then exits; a close held up (a connection that never ends, a version still loading) gets 5 s, so no process
 * lingers.
 */
export function closeThenExit(close: () => Promise<void>): void {
  setTimeout(() => process.exit(0), CLOSE_GRACE_MS).unref();
  void close().finally(() => process.exit(0));
}
