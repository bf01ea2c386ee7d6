import { announceServing, closeThenExit, type ServedProcess } from '../platform/index.js';
import { loadSupergraphConfig } from '../governance/index.js';
import type { MeshPlatform } from '../lineage/index.js';

/** The port a served subgraph listens on: `--port`, else its routing_url in supergraph.yaml, else any free port. */
export function servingPort(platform: MeshPlatform, name: string, given?: number): number {
  if (given !== undefined) return given;
  const url = loadSupergraphConfig(platform.config.gateway.config).find((s) => s.name === name)?.url;
  return url ? Number(new URL(url).port) : 0;
}

/** Tells a supervising parent what is served (when there is one), then serves until Ctrl-C or SIGTERM. */
export function keepServing(served: ServedProcess, close: () => Promise<void>): void {
  announceServing(served, close);
  const stop = () => closeThenExit(close);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
