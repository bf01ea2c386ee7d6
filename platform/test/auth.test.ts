import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  IDENTITY_HEADER,
  authenticateBearer,
  signInternalIdentity,
  signUserToken,
  verifyInternalIdentity,
  verifyUserToken,
} from '../auth.js';
import { isMeshError } from '../errors.js';
import { testConfig } from './helpers.js';

const auth = testConfig().auth;
const sign = (claims: { iat?: number; exp: number }) => {
  const jwt = new SignJWT({ role: 'analyst' }).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory');
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
    for (const header of [undefined, '', `Token ${good}`, 'Bearer', 'Bearer ', `Basic ${good}`])
      expect(await code(authenticateBearer(header, auth, ['analyst']))).toMatch(/^UNAUTHENTICATED: missing bearer/);
    expect(await authenticateBearer(`bearer   ${good}`, auth, ['analyst'])).toEqual({ sub: 'ana', role: 'analyst' });
    expect(await code(authenticateBearer(`Bearer ${good}`, auth, ['admin']))).toBe(
      'FORBIDDEN: role "analyst" is not in the governance policy (known: admin)',
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
  });
});
