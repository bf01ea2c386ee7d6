import fs from 'node:fs';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { ErrorCode, MeshError, type Logger, type ObjectStore, type Platform } from '../platform/index.js';
import { SchemaRegistry, SUPERGRAPH_CHANNEL } from '../governance/index.js';

/**
 * Serves the gateway a composed supergraph file and hands it every new version written there:
 * the gateway swaps schemas between requests, so a reload needs no restart and fails no in-flight request.
 */
export function supergraphFile(
  file: string,
  log: Logger,
  onLoad: (sdl: string) => void,
  pollMs = 500,
): SupergraphSdlHook {
  return async ({ update, healthCheck }) => {
    let current = fs.readFileSync(file, 'utf8');
    onLoad(current);
    let lastMtime = fs.statSync(file).mtimeMs;
    const timer = setInterval(() => {
      let mtime: number;
      try {
        mtime = fs.statSync(file).mtimeMs;
      } catch {
        return;
      }
      if (mtime === lastMtime) return;
      lastMtime = mtime;
      const next = fs.readFileSync(file, 'utf8');
      if (next === current || next.trim() === '') return;
      healthCheck(next)
        .catch((err: unknown) =>
          log.warn(
            { err: (err as Error).message },
            'a subgraph of the new supergraph is not healthy yet; loading it anyway',
          ),
        )
        .then(() => {
          update(next);
          current = next;
          onLoad(next);
          log.info({ file }, 'supergraph reloaded');
        })
        .catch((err: unknown) =>
          log.error({ err: (err as Error).message, file }, 'new supergraph rejected; keeping the current one'),
        );
    }, pollMs);
    timer.unref();
    return { supergraphSdl: current, cleanup: async () => clearInterval(timer) };
  };
}

/** Where a gateway finds the current supergraph: a cheap probe of its version, and its SDL when that changed. */
export interface SupergraphSource {
  readonly describe: string;
  /** The current version and how to load it; undefined while nothing is published. */
  probe(): Promise<{ version: string; load(): Promise<string> } | undefined>;
  /** Immediate delivery where the backend offers it: `changed` on every publication. */
  subscribe?(changed: () => void): Promise<() => Promise<void>>;
}

/** The store's copy of the published supergraph, by ETag: one machine, or gateways without a control database. */
export function storeSupergraph(store: ObjectStore, key: string): SupergraphSource {
  return {
    describe: `store ${key}`,
    async probe() {
      const head = await store.head(key);
      return head && { version: head.etag, load: async () => (await store.get(key)).toString('utf8') };
    },
  };
}

/**
 * The registry's head in the control plane: a notification on every publication (NOTIFY on PostgreSQL, a polled table
 * on SQLite), its supergraph from the store by content; `fallback` while the control plane has no head.
 */
export function registrySupergraph(
  platform: Pick<Platform, 'store' | 'control'>,
  fallback?: SupergraphSource,
): SupergraphSource {
  const registry = new SchemaRegistry(platform);
  return {
    describe: `registry head (${platform.control.describe})`,
    async probe() {
      const { head } = await registry.head();
      if (!head) return fallback?.probe();
      return { version: head.version, load: () => registry.supergraph(head) };
    },
    subscribe: (changed) => platform.control.listen(SUPERGRAPH_CHANNEL, changed),
  };
}

/**
 * Serves the gateway the supergraph the schema registry published, and follows it as Apollo Uplink, Hive's CDN
 * clients and Cosmo do: a poll every `pollMs` plus up to `jitterMs` (so replicas do not poll in step), a download only
 * when the version changed, a swap only to a new SDL, and the last good supergraph kept while the registry or the
 * store is unreachable or a new one is refused. With a source that notifies, a publication is fetched at once and the
 * poll is the fallback.
 */
export function followSupergraph(
  source: SupergraphSource,
  log: Logger,
  onLoad: (sdl: string) => void,
  timing: { pollMs: number; jitterMs: number },
): SupergraphSdlHook {
  return async ({ update, healthCheck }) => {
    const first = await source.probe();
    if (!first)
      throw new MeshError(ErrorCode.NOT_FOUND, 'no supergraph has been published yet: run npx mesh schema publish');
    let version = first.version;
    let current = await first.load();
    onLoad(current);
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let polling: Promise<void> | undefined;
    const refresh = async () => {
      try {
        const latest = await source.probe();
        if (!latest || latest.version === version) return;
        const next = await latest.load();
        version = latest.version;
        if (next === current || next.trim() === '') return;
        await healthCheck(next).catch((err: unknown) =>
          log.warn(
            { err: (err as Error).message },
            'a subgraph of the new supergraph is not healthy yet; loading it anyway',
          ),
        );
        update(next);
        current = next;
        onLoad(next);
        log.info({ source: source.describe, version }, 'supergraph reloaded from the registry');
      } catch (err) {
        log.warn(
          { err: (err as Error).message, source: source.describe },
          'supergraph not refreshed; serving the last one',
        );
      }
    };
    // One refresh at a time; a notification during one runs another after it.
    const poll = (): Promise<void> => {
      polling = (polling ?? Promise.resolve()).then(refresh);
      return polling;
    };
    const arm = () => {
      if (!stopped) timer = setTimeout(() => void poll().finally(arm), timing.pollMs + Math.random() * timing.jitterMs);
      timer?.unref();
    };
    arm();
    const unsubscribe = await source
      .subscribe?.(() => void poll())
      .catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'no immediate supergraph delivery; polling');
        return undefined;
      });
    return {
      supergraphSdl: current,
      cleanup: async () => {
        stopped = true;
        clearTimeout(timer);
        await unsubscribe?.();
      },
    };
  };
}
