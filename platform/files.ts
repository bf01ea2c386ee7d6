import fs from 'node:fs';
import path from 'node:path';

/** Writes a file so that readers (a watching gateway) see the old or the new content, never a partial one. */
export function writeAtomic(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
