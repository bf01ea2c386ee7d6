import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { Duck, Logger } from '../../platform/index.js';

type Row = Record<string, unknown>;

/**
 * A key lookup a domain declares over its own curated data: rows of `from` by `key`, projected by `select` (SQL
 * expressions with their aliases), in `orderBy` order within a key. The serving copy answers it from a memory-mapped
 * file; DuckDB answers the same declaration when the copy is not there.
 */
export interface LookupSpec {
  from: string;
  key: string;
  select: string;
  orderBy?: string;
}

/** The serving copy as resolvers' loaders see it for one request: one version, whatever is published meanwhile. */
export interface ServingView {
  /** Declares a lookup (loaders do when they are made), so the copy holds it from its next build on. */
  declare(spec: LookupSpec): void;
  /** Rows of these keys (none: `[]`), or undefined when the copy does not hold the lookup (off, or not built yet). */
  rows<R extends Row>(spec: LookupSpec, keys: readonly string[]): ReadonlyMap<string, readonly R[]> | undefined;
}

export const specId = (s: LookupSpec) => `${s.from}\u0000${s.key}\u0000${s.select}\u0000${s.orderBy ?? ''}`;

/** The column every lookup query adds for grouping; removed from the rows it returns. */
export const KEY_ALIAS = '__mesh_key';

export function lookupSql(spec: LookupSpec, where = 'TRUE'): string {
  return `SELECT ${spec.select}, CAST(${spec.key} AS VARCHAR) AS ${KEY_ALIAS} FROM ${spec.from} WHERE ${where} ORDER
    BY ${spec.orderBy ? `${spec.key}, ${spec.orderBy}` : spec.key}`;
}

/** Groups lookup rows by their key column, in query order, dropping the column. */
export function groupByKey<R extends Row>(rows: Row[]): Map<string, R[]> {
  const out = new Map<string, R[]>();
  for (const row of rows) {
    const k = row[KEY_ALIAS] as string;
    delete row[KEY_ALIAS];
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(row as R);
  }
  return out;
}

/** Bumped when what a copy file holds changes shape, so files of an older build are never read. */
const FORMAT = 'lmdb-2';
/** Where msgpack's record structures are kept in a file: each row is stored and decoded without its field names. */
const STRUCTURES = Symbol.for('structures');
/** LMDB refuses longer keys; no request can name one (ids are at most 256 characters). */
const MAX_KEY_BYTES = 1000;
/** How long a replaced version stays open for the requests still reading it (longer than any subgraph deadline). */
const RETIRE_MS = 60_000;
/** Files no process of this one's version set uses are removed once this old (another replica may be opening them). */
const STALE_MS = 10 * 60_000;

/**
 * Read-only copies of a domain's own curated data for the lookups its resolvers declare, one memory-mapped LMDB file
 * per lookup and data version under the serving directory. Built once, by whichever replica of the host gets there
 * first (written aside, then renamed), and opened as they are by the others and at every restart. What they hold is in
 * the page cache, shared by the host's replicas, not on the heap: a process's private memory does not grow with the
 * data. The set of open files is replaced in one assignment, so a request holding a view never sees two versions.
 */
export class ServingCopy {
  private readonly specs = new Map<string, LookupSpec>();
  private current = new Map<string, RootDatabase>();
  /** Open files by path, shared by consecutive versions that did not change them. */
  private readonly opened = new Map<string, RootDatabase>();
  private building?: Promise<void>;
  private built = false;
  private version: (spec: LookupSpec) => string = () => '';

  constructor(
    private readonly duck: Duck,
    private readonly dir: string | undefined,
    private readonly log: Logger,
    private readonly domain: string,
  ) {}

  /** The copy as of now: what one request uses throughout. */
  view(): ServingView {
    const held = this.current;
    return {
      declare: (spec) => this.declare(spec),
      rows: <R extends Row>(spec: LookupSpec, keys: readonly string[]) => {
        const db = held.get(specId(spec));
        if (!db) return undefined;
        const out = new Map<string, readonly R[]>();
        for (const k of keys) out.set(k, (db.get(k) as R[] | undefined) ?? []);
        return out;
      },
    };
  }

  /** Declares a lookup; one first declared after the first build (a lazily made loader) is built in the background. */
  declare(spec: LookupSpec): void {
    const id = specId(spec);
    if (this.specs.has(id)) return;
    this.specs.set(id, spec);
    if (this.built)
      void this.rebuild().catch((err: unknown) =>
        this.log.error({ err, domain: this.domain }, 'serving copy build failed'),
      );
  }

