import type { MeshConfig } from '../platform/config.js';
import type { Logger } from '../platform/log.js';
import { LineageEmitter } from './emitter.js';
import { LineageGraph } from './graph.js';
import { ConsoleTransport, FileTransport, HttpTransport, type Transport } from './transports.js';
import type { RunEvent } from './openlineage.js';

export * from './openlineage.js';
export { LineageEmitter, type EmitterStats } from './emitter.js';
export { LineageGraph, type LineageNode, type Reached } from './graph.js';
export { HttpTransport, FileTransport, ConsoleTransport, type Transport } from './transports.js';

/** The platform's lineage: where events go, the graph it keeps, and the namespaces it names things in. */
export interface Lineage {
  emitter: LineageEmitter;
  graph: LineageGraph;
  /** Jobs' namespace (OPENLINEAGE_NAMESPACE). */
  namespace: string;
  /** Datasets in the object store are named in this namespace (the store URL). */
  storeNamespace: string;
  emit(event: RunEvent): void;
}

const open = new Set<LineageEmitter>();
let hooked = false;

/** Transports chosen by OpenLineage's own conventions (OPENLINEAGE_URL…), plus the file, console and the local graph. */
export function createLineage(config: MeshConfig, storeUrl: string, log: Logger): Lineage {
  const graph = new LineageGraph(config.lineage.graphFile);
  const transports: Transport[] = [graph];
  if (config.lineage.http) transports.push(new HttpTransport(config.lineage.http));
  if (config.lineage.file) transports.push(new FileTransport(config.lineage.file));
  if (config.lineage.console) transports.push(new ConsoleTransport());
  const emitter = new LineageEmitter(transports, log, { spoolDir: config.lineage.spoolDir });
  open.add(emitter);
  if (!hooked) {
    hooked = true;
    // CLI jobs end when their work is done; what they emitted is sent before the process exits.
    process.on('beforeExit', () => {
      for (const e of open) if (e.snapshot().queued > 0) void e.flush();
    });
  }
  return { emitter, graph, namespace: config.lineage.namespace, storeNamespace: storeUrl, emit: (e) => emitter.emit(e) };
}
