// Decodes stream batches off the main thread, which meanwhile reads the next ones from the broker (avroBatch.ts).
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { batchDecoder } = await import('./avroBatch.ts');
const decode = batchDecoder();
parentPort.on('message', ({ id, job }) => {
  try {
    const result = decode(job);
    parentPort.postMessage({ id, result }, [result.times.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
