import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyUserToken } from '../auth.js';
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
