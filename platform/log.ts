import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr, so stdout stays free for command output (reports, --json). */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}
