import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MeshPlatform } from '../../lineage/platformLineage.js';
import { loadConfig, REPO_ROOT } from '../../platform/config.js';
import { signUserToken } from '../../platform/auth.js';
import { isMeshError } from '../../platform/errors.js';
import { composeSupergraph, loadSupergraphConfig } from '../../governance/composition.js';
import { startGateway, type RunningGateway } from '../index.js';
import { writeAtomic } from '../../platform/files.js';
import { meshPlatform } from '../../lineage/test/helpers.js';
import { gql, tempDir } from '../../platform/test/helpers.js';

const PROD = {
  MESH_ENV: 'production',
  MESH_MASKING_KEY: 'k7Q2vN9xR4mT8pW1zL6cY3hF5jB0dG2sA9eU4iO7',
  MESH_JWT_SECRET: 'P3nM8qZ1wX6vC4bN7mK2lJ9hG5fD0sA3eR8tY1uI',
  MESH_INTERNAL_SECRET: 'Zx9Cv8Bn7Mq6Wr5Et4Yu3Io2Pa1Sd0Fg9Hj8Kl7',
  MESH_LOG_LEVEL: 'silent',
};

let platform: MeshPlatform;
let gateway: RunningGateway;
let supergraphFile: string;

beforeAll(async () => {
  platform = meshPlatform(loadConfig({ ...PROD, MESH_DATA_DIR: tempDir() }));
  supergraphFile = path.join(platform.config.dataDir, 'supergraph.graphql');
  writeAtomic(
    supergraphFile,
    composeSupergraph(loadSupergraphConfig(path.join(REPO_ROOT, 'supergraph.yaml'))).supergraphSdl,
  );
  gateway = await startGateway(platform, { supergraphFile, port: 0 });
});
afterAll(async () => gateway?.close());

describe('production mode', () => {
  it('turns introspection and field suggestions off', async () => {
    const auth = {
      authorization: `Bearer ${await signUserToken({ sub: 't', role: 'analyst' }, platform.config.auth)}`,
    };
    const intro = await gql(gateway.url, '{ __schema { types { name } } }', {}, auth);
    expect(intro.body.errors?.[0]?.message).toMatch(/introspection/i);
    const typo = await gql(gateway.url, '{ custommer(id: "c-1") { id } }', {}, auth);
    expect(typo.body.errors?.[0]?.message).toMatch(/Cannot query field "custommer"/);
    expect(typo.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });

  it('refuses open mode', async () => {
    const err = await startGateway(platform, { supergraphFile, port: 0, open: true }).catch((e: unknown) => e);
    expect(isMeshError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/open mode is refused in production/);
  });

  it('a missing supergraph is a clear error', async () => {
    const err = await startGateway(platform, { supergraphFile: path.join(tempDir(), 'none.graphql'), port: 0 }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/no supergraph at .*none\.graphql: run npx mesh compose/);
    expect(fs.existsSync(supergraphFile)).toBe(true);
  });
});

describe('development mode suggests fields and allows open mode', () => {
  it('open mode serves without a token as admin', async () => {
    const dev = meshPlatform(loadConfig({ MESH_DATA_DIR: tempDir(), MESH_LOG_LEVEL: 'silent' }));
    const g = await startGateway(dev, { supergraphFile, port: 0, open: true });
    try {
      const typo = await gql(g.url, '{ custommer(id: "c-1") { id } }');
      expect(typo.status).toBe(400);
      expect(typo.body.errors?.[0]?.message).toMatch(/Did you mean "customer/);
    } finally {
      await g.close();
    }
  });
});
