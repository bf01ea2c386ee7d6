import path from 'node:path';
import type { MeshConfig } from '../config.js';
import { isMeshError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { EmbeddedControlPlane } from './embedded.js';
import { PostgresControlPlane } from './postgres.js';
import type { ControlPlane } from './types.js';

export type { ControlPlane, ControlRecord, ControlWrite, Lease } from './types.js';
export { ControlDatabase } from './database.js';
export { CONTROL_PLANE_MARKER_KEY, claimStore } from './storeClaim.js';

/** PostgreSQL when MESH_CONTROL_DB is set (many machines), else a SQLite file under MESH_DATA_DIR (one machine). */
export function createControlPlane(config: Pick<MeshConfig, 'controlDb' | 'dataDir'>, log: Logger): ControlPlane {
  return config.controlDb
    ? new PostgresControlPlane(config.controlDb, log)
    : new EmbeddedControlPlane(path.join(config.dataDir, 'control.db'));
}

/**
 * Read, change, compare-and-swap, and again from the new revision when another writer got there first: for records
 * whose change can be recomputed (history, flags). `change` returns null to delete, or undefined to leave it be.
 */
export async function updateRecord<T>(
  control: ControlPlane,
  key: string,
  change: (current: T | undefined) => T | null | undefined,
  attempts = 8,
): Promise<T | undefined> {
  for (let i = 1; ; i++) {
    const current = await control.read<T>(key);
    const next = change(current?.value);
    if (next === undefined) return current?.value;
    if (next === null && !current) return undefined;
    try {
      await control.commit([{ key, value: next, expected: current?.revision ?? 0 }]);
      return next ?? undefined;
    } catch (err) {
      if (!isMeshError(err, ErrorCode.CONFLICT) || i >= attempts) throw err;
    }
  }
}
