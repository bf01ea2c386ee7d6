import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signInternalIdentity, verifyInternalIdentity, verifyUserToken } from '../auth.js';
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
