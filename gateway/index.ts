// The gateway's public module: the governed gateway and the whole mesh in one process.
export { EXAMPLE_QUERY, sources, startMesh, type RunningMesh } from './inProcessMesh.js';
export { startGateway, type GatewayOptions, type GatewayServices, type RunningGateway } from './server.js';
