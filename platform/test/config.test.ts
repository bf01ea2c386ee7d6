import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, DEV_INTERNAL_SECRET, DEV_MASKING_KEY } from '../config.js';
import { isMeshError } from '../errors.js';

/** Secrets as an operator would generate them (openssl rand -base64 32), each different. */
const SECRETS = {
  mask: 'k7Q2vN9xR4mT8pW1zL6cY3hF5jB0dG2sA9eU4iO7',
  jwt: 'P3nM8qZ1wX6vC4bN7mK2lJ9hG5fD0sA3eR8tY1uI',
  internal: 'Zx9Cv8Bn7Mq6Wr5Et4Yu3Io2Pa1Sd0Fg9Hj8Kl7',
};

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

  it('production refuses weak secrets, naming the variable and the rule, never the value', () => {
    const prod = { MESH_ENV: 'production', MESH_MASKING_KEY: SECRETS.mask, MESH_JWT_SECRET: SECRETS.jwt };
    const cases: [Record<string, string>, RegExp][] = [
      [{ MESH_INTERNAL_SECRET: `${DEV_INTERNAL_SECRET} ` }, /MESH_INTERNAL_SECRET: it is a development secret/],
      [{ MESH_INTERNAL_SECRET: ` ${SECRETS.internal}` }, /MESH_INTERNAL_SECRET: it begins or ends with whitespace/],
      [{ MESH_INTERNAL_SECRET: 'x' }, /MESH_INTERNAL_SECRET: it has 1 characters, fewer than 32/],
      [{ MESH_INTERNAL_SECRET: 'ab'.repeat(40) }, /MESH_INTERNAL_SECRET: it uses fewer than 12 distinct characters/],
      [{ MESH_INTERNAL_SECRET: SECRETS.jwt }, /to differ/],
      [{ MESH_MASKING_KEY: SECRETS.internal, MESH_INTERNAL_SECRET: SECRETS.internal }, /to differ/],
    ];
    for (const [env, message] of cases) {
      let error: unknown;
      try {
        loadConfig({ ...prod, MESH_INTERNAL_SECRET: SECRETS.internal, ...env });
      } catch (err) {
        error = err;
      }
      expect(isMeshError(error, 'CONFIG_INVALID'), JSON.stringify(env)).toBe(true);
      expect((error as Error).message).toMatch(message);
      for (const value of Object.values(env)) expect((error as Error).message).not.toContain(value.trim());
    }
    // With a JWKS, the JWT secret is not used and need not be set.
    const jwks = { MESH_JWKS_URL: 'https://idp.example/jwks', MESH_INTERNAL_SECRET: SECRETS.internal };
    expect(loadConfig({ MESH_ENV: 'production', MESH_MASKING_KEY: SECRETS.mask, ...jwks }).env).toBe('production');
  });

  it('names the variable that is wrong', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ MESH_STORE: 'ftp' }, /MESH_STORE must be one of local, s3/],
      [{ MESH_STORE: 's3' }, /MESH_S3_BUCKET/],
      [{ MESH_ENV: 'prod' }, /MESH_ENV/],
      [{ MESH_DUCKDB_THREADS: 'two' }, /MESH_DUCKDB_THREADS/],
      [{ MESH_STORE: 's3', MESH_S3_BUCKET: 'b', MESH_S3_FORCE_PATH_STYLE: 'maybe' }, /MESH_S3_FORCE_PATH_STYLE/],
      [{ MESH_ENV: 'production' }, /MESH_MASKING_KEY/],
      [{ MESH_ENV: 'production', MESH_MASKING_KEY: SECRETS.mask }, /MESH_JWT_SECRET or MESH_JWKS_URL/],
      [
        { MESH_ENV: 'production', MESH_MASKING_KEY: SECRETS.mask, MESH_JWT_SECRET: SECRETS.jwt },
        /MESH_INTERNAL_SECRET/,
      ],
      [{ MESH_GATEWAY_PORT: '99999' }, /MESH_GATEWAY_PORT/],
      [{ MESH_SERVING_MEMORY_MB: '512' }, /MESH_SERVING_MEMORY_MB is no longer read: .*MESH_SERVING_COPY=false/],
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
    const prod = { MESH_ENV: 'production', MESH_MASKING_KEY: SECRETS.mask, MESH_INTERNAL_SECRET: SECRETS.internal };
    expect(loadConfig({ ...prod, MESH_JWT_SECRET: SECRETS.jwt }).env).toBe('production');
    expect(loadConfig({ ...prod, MESH_JWKS_URL: 'https://idp.example/.well-known/jwks.json' }).auth.jwksUrl).toBe(
      'https://idp.example/.well-known/jwks.json',
    );
  });
});
