import fs from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export interface DuckDBOptions {
  threads?: number;
  memoryLimit?: string;
  /** Where DuckDB may spill when a query exceeds memory. */
  tempDirectory?: string;
}

export type Row = Record<string, unknown>;

/** One in-process DuckDB database; counts the statements it runs so callers can bound their query budget. */
export class Duck {
  queries = 0;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(options: DuckDBOptions = {}): Promise<Duck> {
    const settings: Record<string, string> = {};
    if (options.threads) settings.threads = String(options.threads);
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    if (options.tempDirectory) {
      await fs.mkdir(options.tempDirectory, { recursive: true });
      settings.temp_directory = options.tempDirectory;
    }
    const instance = await DuckDBInstance.create(':memory:', settings);
    return new Duck(instance, await instance.connect());
  }

  async run(sql: string): Promise<void> {
    this.queries++;
    await this.connection.run(sql);
  }

  /** Rows as plain JS objects (BIGINT as bigint, timestamps as DuckDB values: cast in SQL for JSON-friendly output). */
  async all<T extends Row = Row>(sql: string): Promise<T[]> {
    this.queries++;
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as unknown as T[];
  }

  async one<T extends Row = Row>(sql: string): Promise<T> {
    const rows = await this.all<T>(sql);
    if (rows.length === 0) throw new Error(`query returned no row: ${sql.slice(0, 200)}`);
    return rows[0]!;
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function sqlList(values: string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}
