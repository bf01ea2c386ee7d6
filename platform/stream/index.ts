import type { MeshConfig } from '../config.js';
import type { Logger } from '../log.js';
import { JetStreamEventStream } from './jetstream.js';
import type { EventStream } from './types.js';

export type { EventStream, StreamEvent, StreamMessage } from './types.js';
export { framed, unframed } from './framing.js';

/** The broker MESH_STREAM_URL names (nats://…), or undefined: stream sources are then read as files. */
export function createEventStream(config: Pick<MeshConfig, 'streamUrl'>, log: Logger): EventStream | undefined {
  return config.streamUrl ? new JetStreamEventStream(config.streamUrl, log) : undefined;
}
