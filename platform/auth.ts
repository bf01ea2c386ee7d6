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

/**
 * Verified tokens and signed identities, until they must be checked or signed again. An HMAC or a WebCrypto call per
 * token and request was a seventh of a request's CPU; a token string verified once under the same key and checks gives
 * the same answer until it expires. Bounded: the oldest entries go first.
 */
export class Remembered<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  constructor(private readonly max = 10_000) {}
  get(key: string, now = Date.now()): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now >= e.until) return void this.entries.delete(key);
    return e.value;
  }
  set(key: string, value: V, until: number): void {
    // An end that is no time (a missing or malformed claim) would keep the entry forever: such an answer is not kept.
    if (!Number.isFinite(until)) return;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until });
  }
}
const verifiedUsers = new Remembered<Identity>();
const verifiedInternal = new Remembered<Identity>();
const signedInternal = new Remembered<string>();

let jwks: { url: string; set: ReturnType<typeof createRemoteJWKSet> } | undefined;

/** How far a token's issuer clock may run ahead of ours. */
const CLOCK_SKEW_SECONDS = 60;

/**
 * Verifies a user's bearer token: HS256 with the shared secret, or RS256/ES256 against a JWKS. It must expire (`exp`),
 * and live no longer than the configured maximum: a token without an end, or good for a century, is refused.
 */
export async function verifyUserToken(token: string, auth: AuthConfig): Promise<Identity> {
  const key = [
    auth.jwksUrl ?? auth.jwtSecret,
    auth.issuer ?? '',
    auth.audience ?? '',
    auth.maxLifetimeSeconds,
    token,
  ].join('\u0000');
  const known = verifiedUsers.get(key);
  if (known) return known;
  let payload: JWTPayload;
  try {
    const options = { issuer: auth.issuer, audience: auth.audience, requiredClaims: ['exp'] };
    if (auth.jwksUrl) {
      if (jwks?.url !== auth.jwksUrl) jwks = { url: auth.jwksUrl, set: createRemoteJWKSet(new URL(auth.jwksUrl)) };
      payload = (await jwtVerify(token, jwks.set, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
    } else {
      payload = (await jwtVerify(token, encoder.encode(auth.jwtSecret), { ...options, algorithms: ['HS256'] })).payload;
    }
  } catch (err) {
    throw new MeshError(ErrorCode.UNAUTHENTICATED, `invalid token: ${(err as Error).message}`);
  }
  const now = Math.floor(Date.now() / 1000);
  // A future `iat` would stretch "at most N seconds after it was issued" to any length: refused past clock skew.
  if (payload.iat !== undefined && payload.iat > now + CLOCK_SKEW_SECONDS)
    throw new MeshError(ErrorCode.UNAUTHENTICATED, 'invalid token: it was issued in the future (iat)');
  const lifetime = Math.max(payload.exp! - (payload.iat ?? now), payload.exp! - now);
  if (lifetime > auth.maxLifetimeSeconds)
    throw new MeshError(
      ErrorCode.UNAUTHENTICATED,
      `invalid token: it lives ${lifetime} s, over the ${auth.maxLifetimeSeconds} s allowed (MESH_JWT_MAX_LIFETIME)`,
    );
  const identity = identityFrom(payload);
  verifiedUsers.set(key, identity, payload.exp! * 1000);
  return identity;
}

/** The caller of a user-facing endpoint: a verified bearer token whose role the policy knows (401 / 403 otherwise). */
export async function authenticateBearer(
  header: string | undefined,
  auth: AuthConfig,
  roles: string[],
): Promise<Identity> {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match)
    throw new MeshError(
      ErrorCode.UNAUTHENTICATED,
      'missing bearer token: send "Authorization: Bearer <token>" (npx mesh token --role analyst)',
    );
  const identity = await verifyUserToken(match[1]!, auth);
  if (!roles.includes(identity.role))
    throw new MeshError(
      ErrorCode.FORBIDDEN,
      `role "${identity.role}" is not in the governance policy (known: ${roles.join(', ')})`,
    );
  return identity;
}

/** A development token for a role, signed with the configured HS256 secret. */
export async function signUserToken(identity: Identity, auth: AuthConfig, expiresIn = '12h'): Promise<string> {
  return new SignJWT({ role: identity.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(identity.sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(encoder.encode(auth.jwtSecret));
}

/** How long the identity the gateway forwards lives: one request's fetches, with room for clock skew. */
const INTERNAL_LIFETIME = '5m';
const INTERNAL_LIFETIME_MS = 5 * 60_000;
/**
 * How long the gateway reuses one signed identity: well inside its lifetime, so a subgraph never sees one near its end.
 */
const INTERNAL_REUSE_MS = 60_000;

/** The identity the gateway forwards to one subgraph (`audience`), signed with the internal secret and short-lived. */
export async function signInternalIdentity(identity: Identity, auth: AuthConfig, audience: string): Promise<string> {
  const key = `${auth.internalSecret}\u0000${audience}\u0000${identity.role}\u0000${identity.sub}`;
  const known = signedInternal.get(key);
  if (known) return known;
  const token = await new SignJWT({ role: identity.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(identity.sub)
    .setIssuer('mesh-gateway')
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(INTERNAL_LIFETIME)
    .sign(encoder.encode(auth.internalSecret));
  signedInternal.set(key, token, Date.now() + INTERNAL_REUSE_MS);
  return token;
}

/**
 * The gateway's identity as `audience` (a subgraph) receives it: signed, for this subgraph only, not older than its
 * lifetime, and of a role the policy knows (403 otherwise). One subgraph's header is no key to another.
 */
export async function verifyInternalIdentity(
  token: string | undefined,
  auth: AuthConfig,
  audience: string,
  knownRole: (role: string) => boolean,
): Promise<Identity> {
  if (!token)
    throw new MeshError(ErrorCode.UNAUTHENTICATED, `missing ${IDENTITY_HEADER}: subgraphs only answer the gateway`);
  const key = `${auth.internalSecret}\u0000${audience}\u0000${token}`;
  let identity = verifiedInternal.get(key);
  if (identity) {
    if (!knownRole(identity.role))
      throw new MeshError(ErrorCode.FORBIDDEN, `role "${identity.role}" is not in the governance policy`);
    return identity;
  }
  try {
    const { payload } = await jwtVerify(token, encoder.encode(auth.internalSecret), {
      issuer: 'mesh-gateway',
      audience,
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'iat'],
      maxTokenAge: INTERNAL_LIFETIME,
    });
    identity = identityFrom(payload);
    // Good until it expires or grows older than its lifetime, whichever comes first (the checks jwtVerify made).
    verifiedInternal.set(key, identity, Math.min(payload.exp! * 1000, payload.iat! * 1000 + INTERNAL_LIFETIME_MS));
  } catch (err) {
    if (err instanceof MeshError) throw err;
    throw new MeshError(ErrorCode.UNAUTHENTICATED, `invalid ${IDENTITY_HEADER}: ${(err as Error).message}`);
  }
  if (!knownRole(identity.role))
    throw new MeshError(ErrorCode.FORBIDDEN, `role "${identity.role}" is not in the governance policy`);
  return identity;
}

function identityFrom(payload: JWTPayload): Identity {
  const role = payload.role;
  if (typeof role !== 'string' || role === '')
    throw new MeshError(ErrorCode.UNAUTHENTICATED, 'token has no "role" claim');
  return { sub: payload.sub ?? 'anonymous', role };
}
