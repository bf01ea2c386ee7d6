import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { ErrorCode, MeshError, isMeshError } from '../errors.js';
import { getJson, putJson, type ObjectStore } from '../store/index.js';
import type { ControlPlane } from './types.js';

/** Which control plane keeps this store's registry heads and schedules: the first that wrote one. */
export const CONTROL_PLANE_MARKER_KEY = '_platform/control-plane.json';
const IDENTITY_RECORD = 'control/identity';

interface Marker {
  id: string;
  kind: ControlPlane['kind'];
  describe: string;
  host: string;
  since: string;
}

const claimed = new WeakMap<ControlPlane, WeakSet<ObjectStore>>();

/** The control plane's own id: created once by compare-and-swap, so every client of it reads the same. */
async function identity(control: ControlPlane): Promise<string> {
  const known = await control.read<string>(IDENTITY_RECORD);
  if (known) return known.value;
  try {
    await control.commit([{ key: IDENTITY_RECORD, value: randomUUID(), expected: 0 }]);
  } catch (err) {
    if (!isMeshError(err, ErrorCode.CONFLICT)) throw err;
  }
  return (await control.read<string>(IDENTITY_RECORD))!.value;
}

/**
 * Before a writer moves a shared record (a registry head, a schedule): the store must be governed by this control
 * plane. Two machines that share an object store but each keep an embedded control plane would each move their own
 * heads and race on the store's copies; the second is refused with a clear error instead. Checked once per process.
 */
export async function claimStore(store: ObjectStore, control: ControlPlane): Promise<void> {
  if (claimed.get(control)?.has(store)) return;
  const id = await identity(control);
  const marker = await getJson<Marker>(store, CONTROL_PLANE_MARKER_KEY);
  if (!marker)
    await putJson(
      store,
      CONTROL_PLANE_MARKER_KEY,
      { id, kind: control.kind, describe: control.describe, host: os.hostname(), since: new Date().toISOString() },
      { layer: 'platform', 'data-product': 'control-plane' },
    ).catch((err: unknown) => {
      // A storage role fenced to its own prefixes (feature jobs) checks a marker; the platform writes it.
      if (!isMeshError(err, ErrorCode.FORBIDDEN)) throw err;
    });
  else if (marker.id !== id)
    throw new MeshError(
      ErrorCode.CONFIG_INVALID,
      `the object store ${store.url} is governed by another control plane (${marker.kind}, ${marker.describe} on ` +
        `${marker.host}, since ${marker.since}), not this one (${control.kind}, ${control.describe} on ` +
        `${os.hostname()}): two control planes would each keep their own registry heads and schedules and race on ` +
        'the store. Point every machine at one MESH_CONTROL_DB (PostgreSQL).',
    );
  if (!claimed.has(control)) claimed.set(control, new WeakSet());
  claimed.get(control)!.add(store);
}
