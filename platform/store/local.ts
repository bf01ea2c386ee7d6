import fs from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MeshError, ErrorCode } from '../errors.js';
import { assertValidKey, type ObjectInfo, type ObjectStore, type ObjectTags, type PutOptions } from './types.js';

/**
 * Objects are plain files under `root`; tags live in a parallel `.tags/` tree as JSON sidecars.
 * Atomicity comes from write-to-temp then rename on the same filesystem.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly url: string;
  private readonly tmpDir: string;
  private readonly tagsDir: string;

  constructor(private readonly root: string) {
    this.url = pathToFileURL(root).href;
    this.tmpDir = path.join(root, '.tmp');
    this.tagsDir = path.join(root, '.tags');
  }

  async put(key: string, body: string | Uint8Array, options: PutOptions = {}): Promise<void> {
    const tmp = await this.tmpPath();
    await fs.writeFile(tmp, body);
    await this.putFile(key, tmp, options);
  }

  async putFile(key: string, localPath: string, options: PutOptions = {}): Promise<void> {
    assertValidKey(key);
    const target = this.filePath(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    // Tags first, so an object is never visible without its cost tags.
    if (options.tags) await this.writeTags(key, options.tags);
    try {
      await fs.rename(localPath, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      const tmp = await this.tmpPath();
      await fs.copyFile(localPath, tmp);
      await fs.rename(tmp, target);
      await fs.rm(localPath, { force: true });
    }
  }

  async get(key: string): Promise<Buffer> {
    const body = await this.tryGet(key);
    if (body === undefined)
      throw new MeshError(ErrorCode.NOT_FOUND, `object not found: ${key}`, { key, store: this.url });
    return body;
  }

  async tryGet(key: string): Promise<Buffer | undefined> {
    assertValidKey(key);
    try {
      return await fs.readFile(this.filePath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const st = await fs.stat(this.filePath(key));
      return st.isFile() ? info(key, st) : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const clean = prefix.replace(/^\/+/, '');
    // Walk from the deepest directory the prefix names, then filter by the full prefix.
    const dirPart = clean.includes('/') ? clean.slice(0, clean.lastIndexOf('/')) : '';
    await this.walk(dirPart, out, clean);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await fs.rm(this.filePath(key), { force: true });
    await fs.rm(this.tagPath(key), { force: true });
  }

  async getTags(key: string): Promise<ObjectTags> {
    assertValidKey(key);
    try {
      return JSON.parse(await fs.readFile(this.tagPath(key), 'utf8')) as ObjectTags;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  }

  async localPath(key: string): Promise<string> {
    assertValidKey(key);
    return this.filePath(key);
  }

  private async walk(dir: string, out: ObjectInfo[], prefix: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(path.join(this.root, dir), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const key = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await this.walk(key, out, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push(info(key, await fs.stat(path.join(this.root, key))));
      }
    }
  }

  private async writeTags(key: string, tags: ObjectTags): Promise<void> {
    const target = this.tagPath(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = await this.tmpPath();
    await fs.writeFile(tmp, JSON.stringify(tags));
    await fs.rename(tmp, target);
  }

  private async tmpPath(): Promise<string> {
    await fs.mkdir(this.tmpDir, { recursive: true });
    return path.join(this.tmpDir, randomUUID());
  }

  private filePath(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private tagPath(key: string): string {
    return path.join(this.tagsDir, ...key.split('/')) + '.json';
  }
}

function info(key: string, st: { size: number; mtime: Date; mtimeMs: number; ino: number }): ObjectInfo {
  const etag = createHash('sha1').update(`${st.size}:${st.mtimeMs}:${st.ino}`).digest('hex');
  return { key, size: st.size, etag, lastModified: st.mtime };
}
