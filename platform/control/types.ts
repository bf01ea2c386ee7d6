/** A record of the control plane and the revision it is at: every write moves it by one. */
export interface ControlRecord<T> {
  key: string;
  value: T;
  revision: number;
}

/** One write of a commit: applied only if the record is still at `expected` (0: it must not exist yet). */
export interface ControlWrite {
  key: string;
  /** `null` deletes the record. */
  value: unknown;
  expected: number;
}

/** A named lease with an expiry: one holder at a time, and a fence that grows with every new holder. */
export interface Lease {
  name: string;
  holder: string;
  expiresAt: Date;
  fence: number;
}

/**
 * What must be consistent across machines: registries, scheduler state and leases. Artifacts (SDLs, supergraphs,
 * models, Parquet) stay content-addressed in the object store; the control plane holds the small records that point
 * at them, and moves them only by compare-and-swap, so two writers never lose each other's update.
 */
export interface ControlPlane {
  readonly kind: 'embedded' | 'postgres';
  /** Where it lives, without credentials (for logs and /health). */
  readonly describe: string;
  read<T>(key: string): Promise<ControlRecord<T> | undefined>;
  /** Every record whose key starts with `prefix`, in key order. */
  list<T>(prefix: string): Promise<ControlRecord<T>[]>;
  /**
   * All the writes or none: each only if its record is still at its expected revision, else a `CONFLICT` MeshError
   * whose details name the key and the revision it moved to. Returns the new revisions.
   */
  commit(writes: ControlWrite[]): Promise<number[]>;
  /**
   * Takes the lease when it is free or expired, or renews it when `holder` has it; undefined while another holder's
   * lease runs. Expiry is judged by the control plane's clock, never by the callers'.
   */
  acquire(name: string, holder: string, ttlMs: number): Promise<Lease | undefined>;
  /** Who holds the lease, and for how many more milliseconds by the control plane's clock; undefined when free. */
  holderOf(name: string): Promise<(Lease & { remainingMs: number }) | undefined>;
  /** Gives the lease up if `holder` still has it. */
  release(name: string, holder: string): Promise<void>;
  /** Tells every listener of `channel`, on every machine where the backend can (PostgreSQL NOTIFY). */
  notify(channel: string, payload: string): Promise<void>;
  /** Calls `onMessage` for each notification on `channel` until the returned function is called. */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
