import { buildConsole } from '../console/test/harness.js';

/**
 * The console is served from its build: built once, from the sources under test, before any test runs. A test that
 * built it itself would empty the folder under every other test serving it meanwhile.
 */
export default async function setup(): Promise<void> {
  await buildConsole();
}
