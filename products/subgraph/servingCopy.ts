import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { readParquet, type Duck, type Logger } from '../../platform/index.js';

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
  /**
   * Rows of these keys (none: `[]`), or undefined when the copy does not hold the lookup (off, or not built yet). A key
   * whose rows changed since the copy was built is left out of the map: DuckDB answers it.
   */
  rows<R extends Row>(spec: LookupSpec, keys: readonly string[]): ReadonlyMap<string, readonly R[]> | undefined;
}

/** A Parquet file a lookup's relation reads in the version loaded. */
export interface DataFile {
  path: string;
  rows: number;
}

/** A lookup's copy: a file built for some version, and what changed since in the version loaded. */
interface Held {
  db: RootDatabase;
  /** Keys whose rows may differ from the file's (a superset): the view leaves them to DuckDB. */
  changed: ReadonlySet<string>;
  /** Rows of the data files added or removed since the file's version, and of that version's files. */
  changedRows: number;
  builtRows: number;
  /** The relation's files in the version loaded (by path), when known. */
  files?: ReadonlyMap<string, number>;
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
/**
 * A new version is served at once from the copy of an older one, the keys its new and removed files hold answered by
 * DuckDB, until the files changed since hold this share of the copy's rows: then a copy of the version loaded is built
 * aside. Each row is written a bounded number of times however small the versions (a stream's micro-batches).
 */
const REBUILD_SHARE = 0.5;
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
  private current = new Map<string, Held>();
  /** Open files by path, shared by consecutive versions that did not change them. */
  private readonly opened = new Map<string, RootDatabase>();
  private building?: Promise<void>;
  /** Copies of a newer version being written aside (one round at a time) while versions are served from older ones. */
  private catchingUp?: Promise<void>;
  private built = false;
  private version: (spec: LookupSpec) => string = () => '';
  private files: (spec: LookupSpec) => readonly DataFile[] | undefined = () => undefined;

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
        const h = held.get(specId(spec));
        if (!h) return undefined;
        const out = new Map<string, readonly R[]>();
        for (const k of keys) if (!h.changed.has(k)) out.set(k, (h.db.get(k) as R[] | undefined) ?? []);
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
   * Serves the data now loaded: opens each declared lookup's file for it (built where absent), or, when only a few
   * files changed since the copy in use was built, keeps that copy and leaves the keys they hold to DuckDB; then swaps
   * them in at once. `version` names the data a lookup reads, so its file is the same for every replica on that data;
   * `files` are that data's Parquet files, to tell what changed (without them every version is built).
   */
  rebuild(
    version?: (spec: LookupSpec) => string,
    files?: (spec: LookupSpec) => readonly DataFile[] | undefined,
  ): Promise<void> {
    if (version) this.version = version;
    if (files) this.files = files;
    return this.serialized(() => this.build());
  }

  /** Resolves once no swap runs and no copy is being written aside (for tests). */
  async settled(): Promise<void> {
    while (this.catchingUp || this.building) await (this.catchingUp ?? this.building);
  }

  /** Closes every file: the subgraph is stopping. */
  close(): void {
    this.current = new Map();
    for (const db of this.opened.values()) void db.close();
    this.opened.clear();
  }

  // One swap at a time: one asked for during another runs after it, over the data then loaded.
  private serialized(work: () => Promise<void>): Promise<void> {
    const next = (this.building ?? Promise.resolve()).then(work);
    const settled: Promise<void> = next.catch(() => undefined);
    this.building = settled;
    void settled.then(() => {
      if (this.building === settled) this.building = undefined;
    });
    return next;
  }

  private fileOf(spec: LookupSpec, version: string): string {
    const name = crypto
      .createHash('sha256')
      .update(`${FORMAT}\0${version}\0${specId(spec)}`)
      .digest('hex');
    return path.join(this.dir!, `${name.slice(0, 32)}.mdb`);
  }

