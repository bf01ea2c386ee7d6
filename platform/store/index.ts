import type { StoreConfig } from '../config.js';
import { LocalObjectStore } from './local.js';
import { S3ObjectStore } from './s3.js';
import type { ObjectStore } from './types.js';

export * from './types.js';
export { LocalObjectStore } from './local.js';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3.js';

export function createObjectStore(config: StoreConfig): ObjectStore {
  switch (config.kind) {
    case 'local':
      return new LocalObjectStore(config.root);
    case 's3':
      return new S3ObjectStore(config);
  }
}

export async function getJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  const body = await store.tryGet(key);
  return body === undefined ? undefined : (JSON.parse(body.toString('utf8')) as T);
}

export async function putJson(
  store: ObjectStore,
  key: string,
  value: unknown,
  tags?: Record<string, string>,
): Promise<void> {
  await store.put(key, JSON.stringify(value, null, 2) + '\n', { tags, contentType: 'application/json' });
}
