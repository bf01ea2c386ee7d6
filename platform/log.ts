import fs from 'node:fs';
import path from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** `json`: JSON lines on stderr; `pretty`: warnings and errors in plain words on stderr, the JSON log to a file. */
export type LogFormat = 'json' | 'pretty';

export interface LogOptions {
  level: string;
  /** `auto`: pretty when stderr is a terminal (a person is watching), JSON otherwise (containers, CI, pipes). */
  format: LogFormat | 'auto';
  /** Where the JSON log goes in pretty mode. */
  file: string;
}

/** The format `options` resolve to in this process: `auto` is pretty when stderr is a terminal. */
export function logFormat(options: LogOptions): LogFormat {
  return options.format === 'auto' ? (process.stderr.isTTY ? 'pretty' : 'json') : options.format;
}

/** Fields a log entry may name its subject by, most specific first: they open its plain-words line. */
const SUBJECTS = ['process', 'subgraph', 'domain', 'view', 'source', 'dataset'] as const;

/**
 * A log entry in plain words: its subject, its message, and the error's message when it carries one; never a stack or
 * a JSON object, which the file keeps.
 */
export function plainWords(entry: Record<string, unknown>): string {
  const subject = SUBJECTS.map((k) => entry[k]).find((v) => typeof v === 'string');
  const err = entry.err as { message?: unknown } | undefined;
  const reason = typeof err?.message === 'string' ? `: ${err.message}` : '';
  return `${subject ? `${subject}: ` : ''}${String(entry.msg ?? '')}${reason}`;
}

/**
 * The process's logger. Stdout stays free for command output (summaries, `--json`) in both formats. In pretty mode the
 * terminal shows only warnings and errors, in plain words (`terminal` stands in for stderr in tests); every entry,
 * info included, is appended to `file` as JSON, which processes of one mesh share.
 */
export function createLogger(options: LogOptions, terminal?: NodeJS.WritableStream): Logger {
  if (logFormat(options) === 'json' || options.level === 'silent')
    return pino({ level: options.level, base: undefined }, pino.destination(2));
  fs.mkdirSync(path.dirname(options.file), { recursive: true });
  const words = pretty({
    destination: terminal ?? 2,
    sync: true,
    colorize: terminal === undefined && process.stderr.isTTY === true,
    hideObject: true,
    errorLikeObjectKeys: [],
    ignore: 'time,pid,hostname',
    messageFormat: (entry) => plainWords(entry),
  });
  const streams: { level: string; stream: DestinationStream }[] = [
    { level: 'warn', stream: words },
    { level: options.level, stream: pino.destination({ dest: options.file, append: true, sync: true }) },
  ];
  return pino({ level: options.level, base: undefined }, pino.multistream(streams));
}
