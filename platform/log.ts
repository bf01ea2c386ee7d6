import { pino, type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

/** Structured JSON logs on stderr, so stdout stays free for command output (tokens, --json). */
export function logger(name?: string): Logger {
  root ??= pino({ level: process.env.MESH_LOG_LEVEL || 'info', base: undefined }, pino.destination(2));
  return name ? root.child({ component: name }) : root;
}
