import type { MeshConfig } from './config.js';

/**
 * A named point where a job may die, for tests that prove it is safe to kill anywhere: when MESH_FAULT_POINT names this
 * point, the process kills itself at once (SIGKILL: no cleanup, no flush), exactly as a crash or an OOM kill would.
 */
export function faultPoint(config: Pick<MeshConfig, 'faultPoint'>, name: string): void {
  if (config.faultPoint === name) process.kill(process.pid, 'SIGKILL');
}
