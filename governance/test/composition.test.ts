import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { composeSupergraph, loadSupergraphConfig, supergraphPiiFields, type SubgraphSource } from '../composition.js';

import { verifyUserToken } from '../../platform/auth.js';
import { loadConfig, REPO_ROOT } from '../../platform/config.js';
import { isMeshError } from '../../platform/errors.js';

const sources = () => loadSupergraphConfig(path.join(REPO_ROOT, 'supergraph.yaml'));

function expectComposition(subgraphs: SubgraphSource[], code: string, message: RegExp): void {
  try {
    composeSupergraph(subgraphs);
    expect.unreachable('composition should fail');
  } catch (err) {
    expect(isMeshError(err, 'COMPOSITION_FAILED')).toBe(true);
    expect((err as Error).message).toContain(`[${code}]`);
    expect((err as Error).message).toMatch(message);
  }
}

describe('composition of supergraph.yaml', () => {
  it('composes the five domains, the features and metadata subgraphs, each PII field owned by its subgraph', () => {
    const { supergraphSdl } = composeSupergraph(sources());
    expect(sources().map((s) => s.name)).toEqual([
      'sales',
      'fulfillment',
      'catalog',
      'campaigns',
      'payments',
      'features',
      'metadata',
    ]);
    expect(new Set(supergraphPiiFields(supergraphSdl).map((f) => f.subgraph))).toEqual(
      new Set(['sales', 'fulfillment', 'payments']),
    );
  });

  it('fails with the composition error code when subgraphs disagree on a field type', () => {
    const broken = sources().map((s) =>
      s.name === 'fulfillment'
        ? {
            ...s,
            sdl: s.sdl.replace(
              'type Order @key(fields: "id") {\n  id: ID!',
              'type Order @key(fields: "id") {\n  id: Int!',
            ),
          }
        : s,
    );
    expectComposition(broken, 'FIELD_TYPE_MISMATCH', /Order\.id/);
  });

  it('fails on invalid GraphQL, naming the subgraph', () => {
    const broken = sources().map((s) => (s.name === 'catalog' ? { ...s, sdl: `${s.sdl}\ntype {` } : s));
    expectComposition(broken, 'INVALID_GRAPHQL', /\[catalog\]/);
  });

  it('fails when a shared field is PII in one subgraph and not in another (composition only hints)', () => {
    const broken = sources().map((s) =>
      s.name === 'campaigns'
        ? {
            ...s,
            sdl: s.sdl.replace(
              'type Customer @key(fields: "id") {\n  id: ID!',
              'type Customer @key(fields: "id") {\n  id: ID!\n  email: String @shareable',
            ),
          }
        : s,
    );
    const withShareable = broken.map((s) =>
      s.name === 'sales'
        ? {
            ...s,
            sdl: s.sdl.replace('email: String @pii(kind: "email")', 'email: String @pii(kind: "email") @shareable'),
          }
        : s,
    );
    expectComposition(
      withShareable,
      'PII_ANNOTATION_MISMATCH',
      /Customer\.email is @pii\(kind: "email"\) in sales but not PII in campaigns/,
    );
  });
});

describe('user tokens through a JWKS (RS256)', () => {
  it('verifies tokens signed by the identity provider and refuses others', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const server = http.createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const auth = loadConfig({
        MESH_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
        MESH_JWT_ISSUER: 'https://idp.example',
      }).auth;
      const sign = (iss: string) =>
        new SignJWT({ role: 'analyst' })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('ana')
          .setIssuer(iss)
          .setExpirationTime('5m')
          .sign(privateKey);
      expect(await verifyUserToken(await sign('https://idp.example'), auth)).toEqual({ sub: 'ana', role: 'analyst' });
      await expect(verifyUserToken(await sign('https://evil.example'), auth)).rejects.toSatisfy((e: unknown) =>
        isMeshError(e, 'UNAUTHENTICATED'),
      );
      const hs = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('https://idp.example')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(auth.jwtSecret));
      await expect(verifyUserToken(hs, auth)).rejects.toThrow(/invalid token/);
    } finally {
      server.close();
    }
  });
});
