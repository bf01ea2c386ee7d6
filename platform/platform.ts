import type { MeshConfig } from './config.js';
import { createObjectStore, fenceWrites, type ObjectStore } from './store/index.js';
import { createLogger, type Logger } from './log.js';
import type { RunEvent } from './openlineage.js';
import { listDomains } from './domains.js';
import { createControlPlane, type ControlPlane } from './control/index.js';

/**
 * The lineage port: jobs and servers hand their OpenLineage events here; the lineage layer implements it (transports,
 * spool, graph). The runtime defines it so that emitting lineage never imports upward.
 */
export interface LineagePort {
  /** Jobs' namespace (OPENLINEAGE_NAMESPACE). */
  readonly namespace: string;
  /** Datasets in the object store are named in this namespace (the store URL). */
  readonly storeNamespace: string;
  emit(event: RunEvent): void;
}

/** What every component gets from the platform: configuration, the object store, a logger, and where lineage goes. */
export interface Platform<L extends LineagePort = LineagePort> {
  config: MeshConfig;
  store: ObjectStore;
  log: Logger;
  /**
   * The data clock in ms (from MESH_NOW or the wall clock, advancing MESH_SIMULATION_SPEED times as fast): feature
   * ages, TTLs, expiry, data freshness and schedules are judged against it, never timers.
   */
  now(): number;
  /** Created on first use: a sink's files and timers cost nothing to components that never emit. */
  readonly lineage: L;
  /** Registries, scheduler state and leases every machine shares; opened on first use. */
  readonly control: ControlPlane;
}

export type LineageFactory<L extends LineagePort> = (config: MeshConfig, storeUrl: string, log: Logger) => L;

/**
 * The lineage factory is required: whoever composes the mesh chooses the sink, and no event is dropped by a default.
 */
export function createPlatform<L extends LineagePort>(
  config: MeshConfig,
  options: { lineage: LineageFactory<L>; store?: ObjectStore },
): Platform<L> {
  const log = createLogger(config.log);
  const store =
    options.store ??
    createObjectStore(config.store, { owners: () => listDomains(config.domainsDir).map((d) => d.name) });
  let lineage: L | undefined;
  let control: ControlPlane | undefined;
  const started = config.nowSince?.getTime() ?? Date.now();
  const speed = config.simulationSpeed || 1;
  const base = config.now?.getTime() ?? (speed === 1 ? undefined : started);
  return {
    config,
    store,
    log,
    now: base === undefined ? Date.now : () => base + (Date.now() - started) * speed,
    get lineage() {
      return (lineage ??= options.lineage(config, store.url, log));
    },
    get control() {
      return (control ??= createControlPlane(config, log));
    },
  };
}

/** `platform` using `store` instead: configuration, log, clock and lineage stay shared. */
export function withStore<P extends Platform>(platform: P, store: ObjectStore): P {
  return Object.create(platform, { store: { value: store, enumerable: true } }) as P;
}

/**
 * `platform` as a storage role of `mesh iam policies` (`sales-pipeline`, `sales-serving`…): on S3 with
 * `MESH_S3_PROFILE_TEMPLATE`, its store works under the role's AWS profile; with `writes`, a write or delete outside
 * those key prefixes is refused before any request, on every store.
 */
export function platformAs<P extends Platform>(platform: P, role: string, writes?: readonly string[]): P {
  const config = platform.config.store;
  let store =
    config.kind === 's3' && config.profileTemplate
      ? createObjectStore(config, {
          owners: () => listDomains(platform.config.domainsDir).map((d) => d.name),
          client: { profile: config.profileTemplate.replaceAll('{role}', role) },
        })
      : platform.store;
  if (writes) store = fenceWrites(store, role, writes);
  return withStore(platform, store);
}