  private async build(): Promise<void> {
    if (!this.dir) return;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const next = new Map<string, Held>();
    const behind: LookupSpec[] = [];
    for (const [id, spec] of this.specs) {
      const file = this.fileOf(spec, this.version(spec));
      const files = byPath(this.files(spec));
      try {
        const reuse = this.opened.has(file) || fs.existsSync(file);
        const carried = reuse
          ? undefined
          : ((await this.carry(this.current.get(id), spec, files)) ?? (await this.nearest(spec, files)));
        if (carried) {
          next.set(id, carried);
          if (carried.changedRows > REBUILD_SHARE * carried.builtRows) behind.push(spec);
          continue;
        }
        const db = await this.openFile(file, spec, files);
        next.set(id, { db, changed: NONE, changedRows: 0, builtRows: rowsOf(files), ...(files ? { files } : {}) });
      } catch (err) {
        this.log.error(
          { err, domain: this.domain, lookup: `${spec.from} by ${spec.key}` },
          'serving copy not built: this lookup is answered by DuckDB',
        );
      }
    }
    this.swap(next);
    // Declarations made before the first real build (the domain's loaders, at start-up) are built by that build.
    this.built ||= this.specs.size > 0;
    if (behind.length > 0) this.catchUp(behind);
  }

  private swap(next: Map<string, Held>): void {
    const previous = this.current;
    this.current = next;
    this.retire(previous, next);
  }

  /**
   * The copy in use carried over to data whose files are `files`: the keys of the files added and removed since join
   * those DuckDB answers. Undefined (build instead) when there is no copy or file list to start from, or a removed file
   * is gone. However much changed, a copy is carried: building it again here would hold every version after this one
   * back for as long as that takes (at 10,000 events/s, behind by minutes); the copy written aside catches up.
   */
  private async carry(
    held: Held | undefined,
    spec: LookupSpec,
    files: ReadonlyMap<string, number> | undefined,
  ): Promise<Held | undefined> {
    if (!held?.files || !files) return undefined;
    const added = [...files.keys()].filter((f) => !held.files!.has(f));
    const removed = [...held.files.keys()].filter((f) => !files.has(f));
    if (added.length + removed.length === 0) return { ...held, files };
    const rows = added.reduce((n, f) => n + files.get(f)!, 0) + removed.reduce((n, f) => n + held.files!.get(f)!, 0);
    if (!removed.every((f) => fs.existsSync(f))) return undefined;
    const changed = new Set(held.changed);
    for await (const chunk of this.duck.streamJson(
      `SELECT DISTINCT CAST(${spec.key} AS VARCHAR) AS k FROM ${readParquet([...added, ...removed])}`,
    ))
      for (const { k } of chunk) if (typeof k === 'string') changed.add(k);
    return { db: held.db, changed, changedRows: held.changedRows + rows, builtRows: held.builtRows, files };
  }

  /**
   * Writes copies of the data loaded now aside, from its files (the views move on meanwhile), then serves from them
   * what changed since: a stream's versions keep being served at once while this runs.
   */
  private catchUp(specs: LookupSpec[]): void {
    if (this.catchingUp !== undefined) return;
    const version = this.version;
    const filesOf = this.files;
    this.catchingUp = (async () => {
      const written: { spec: LookupSpec; file: string; files: ReadonlyMap<string, number> }[] = [];
      for (const spec of specs) {
        const files = byPath(filesOf(spec));
        if (!files) continue;
        const file = this.fileOf(spec, version(spec));
        if (!fs.existsSync(file)) await this.write(file, spec, files, true);
        written.push({ spec, file, files });
      }
      await this.serialized(async () => {
        const next = new Map(this.current);
        for (const { spec, file, files } of written) {
          if (!this.specs.has(specId(spec))) continue;
          const db = await this.openFile(file, spec);
          const built: Held = { db, changed: NONE, changedRows: 0, builtRows: rowsOf(files), files };
          const carried = await this.carry(built, spec, byPath(this.files(spec)));
          if (carried) next.set(specId(spec), carried);
        }
        this.swap(next);
      });
    })()
      .catch((err: unknown) => this.log.error({ err, domain: this.domain }, 'serving copy not caught up'))
      .finally(() => {
        this.catchingUp = undefined;
      });
  }

