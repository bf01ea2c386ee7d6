import { ControlDatabase, type MeshConfig, type LineagePort, type Platform, type Logger } from '../platform/index.js';
import { LineageEmitter } from './emitter.js';
import { SqliteLineageGraph, type LineageGraph } from './graph.js';
import { PostgresLineageGraph } from './postgresGraph.js';
import { ConsoleTransport, FileTransport, HttpTransport, type Transport } from './transports.js';

/** The platform's lineage: where events go, the graph it keeps, and the namespaces it names things in. */
export interface Lineage extends LineagePort {
  emitter: LineageEmitter;
  graph: LineageGraph;
}

/** The platform as the mesh runs it: the runtime with this layer's lineage behind the port. */
export type MeshPlatform = Platform<Lineage>;

const open = new Set<LineageEmitter>();
let hooked = false;

/**
 * Transports chosen by OpenLineage's own conventions (OPENLINEAGE_URL…), plus the file, console and the graph.
 */
export function createLineage(config: MeshConfig, storeUrl: string, log: Logger): Lineage {
  // Many machines share the control database's graph; one machine keeps it beside its data.
  const graph: LineageGraph = config.controlDb
    ? new PostgresLineageGraph(new ControlDatabase(config.controlDb, log))
    : new SqliteLineageGraph(config.lineage.graphFile);
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
  return {
    emitter,
    graph,
    namespace: config.lineage.namespace,
    storeNamespace: storeUrl,
    emit: (e) => emitter.emit(e),
  };
}
