import fs from 'node:fs';
import type { SupergraphSdlHook } from '@apollo/gateway';
import type { Logger } from '../platform/index.js';

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
