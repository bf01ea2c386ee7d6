import fs from 'node:fs';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { ErrorCode, MeshError, type Logger, type ObjectStore } from '../platform/index.js';

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

/**
 * Serves the gateway the supergraph the schema registry published into the object store, and follows it as Apollo
 * Uplink and Hive's CDN clients do: a poll every `pollMs` plus up to `jitterMs` (so replicas do not poll in step), a
 * download only when the ETag changed, and the last good supergraph kept while the store is unreachable or a new one
 * is refused. Every gateway sharing the store sees a publication, from whichever machine it came.
 */
export function supergraphFromStore(
  store: ObjectStore,
  key: string,
  log: Logger,
  onLoad: (sdl: string) => void,
  timing: { pollMs: number; jitterMs: number },
): SupergraphSdlHook {
  return async ({ update, healthCheck }) => {
    const first = await store.head(key);
    if (!first)
      throw new MeshError(ErrorCode.NOT_FOUND, 'no supergraph has been published yet: run npx mesh schema publish');
    let etag = first.etag;
    let current = (await store.get(key)).toString('utf8');
    onLoad(current);
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const head = await store.head(key);
        if (head && head.etag !== etag) {
          const next = (await store.get(key)).toString('utf8');
          etag = head.etag;
          if (next !== current && next.trim() !== '') {
            await healthCheck(next).catch((err: unknown) =>
              log.warn(
                { err: (err as Error).message },
                'a subgraph of the new supergraph is not healthy yet; loading it anyway',
              ),
            );
            update(next);
            current = next;
            onLoad(next);
            log.info({ key, etag }, 'supergraph reloaded from the registry');
          }
        }
      } catch (err) {
        log.warn({ err: (err as Error).message, key }, 'supergraph not refreshed; serving the last one');
      } finally {
        if (!stopped) timer = setTimeout(() => void poll(), timing.pollMs + Math.random() * timing.jitterMs).unref();
      }
    };
    timer = setTimeout(() => void poll(), timing.pollMs + Math.random() * timing.jitterMs).unref();
    return {
      supergraphSdl: current,
      cleanup: async () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  };
}
