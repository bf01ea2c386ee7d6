import fs from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { MeshError, ErrorCode } from './errors.js';

export interface DuckDBOptions {
  threads?: number;
  /** Connections for concurrent readers (servers); queries beyond that wait for a free one. */
  connections?: number;
  memoryLimit?: string;
  /** Where DuckDB may spill when a query exceeds memory. */
  tempDirectory?: string;
}

export type Row = Record<string, unknown>;

/** One in-process DuckDB database; counts the statements it runs so callers can bound their query budget. */
export class Duck {
  queries = 0;
  private readonly idle: DuckDBConnection[];
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connections: DuckDBConnection[],
  ) {
    this.idle = [...connections];
  }

  static async open(options: DuckDBOptions = {}): Promise<Duck> {
    const settings: Record<string, string> = {};
    if (options.threads) settings.threads = String(options.threads);
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    if (options.tempDirectory) {
      await fs.mkdir(options.tempDirectory, { recursive: true });
      settings.temp_directory = options.tempDirectory;
    }
    const instance = await DuckDBInstance.create(':memory:', settings);
    const connections = await Promise.all(
      Array.from({ length: Math.max(1, options.connections ?? 1) }, () => instance.connect()),
    );
    return new Duck(instance, connections);
  }

  async run(sql: string): Promise<void> {
    this.queries++;
    await this.with((c) => c.run(sql));
  }

  /**
   * Rows as JSON-friendly objects: BIGINT and DECIMAL as strings or numbers, timestamps as ISO-like strings. With
   * `timeoutMs`, a statement still running then is interrupted and fails with GATEWAY_TIMEOUT.
   */
  async all<T extends Row = Row>(sql: string, timeoutMs?: number): Promise<T[]> {
    this.queries++;
    const reader = await this.with(async (c) => {
      if (!timeoutMs) return c.runAndReadAll(sql);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        c.interrupt();
      }, timeoutMs);
      try {
        return await c.runAndReadAll(sql);
      } catch (err) {
        if (timedOut)
          throw new MeshError(ErrorCode.GATEWAY_TIMEOUT, `a statement ran over ${timeoutMs} ms and was interrupted`, {
            timeoutMs,
          });
        throw err;
      } finally {
        clearTimeout(timer);
      }
    });
    return reader.getRowObjectsJson() as unknown as T[];
  }

  /**
   * Rows as DuckDB produces them, a chunk (about 2k rows) at a time, so a long result is never held whole and the
   * caller works on one chunk while the next is computed. Values are DuckDB's own: VARCHAR a string, DOUBLE and INTEGER
   * a number, BIGINT a bigint; select those types. The connection is held until the iteration ends.
   */
  async *stream<T extends Row = Row>(sql: string): AsyncGenerator<T[]> {
    this.queries++;
    const c = await this.acquire();
    try {
      const result = await c.stream(sql);
      const names = result.columnNames();
      for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        const columns = chunk.getColumns();
        const rows: Row[] = new Array(chunk.rowCount);
        for (let i = 0; i < chunk.rowCount; i++) {
          const row: Row = {};
          for (let j = 0; j < names.length; j++) row[names[j]!] = columns[j]![i];
          rows[i] = row;
        }
        yield rows as T[];
      }
    } finally {
      this.release(c);
    }
  }

  /** Rows converted as `all` converts them, a chunk at a time: a long result is never held whole. */
  async *streamJson<T extends Row = Row>(sql: string): AsyncGenerator<T[]> {
    this.queries++;
    const c = await this.acquire();
    try {
      const result = await c.stream(sql);
      for await (const rows of result.yieldRowObjectJson()) yield rows as T[];
    } finally {
      this.release(c);
    }
  }

  async one<T extends Row = Row>(sql: string): Promise<T> {
    const rows = await this.all<T>(sql);
    if (rows.length === 0) throw new Error(`query returned no row: ${sql.slice(0, 200)}`);
    return rows[0]!;
  }

  close(): void {
    for (const c of this.connections) c.closeSync();
    this.instance.closeSync();
  }

  private async with<R>(fn: (c: DuckDBConnection) => Promise<R>): Promise<R> {
    const c = await this.acquire();
    try {
      return await fn(c);
    } finally {
      this.release(c);
    }
  }

  private async acquire(): Promise<DuckDBConnection> {
    return this.idle.pop() ?? (await new Promise<DuckDBConnection>((resolve) => this.waiting.push(resolve)));
  }

  private release(c: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next) next(c);
    else this.idle.push(c);
  }
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  // DuckDB's parser stops at a NUL: a value holding one would cut the statement. It is the caller's mistake, not SQL.
  if (value.includes('\u0000'))
    throw new MeshError(ErrorCode.BAD_USER_INPUT, 'a value contains a NUL character', { value: value.slice(0, 64) });
  return `'${value.replace(/'/g, "''")}'`;
}

/** A SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function sqlList(values: string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

/**
 * A scan of Parquet files as one relation. The mesh's content-addressed keys hold `v=<hash>` folders, which DuckDB
 * would otherwise take for Hive partitions and add as a column `v`.
 */
export function readParquet(paths: string[]): string {
  return `read_parquet(${sqlList(paths)}, hive_partitioning = false)`;
}
