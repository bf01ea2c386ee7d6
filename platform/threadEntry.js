// A thread of platform/threads.ts runs TypeScript sources as the CLI does (cli/bin.js): through tsx, registered in the
// thread itself, which inherits no loader from the thread that started it.
import os from 'node:os';
import { register } from 'tsx/esm/api';
import { workerData } from 'piscina';

// On Linux a nice value belongs to one thread: this one yields the CPU to the thread serving requests, not the reverse.
if (workerData.nice && process.platform === 'linux') os.setPriority(workerData.nice);
register();
const module = await import(workerData.module);
export default module.default;