  /**
   * The newest copies of this lookup on the host, built by any replica for other versions (a restart, a replica started
   * while a stream publishes): the first that `files` can be carried from.
   */
  private async nearest(spec: LookupSpec, files: ReadonlyMap<string, number> | undefined): Promise<Held | undefined> {
    if (!files) return undefined;
    const id = specId(spec);
    const copies = fs
      .readdirSync(this.dir!)
      .filter((n) => n.endsWith(SIDECAR))
      .flatMap((n) => {
        const sidecar = path.join(this.dir!, n);
        try {
          const built = JSON.parse(fs.readFileSync(sidecar, 'utf8')) as { spec: string; files: [string, number][] };
          const file = sidecar.slice(0, -SIDECAR.length);
          return built.spec === id && fs.existsSync(file)
            ? [{ file, files: new Map(built.files), at: fs.statSync(sidecar).mtimeMs }]
            : [];
        } catch {
          return [];
        }
      })
      .sort((a, b) => b.at - a.at);
    for (const copy of copies.slice(0, 3)) {
      const db = await this.openFile(copy.file, spec);
      const held: Held = { db, changed: NONE, changedRows: 0, builtRows: rowsOf(copy.files), files: copy.files };
      const carried = await this.carry(held, spec, files);
      if (carried) return carried;
    }
    return undefined;
  }

  private async openFile(file: string, spec: LookupSpec, files?: ReadonlyMap<string, number>): Promise<RootDatabase> {
    const open_ = this.opened.get(file);
    if (open_) return open_;
    if (!fs.existsSync(file)) await this.write(file, spec, files);
    const db = open({ path: file, noSubdir: true, readOnly: true, cache: true, sharedStructuresKey: STRUCTURES });
    this.opened.set(file, db);
    return db;
  }

  /**
   * Writes a lookup's rows grouped by key into a file beside `file`, then renames it: readers see all or nothing. The
   * rows are read from the lookup's relation as loaded, or from its `files` themselves; a sidecar names those files, so
   * another replica can carry the copy over to a later version.
   */
  private async write(
    file: string,
    spec: LookupSpec,
    files: ReadonlyMap<string, number> | undefined,
    fromFiles = false,
  ): Promise<void> {
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
      const from = files && fromFiles ? `(SELECT * FROM ${readParquet([...files.keys()])})` : spec.from;
      for await (const chunk of this.duck.streamJson(lookupSql({ ...spec, from }))) {
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
      if (files) {
        fs.writeFileSync(`${temp}${SIDECAR}`, JSON.stringify({ spec: specId(spec), files: [...files] }), {
          mode: 0o600,
        });
        fs.renameSync(`${temp}${SIDECAR}`, `${file}${SIDECAR}`);
      }
    } finally {
      fs.rmSync(temp, { force: true });
      fs.rmSync(`${temp}-lock`, { force: true });
      fs.rmSync(`${temp}${SIDECAR}`, { force: true });
    }
    this.log.info(
      { domain: this.domain, lookup: `${spec.from} by ${spec.key}`, keys, skipped, ms: performance.now() - started },
      'serving copy built',
    );
  }

  /** Closes files the new version does not use once requests on the old one are over; removes stale files. */
  private retire(previous: Map<string, Held>, next: Map<string, Held>): void {
    const kept = new Set([...next.values()].map((h) => h.db));
    const gone = [...this.opened].filter(([, db]) => !kept.has(db));
    if (gone.length === 0 && previous.size > 0) return;
    setTimeout(() => {
      for (const [file, db] of gone)
        if (this.opened.get(file) === db && ![...this.current.values()].some((h) => h.db === db)) {
          this.opened.delete(file);
          void db.close();
        }
    }, RETIRE_MS).unref();
    if (!this.dir) return;
    const inUse = new Set([...this.opened.keys()].flatMap((f) => [f, `${f}-lock`, `${f}${SIDECAR}`]));
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

const NONE: ReadonlySet<string> = new Set();
/** Beside each copy file: the lookup and the data files it was built from. */
const SIDECAR = '.json';

function byPath(files: readonly DataFile[] | undefined): ReadonlyMap<string, number> | undefined {
  return files && new Map(files.map((f) => [f.path, f.rows]));
}

function rowsOf(files: ReadonlyMap<string, number> | undefined): number {
  return files ? [...files.values()].reduce((n, r) => n + r, 0) : 0;
}
