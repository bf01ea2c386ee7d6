import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, DEV_MASKING_KEY } from '../config.js';
import { isMeshError } from '../errors.js';

describe('configuration from the environment', () => {
  it('has safe embedded defaults: local files under .mesh', () => {
    const c = loadConfig({});
    expect(c.env).toBe('development');
    expect(c.store).toEqual({ kind: 'local', root: c.dataDir });
    expect(path.basename(c.dataDir)).toBe('.mesh');
    expect(c.maskingKey).toBe(DEV_MASKING_KEY);
  });

  it('configures S3 from MESH_S3_* and defaults to path-style when an endpoint is given', () => {
    const c = loadConfig({
      MESH_STORE: 's3',
      MESH_S3_BUCKET: 'b',
      MESH_S3_PREFIX: '/lake/',
      MESH_S3_ENDPOINT: 'http://127.0.0.1:9000',
    });
    expect(c.store).toMatchObject({
      kind: 's3',
      bucket: 'b',
      prefix: 'lake',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
    });
    expect(loadConfig({ MESH_STORE: 's3', MESH_S3_BUCKET: 'b' }).store).toMatchObject({
      forcePathStyle: false,
      endpoint: undefined,
    });
  });

  it('names the variable that is wrong', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ MESH_STORE: 'ftp' }, /MESH_STORE must be one of local, s3/],
      [{ MESH_STORE: 's3' }, /MESH_S3_BUCKET/],
      [{ MESH_ENV: 'prod' }, /MESH_ENV/],
      [{ MESH_DUCKDB_THREADS: 'two' }, /MESH_DUCKDB_THREADS/],
      [{ MESH_STORE: 's3', MESH_S3_BUCKET: 'b', MESH_S3_FORCE_PATH_STYLE: 'maybe' }, /MESH_S3_FORCE_PATH_STYLE/],
      [{ MESH_ENV: 'production' }, /MESH_MASKING_KEY/],
      [{ MESH_ENV: 'production', MESH_MASKING_KEY: 'k' }, /MESH_JWT_SECRET or MESH_JWKS_URL/],
      [{ MESH_ENV: 'production', MESH_MASKING_KEY: 'k', MESH_JWT_SECRET: 's' }, /MESH_INTERNAL_SECRET/],
      [{ MESH_GATEWAY_PORT: '99999' }, /MESH_GATEWAY_PORT/],
    ];
    for (const [env, message] of cases) {
      let error: unknown;
      try {
        loadConfig(env);
      } catch (err) {
        error = err;
      }
      expect(isMeshError(error, 'CONFIG_INVALID'), JSON.stringify(env)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    const prod = { MESH_ENV: 'production', MESH_MASKING_KEY: 'a-real-secret', MESH_INTERNAL_SECRET: 'another' };
    expect(loadConfig({ ...prod, MESH_JWT_SECRET: 'user-token-secret' }).env).toBe('production');
    expect(loadConfig({ ...prod, MESH_JWKS_URL: 'https://idp.example/.well-known/jwks.json' }).auth.jwksUrl).toBe(
      'https://idp.example/.well-known/jwks.json',
    );
  });
});
