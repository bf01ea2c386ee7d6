import { Piscina } from 'piscina';

/** Every thread's entry: it loads the task's TypeScript module as the CLI loads the sources. */
const ENTRY = new URL('./threadEntry.js', import.meta.url).href;

/**
 * Worker threads for CPU-bound work, so the thread that serves requests stays free for them: each task runs the
 * default export of one module, in one of at most `threads` threads, at a lower CPU priority than the thread serving
 * requests (Linux: nice 5). Threads start when first needed and stop after `idleTimeoutMs` without work; a module's
 * state (an open store) lives as long as its thread.
 */
export class ThreadPool<Task, Result> {
  private readonly pool: Piscina<Task, Result>;

  constructor(module: URL, threads: number, idleTimeoutMs = 60_000) {
    this.pool = new Piscina<Task, Result>({
      filename: ENTRY,
      workerData: { module: module.href, nice: 5 },
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: idleTimeoutMs,
    });
  }

  run(task: Task): Promise<Result> {
    return this.pool.run(task);
  }

  /** Stops every thread (tasks running are abandoned). */
  close(): Promise<void> {
    return this.pool.destroy();
  }
}
