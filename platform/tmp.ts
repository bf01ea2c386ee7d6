import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Removes scratch entries a killed process left behind. Only old ones: a concurrent run's files are young.
 */
export async function sweepStaleTemp(dir: string, maxAgeMs = 6 * 3_600_000): Promise<number> {
  let removed = 0;
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of entries) {
    const p = path.join(dir, name);
    const st = await fs.stat(p).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > maxAgeMs) {
      await fs.rm(p, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
