import { SignJWT, jwtVerify, createRemoteJWKSet, type JWTPayload } from 'jose';
import type { MeshConfig } from './config.js';
import { MeshError, ErrorCode } from './errors.js';

/** Who is asking: the subject and one role of the governance policy. */
export interface Identity {
  sub: string;
  role: string;
}

export const IDENTITY_HEADER = 'x-mesh-identity';

type AuthConfig = MeshConfig['auth'];

const encoder = new TextEncoder();
let jwks: { url: string; set: ReturnType<typeof createRemoteJWKSet> } | undefined;

/** Verifies a user's bearer token: HS256 with the shared secret, or RS256/ES256 against a JWKS. */
export async function verifyUserToken(token: string, auth: AuthConfig): Promise<Identity> {
  let payload: JWTPayload;
  try {
    const options = { issuer: auth.issuer, audience: auth.audience };
    if (auth.jwksUrl) {
      if (jwks?.url !== auth.jwksUrl) jwks = { url: auth.jwksUrl, set: createRemoteJWKSet(new URL(auth.jwksUrl)) };
      payload = (await jwtVerify(token, jwks.set, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
    } else {
      payload = (await jwtVerify(token, encoder.encode(auth.jwtSecret), { ...options, algorithms: ['HS256'] })).payload;
    }
  } catch (err) {
    throw new MeshError(ErrorCode.UNAUTHENTICATED, `invalid token: ${(err as Error).message}`);
  }
  return identityFrom(payload);
}

/** The caller of a user-facing endpoint: a verified bearer token whose role the policy knows (401 / 403 otherwise). */
export async function authenticateBearer(header: string | undefined, auth: AuthConfig, roles: string[]): Promise<Identity> {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) throw new MeshError(ErrorCode.UNAUTHENTICATED, 'missing bearer token: send "Authorization: Bearer <token>" (npx mesh token --role analyst)');
  const identity = await verifyUserToken(match[1]!, auth);
  if (!roles.includes(identity.role)) throw new MeshError(ErrorCode.FORBIDDEN, `role "${identity.role}" is not in the governance policy (known: ${roles.join(', ')})`);
  return identity;
}

/** A development token for a role, signed with the configured HS256 secret. */
export async function signUserToken(identity: Identity, auth: AuthConfig, expiresIn = '12h'): Promise<string> {
  return new SignJWT({ role: identity.role }).setProtectedHeader({ alg: 'HS256' }).setSubject(identity.sub).setIssuedAt().setExpirationTime(expiresIn).sign(encoder.encode(auth.jwtSecret));
}

/** The identity the gateway forwards to subgraphs, signed with the internal secret and short-lived. */
export async function signInternalIdentity(identity: Identity, auth: AuthConfig): Promise<string> {
  return new SignJWT({ role: identity.role }).setProtectedHeader({ alg: 'HS256' }).setSubject(identity.sub).setIssuer('mesh-gateway').setIssuedAt().setExpirationTime('5m').sign(encoder.encode(auth.internalSecret));
}

export async function verifyInternalIdentity(token: string | undefined, auth: AuthConfig): Promise<Identity> {
  if (!token) throw new MeshError(ErrorCode.UNAUTHENTICATED, `missing ${IDENTITY_HEADER}: subgraphs only answer the gateway`);
  try {
    const { payload } = await jwtVerify(token, encoder.encode(auth.internalSecret), { issuer: 'mesh-gateway', algorithms: ['HS256'] });
    return identityFrom(payload);
  } catch (err) {
    if (err instanceof MeshError) throw err;
    throw new MeshError(ErrorCode.UNAUTHENTICATED, `invalid ${IDENTITY_HEADER}: ${(err as Error).message}`);
  }
}

function identityFrom(payload: JWTPayload): Identity {
  const role = payload.role;
  if (typeof role !== 'string' || role === '') throw new MeshError(ErrorCode.UNAUTHENTICATED, 'token has no "role" claim');
  return { sub: payload.sub ?? 'anonymous', role };
}
