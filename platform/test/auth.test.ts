import { createServer, type Server } from 'node:http';
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  IDENTITY_HEADER,
  Remembered,
  authenticateBearer,
  signInternalIdentity,
  signUserToken,
  verifyInternalIdentity,
  verifyUserToken,
} from '../auth.js';
import { isMeshError } from '../errors.js';
import { testConfig } from './helpers.js';

const auth = testConfig().auth;
let signed = 0;
/** A token no earlier test has signed: the verified tokens remembered cannot answer for it. */
const sign = (claims: { iat?: number; exp: number }) => {
  const jwt = new SignJWT({ role: 'analyst', jti: `t${signed++}` })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('mallory');
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  return jwt.setExpirationTime(claims.exp).sign(new TextEncoder().encode(auth.jwtSecret));
};
const now = () => Math.floor(Date.now() / 1000);
const refusal = async (token: string) => {
  const err = await verifyUserToken(token, auth).catch((e: unknown) => e);
  expect(isMeshError(err, 'UNAUTHENTICATED')).toBe(true);
  return (err as Error).message;
};

describe('user token lifetimes', () => {
  it('refuses a token issued in the future, however short its stated life (a 10-year token otherwise)', async () => {
    const iat = now() + 10 * 365 * 86_400;
    expect(await refusal(await sign({ iat, exp: iat + 3600 }))).toMatch(/issued in the future/);
  });

  it('refuses a token that ends further away than the maximum, with or without iat', async () => {
    expect(await refusal(await sign({ exp: now() + auth.maxLifetimeSeconds + 600 }))).toMatch(/over the 86400 s/);
    expect(await refusal(await sign({ iat: now(), exp: now() + auth.maxLifetimeSeconds + 600 }))).toMatch(/over/);
  });

  it('refuses a token without exp, and judges a lifetime from iat when that is further than from now', async () => {
    const noExp = await new SignJWT({ role: 'analyst' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .sign(new TextEncoder().encode(auth.jwtSecret));
    expect(await refusal(noExp)).toMatch(/"exp" claim/);
    // Issued two days ago, ending in an hour: it lives 2 days and an hour, over the one day allowed.
    expect(await refusal(await sign({ iat: now() - 2 * 86_400, exp: now() + 3600 }))).toMatch(/lives 176400 s/);
  });

  it('accepts exactly the maximum lifetime and exactly a minute of skew, not a second more', async () => {
    const t = now();
    expect((await verifyUserToken(await sign({ iat: t, exp: t + auth.maxLifetimeSeconds }), auth)).sub).toBe('mallory');
    const skewed = now() + 60;
    expect((await verifyUserToken(await sign({ iat: skewed, exp: skewed + 60 }), auth)).sub).toBe('mallory');
    expect(await refusal(await sign({ iat: now() + 62, exp: now() + 600 }))).toMatch(/issued in the future/);
  });

  it('accepts a token within its lifetime, a minute of issuer clock skew included', async () => {
    expect(await verifyUserToken(await sign({ iat: now() + 30, exp: now() + 3600 }), auth)).toEqual({
      sub: 'mallory',
      role: 'analyst',
    });
  });
});

describe('internal identities (gateway to subgraph)', () => {
  const secret = new TextEncoder().encode(auth.internalSecret);
  const internal = (claims: Record<string, unknown>, build: (jwt: SignJWT) => SignJWT = (j) => j) =>
    build(
      new SignJWT({ role: 'analyst', ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('ana')
        .setIssuer('mesh-gateway')
        .setAudience('sales'),
    ).sign(secret);
  const verify = (token: string) => verifyInternalIdentity(token, auth, 'sales', () => true);
  const refused = async (token: string) => {
    const err = await verify(token).catch((e: unknown) => e);
    expect(isMeshError(err, 'UNAUTHENTICATED'), String(err)).toBe(true);
    return (err as Error).message;
  };
  afterEach(() => vi.useRealTimers());

  it('refuses one without an expiry, or with an expiry that is no time', async () => {
    expect(await refused(await internal({}, (j) => j.setIssuedAt()))).toMatch(/"exp" claim/);
    for (const exp of ['soon', null, 'NaN'])
      expect(await refused(await internal({ exp }, (j) => j.setIssuedAt()))).toMatch(/"exp" claim/);
    expect(await refused(await internal({}, (j) => j.setExpirationTime('1m')))).toMatch(/"iat" claim/);
  });

  it('never answers from memory past an identity’s expiry, nor past its lifetime', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const token = await internal({}, (j) => j.setIssuedAt().setExpirationTime(Math.floor(start / 1000) + 30));
    expect(await verify(token)).toEqual({ sub: 'ana', role: 'analyst' });
    // Remembered within its life: the same answer without verifying again.
    vi.setSystemTime(start + 29_000);
    expect(await verify(token)).toEqual({ sub: 'ana', role: 'analyst' });
    vi.setSystemTime(start + 31_000);
    expect(await refused(token)).toMatch(/"exp" claim timestamp check failed/);
    // What the gateway signs is fresh: a minute of reuse at most, never one near its end.
    const signed = await signInternalIdentity({ sub: 'ana', role: 'analyst' }, auth, 'sales');
    vi.setSystemTime(start + 31_000 + 61_000);
    expect(await signInternalIdentity({ sub: 'ana', role: 'analyst' }, auth, 'sales')).not.toBe(signed);
  });

  it('a user token is not remembered past its expiry either', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const token = await sign({ iat: Math.floor(start / 1000), exp: Math.floor(start / 1000) + 5 });
    expect((await verifyUserToken(token, auth)).sub).toBe('mallory');
    vi.setSystemTime(start + 6_000);
    expect(await refusal(token)).toMatch(/exp/);
  });
});

describe('bearer tokens, roles and signing, directly', () => {
  const key = new TextEncoder().encode(auth.jwtSecret);
  const token = (claims: Record<string, unknown>, alg = 'HS256', secret = key) =>
    new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime('1h').sign(secret);
  const code = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    return isMeshError(err) ? `${err.code}: ${err.message}` : String(err);
  };

  it('reads only "Bearer <token>" from the header, and refuses a role the policy does not know', async () => {
    const good = await token({ role: 'analyst', sub: 'ana' });
    for (const header of [undefined, '', `Token ${good}`, 'Bearer', 'Bearer ', `Basic ${good}`, `NotBearer ${good}`])
      expect(await code(authenticateBearer(header, auth, ['analyst']))).toMatch(/^UNAUTHENTICATED: missing bearer/);
    expect(await authenticateBearer(`bearer   ${good}`, auth, ['analyst'])).toEqual({ sub: 'ana', role: 'analyst' });
    expect(await code(authenticateBearer(`Bearer ${good}`, auth, ['admin', 'auditor']))).toBe(
      'FORBIDDEN: role "analyst" is not in the governance policy (known: admin, auditor)',
    );
  });

  it('needs a role claim, an HS256 signature under the secret, and the configured issuer and audience', async () => {
    for (const role of [undefined, '', 7])
      expect(await code(verifyUserToken(await token({ role }), auth))).toBe(
        'UNAUTHENTICATED: token has no "role" claim',
      );
    expect(await verifyUserToken(await token({ role: 'analyst' }), auth)).toEqual({
      sub: 'anonymous',
      role: 'analyst',
    });
    const other = new TextEncoder().encode('another secret of the same length as any, long enough');
    expect(await code(verifyUserToken(await token({ role: 'analyst' }, 'HS256', other), auth))).toMatch(
      /^UNAUTHENTICATED/,
    );
    expect(await code(verifyUserToken(await token({ role: 'analyst' }, 'HS512'), auth))).toMatch(/^UNAUTHENTICATED/);
    const scoped = { ...auth, issuer: 'https://idp.example', audience: 'mesh' };
    expect(await code(verifyUserToken(await token({ role: 'analyst' }), scoped))).toMatch(/^UNAUTHENTICATED/);
    const right = await token({ role: 'analyst', iss: 'https://idp.example', aud: 'mesh' });
    expect(await verifyUserToken(right, scoped)).toEqual({ sub: 'anonymous', role: 'analyst' });
    // Remembered per issuer and audience: the same token is not accepted under other settings from memory.
    expect(await code(verifyUserToken(right, { ...scoped, audience: 'other' }))).toMatch(/^UNAUTHENTICATED/);
    expect(await code(verifyUserToken(right, { ...scoped, issuer: 'https://other.example' }))).toMatch(
      /^UNAUTHENTICATED/,
    );
  });

  it('signs development tokens as HS256 for 12 hours, with the role and subject', async () => {
    const signed = await signUserToken({ sub: 'ana', role: 'admin' }, auth);
    expect(decodeProtectedHeader(signed).alg).toBe('HS256');
    const claims = decodeJwt(signed);
    expect([claims.role, claims.sub, claims.exp! - claims.iat!]).toEqual(['admin', 'ana', 12 * 3600]);
    expect(await verifyUserToken(signed, auth)).toEqual({ sub: 'ana', role: 'admin' });
  });

  it('passes an identity to one subgraph only, from the gateway only, of a known role, even from memory', async () => {
    expect(IDENTITY_HEADER).toBe('x-mesh-identity');
    const signed = await signInternalIdentity({ sub: 'ben', role: 'analyst' }, auth, 'sales');
    const claims = decodeJwt(signed);
    expect([claims.iss, claims.aud, claims.exp! - claims.iat!]).toEqual(['mesh-gateway', 'sales', 300]);
    expect(await signInternalIdentity({ sub: 'ben', role: 'analyst' }, auth, 'sales')).toBe(signed);
    expect(await signInternalIdentity({ sub: 'ben', role: 'analyst' }, auth, 'payments')).not.toBe(signed);
    expect(await verifyInternalIdentity(signed, auth, 'sales', () => true)).toEqual({ sub: 'ben', role: 'analyst' });
    expect(await code(verifyInternalIdentity(signed, auth, 'payments', () => true))).toMatch(
      /^UNAUTHENTICATED: invalid x-mesh-identity/,
    );
    expect(await code(verifyInternalIdentity(undefined, auth, 'sales', () => true))).toBe(
      'UNAUTHENTICATED: missing x-mesh-identity: subgraphs only answer the gateway',
    );
    // Refused from memory too: the verified identity is remembered, its role checked on every request.
    for (let i = 0; i < 2; i++)
      expect(await code(verifyInternalIdentity(signed, auth, 'sales', (r) => r !== 'analyst'))).toBe(
        'FORBIDDEN: role "analyst" is not in the governance policy',
      );
    const secret = new TextEncoder().encode(auth.internalSecret);
    const foreign = await new SignJWT({ role: 'analyst' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('someone-else')
      .setAudience('sales')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(secret);
    expect(await code(verifyInternalIdentity(foreign, auth, 'sales', () => true))).toMatch(/^UNAUTHENTICATED/);
    // Checked the first time too, not only from memory; and a token with no role is refused as such.
    const stranger = await signInternalIdentity({ sub: 'eve', role: 'stranger' }, auth, 'sales');
    expect(await code(verifyInternalIdentity(stranger, auth, 'sales', (r) => r !== 'stranger'))).toBe(
      'FORBIDDEN: role "stranger" is not in the governance policy',
    );
    const roleless = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('mesh-gateway')
      .setAudience('sales')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(secret);
    expect(await code(verifyInternalIdentity(roleless, auth, 'sales', () => true))).toBe(
      'UNAUTHENTICATED: token has no "role" claim',
    );
  });

  it('reuses a signed identity for a minute, seconds apart (not a signature per fetch)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const first = await signInternalIdentity({ sub: 'cat', role: 'analyst' }, auth, 'catalog');
      vi.setSystemTime(Date.now() + 5_000);
      expect(await signInternalIdentity({ sub: 'cat', role: 'analyst' }, auth, 'catalog')).toBe(first);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('what is remembered', () => {
  it('answers until its end, not at it; never keeps an answer without an end; drops the oldest past its size', () => {
    const memory = new Remembered<number>(2);
    memory.set('a', 1, 1000);
    expect([memory.get('a', 999), memory.get('a', 1000), memory.get('a', 999)]).toEqual([1, undefined, undefined]);
    memory.set('nan', 2, Number.NaN);
    expect(memory.get('nan', 0)).toBeUndefined();
    for (const [key, value] of [
      ['x', 10],
      ['y', 11],
      ['z', 12],
    ] as const)
      memory.set(key, value, 5000);
    expect(['x', 'y', 'z'].map((k) => memory.get(k, 0))).toEqual([undefined, 11, 12]);
  });
});

describe('user tokens against a JWKS (RS256, ES256)', () => {
  const servers: Server[] = [];
  const issuers: { url: string; sign(alg: 'RS256' | 'ES256', claims: Record<string, unknown>): Promise<string> }[] = [];

  /** An identity provider of the test's own: its keys at /jwks.json, and tokens it signs. */
  async function provider() {
    const rsa = await generateKeyPair('RS256');
    const ec = await generateKeyPair('ES256');
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' },
    ];
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const { port } = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${port}/jwks.json`,
      sign: (alg: 'RS256' | 'ES256', claims: Record<string, unknown>) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg, kid: alg === 'RS256' ? 'rsa' : 'ec' })
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(alg === 'RS256' ? rsa.privateKey : ec.privateKey),
    };
  }
  beforeAll(async () => {
    issuers.push(await provider(), await provider());
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('verifies both algorithms against the JWKS, with issuer and audience, and follows a new URL', async () => {
    const [a, b] = issuers as [(typeof issuers)[0], (typeof issuers)[0]];
    const jwksAuth = { ...auth, jwksUrl: a.url, issuer: 'https://idp.example', audience: 'mesh' };
    const claims = { role: 'analyst', sub: 'ana', iss: 'https://idp.example', aud: 'mesh' };
    for (const alg of ['RS256', 'ES256'] as const)
      expect(await verifyUserToken(await a.sign(alg, { ...claims, jti: alg }), jwksAuth)).toEqual({
        sub: 'ana',
        role: 'analyst',
      });
    const err = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: unknown) => (isMeshError(e) ? e.code : String(e)),
      );
    expect(await err(verifyUserToken(await a.sign('RS256', { ...claims, aud: 'other' }), jwksAuth))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await err(verifyUserToken(await a.sign('ES256', { role: 'analyst', jti: 'no-iss' }), jwksAuth))).toBe(
      'UNAUTHENTICATED',
    );
    // The shared secret means nothing once a JWKS is configured.
    expect(await err(verifyUserToken(await signUserToken({ sub: 'ana', role: 'admin' }, auth), jwksAuth))).toBe(
      'UNAUTHENTICATED',
    );
    // Another provider's keys: refused under the first URL, accepted once the URL is the other's.
    const fromB = await b.sign('RS256', { ...claims, jti: 'b' });
    expect(await err(verifyUserToken(fromB, jwksAuth))).toBe('UNAUTHENTICATED');
    expect(await verifyUserToken(fromB, { ...jwksAuth, jwksUrl: b.url })).toEqual({ sub: 'ana', role: 'analyst' });
  });
});
