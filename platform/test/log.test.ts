import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, plainWords } from '../log.js';
import { tempDir } from './helpers.js';

describe('logs for people and for machines', () => {
  it('pretty: warnings and errors in plain words on the terminal, every entry as JSON in the file', () => {
    const terminal = new PassThrough();
    let shown = '';
    terminal.on('data', (c: Buffer) => (shown += c.toString()));
    const file = path.join(tempDir(), 'logs', 'mesh.log');
    const log = createLogger({ level: 'info', format: 'pretty', file }, terminal);
    log.info({ domain: 'sales', version: 'abc' }, 'curated version published');
    log.warn({ domain: 'sales', err: new Error('the store did not answer') }, 'refresh failed');
    log.error({ process: 'payments', code: 1 }, 'process exited');
    expect(shown).not.toContain('curated version published');
    expect(shown).toMatch(/WARN.*sales: refresh failed: the store did not answer/);
    expect(shown).toMatch(/ERROR.*payments: process exited/);
    expect(shown).not.toMatch(/[{}]|\bat \//);
    const entries = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { stack?: string } });
    expect(entries.map((e) => [e.level, e.msg])).toEqual([
      [30, 'curated version published'],
      [40, 'refresh failed'],
      [50, 'process exited'],
    ]);
    expect(entries[1]!.err?.stack).toMatch(/the store did not answer/);
  });

  it('a line in words names its subject and the error, and nothing else', () => {
    expect(plainWords({ msg: 'refresh failed', domain: 'sales', err: { message: 'gone', stack: 'x' } })).toBe(
      'sales: refresh failed: gone',
    );
    expect(plainWords({ msg: 'no baseline schema published', subgraph: 'reviews', extra: 1 })).toBe(
      'reviews: no baseline schema published',
    );
    expect(plainWords({ msg: 'listening' })).toBe('listening');
  });
});
