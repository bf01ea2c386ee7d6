/**
 * Per-step progress with counts and rates on stderr: a live line on a terminal, one line per step otherwise
 * (CI logs stay readable).
 */
export class Progress {
  private readonly started = Date.now();
  private readonly tty = process.stderr.isTTY === true;
  private stepStarted = Date.now();

  constructor(private readonly quiet = false) {}

  step(label: string): void {
    this.stepStarted = Date.now();
    if (this.tty && !this.quiet) process.stderr.write(`\r\x1b[K… ${label}`);
  }

  update(label: string, done: number, total?: number): void {
    if (!this.tty || this.quiet) return;
    const pct = total ? ` ${((100 * done) / total).toFixed(0)}%` : '';
    process.stderr.write(
      `\r\x1b[K… ${label} ${formatCount(done)}${total ? `/${formatCount(total)}` : ''}${pct} ` +
        `(${rate(done, Date.now() - this.stepStarted)})`,
    );
  }

  done(label: string, count?: number, unit = 'rows'): void {
    if (this.quiet) return;
    const ms = Date.now() - this.stepStarted;
    const counts = count === undefined ? '' : ` ${formatCount(count)} ${unit}, ${rate(count, ms, unit)}`;
    process.stderr.write(`${this.tty ? '\r\x1b[K' : ''}✔ ${label}${counts} in ${formatMs(ms)}\n`);
  }

  elapsedMs(): number {
    return Date.now() - this.started;
  }
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function rate(count: number, ms: number, unit = 'rows'): string {
  return `${formatCount(Math.round(count / Math.max(ms / 1000, 0.001)))} ${unit}/s`;
}