  /**
   * Opens (building where absent) every declared lookup's file for the data now loaded, then swaps them in at once.
   * `version` names the data a lookup reads, so its file is the same for every replica on that data.
   */
  rebuild(version?: (spec: LookupSpec) => string): Promise<void> {
    if (version) this.version = version;
    // Serialized: a rebuild requested during one runs after it, over the tables then loaded.
    const next = (this.building ?? Promise.resolve()).then(() => this.build());
    this.building = next.finally(() => {
      if (this.building === next) this.building = undefined;
    });
    return next;
  }

  /** Closes every file: the subgraph is stopping. */
  close(): void {
    this.current = new Map();
    for (const db of this.opened.values()) void db.close();
    this.opened.clear();
  }

  private async build(): Promise<void> {
    if (!this.dir) return;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const next = new Map<string, RootDatabase>();
    for (const [id, spec] of this.specs) {
      const file = path.join(
        this.dir,
        `${crypto
          .createHash('sha256')
          .update(`${FORMAT}\0${this.version(spec)}\0${id}`)
          .digest('hex')
          .slice(0, 32)}.mdb`,
      );
      try {
        next.set(id, await this.openFile(file, spec));
      } catch (err) {
        this.log.error(
          { err, domain: this.domain, lookup: `${spec.from} by ${spec.key}` },
          'serving copy not built: this lookup is answered by DuckDB',
        );
      }
    }
    const previous = this.current;
    this.current = next;
    // Declarations made before the first real build (the domain's loaders, at start-up) are built by that build.
    this.built ||= this.specs.size > 0;
    this.retire(previous, next);
  }

  private async openFile(file: string, spec: LookupSpec): Promise<RootDatabase> {
    const open_ = this.opened.get(file);
    if (open_) return open_;
    if (!fs.existsSync(file)) await this.write(file, spec);
    const db = open({ path: file, noSubdir: true, readOnly: true, cache: true, sharedStructuresKey: STRUCTURES });
    this.opened.set(file, db);
    return db;
  }

  /** Writes a lookup's rows grouped by key into a file beside `file`, then renames it: readers see all or nothing. */
  private async write(file: string, spec: LookupSpec): Promise<void> {
    const started = performance.now();
    const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    // Durability is the rename's business: a file half written by a crash is never renamed, and is removed later.
    const db = open({ path: temp, noSubdir: true, noSync: true, compression: false, sharedStructuresKey: STRUCTURES });
    let keys = 0;
    let skipped = 0;
    try {
      let key: string | undefined;
      let list: Row[] = [];
      const flush = () => {
        if (key === undefined) return;
        if (key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES) skipped++;
        else {
          db.putSync(key, list);
          keys++;
        }
      };
      for await (const chunk of this.duck.streamJson(lookupSql(spec))) {
        db.transactionSync(() => {
          for (const row of chunk) {
            const k = row[KEY_ALIAS] as string | null;
            delete row[KEY_ALIAS];
            if (k === null) continue;
            if (k !== key) {
              flush();
              key = k;
              list = [];
            }
            list.push(row);
          }
        });
      }
      db.transactionSync(flush);
      await db.close();
      fs.chmodSync(temp, 0o600);
      // Whoever renames last wins with the same content.
      fs.renameSync(temp, file);
    } finally {
      fs.rmSync(temp, { force: true });
      fs.rmSync(`${temp}-lock`, { force: true });
    }
    this.log.info(
      { domain: this.domain, lookup: `${spec.from} by ${spec.key}`, keys, skipped, ms: performance.now() - started },
      'serving copy built',
    );
  }

  /** Closes files the new version does not use once requests on the old one are over; removes stale files. */
  private retire(previous: Map<string, RootDatabase>, next: Map<string, RootDatabase>): void {
    const kept = new Set(next.values());
    const gone = [...this.opened].filter(([, db]) => !kept.has(db));
    if (gone.length === 0 && previous.size > 0) return;
    setTimeout(() => {
      for (const [file, db] of gone)
        if (this.opened.get(file) === db && ![...this.current.values()].includes(db)) {
          this.opened.delete(file);
          void db.close();
        }
    }, RETIRE_MS).unref();
    if (!this.dir) return;
    const inUse = new Set([...this.opened.keys()].flatMap((f) => [f, `${f}-lock`]));
    for (const name of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      if (inUse.has(file)) continue;
      try {
        if (Date.now() - fs.statSync(file).mtimeMs > STALE_MS) fs.rmSync(file, { force: true });
      } catch {
        // Removed meanwhile by another replica.
      }
    }
  }
}
