import { createHmac, createSecretKey, randomUUID, webcrypto, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { Config } from '../config.ts';

export interface AccessClaims {
  userId: string;
  sessionId: string;
  jti: string;
  expiresAt: number;
}

/** RFC 8176 `amr` of a password sign-in, and of one completed with a one-time code. */
export const PASSWORD_AMR: readonly string[] = ['pwd'];
export const SECOND_FACTOR_AMR: readonly string[] = ['pwd', 'otp'];
/** A passkey: a hardware-bound key, and the authenticator verified the user (PIN, biometrics). */
export const PASSKEY_VERIFIED_AMR: readonly string[] = ['hwk', 'user'];
/** A passkey whose authenticator only tested presence. */
export const PASSKEY_PRESENCE_AMR: readonly string[] = ['hwk'];

export interface TokenIssuer {
  /** `amr`: how the session's sign-in was proven; a refresh passes the session's own. */
  sign(
    userId: string,
    sessionId: string,
    amr?: readonly string[],
  ): Promise<{ token: string; expiresIn: number }>;
  /** Every check in SECURITY.md; null on any failure, whatever its kind. Never throws. */
  verify(token: string): Promise<AccessClaims | null>;
}

const MAX_TOKEN_LENGTH = 2048;
const CLOCK_SKEW_SECONDS = 30;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** base64url that re-encodes to itself: no padding, no altered unused trailing bits. */
function isCanonicalSegment(segment: string): boolean {
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/**
 * Tokens that passed every check, by their exact (canonical) bytes, until they expire: a client
 * sends the same access token with each request for 15 minutes, and re-verifying the HMAC each
 * time is the largest cost of a protected request. This is not a revocation shortcut — the
 * session is still checked on every request — and a token is only ever found here by the exact
 * string that was verified. Bounded: the oldest entry goes first. The bound matches the live
 * sessions one instance remembers (decision 011): with fewer, a server whose clients take turns
 * over more tokens than the bound (100,000 sessions used round-robin) would find none of them here
 * and pay jose's WebCrypto round trip on every request. About 550 bytes a token.
 */
class VerifiedTokens {
  private readonly entries = new Map<string, AccessClaims>();

  constructor(private readonly max = 200_000) {}

  get(token: string, nowMs: number): AccessClaims | null {
    const claims = this.entries.get(token);
    if (!claims) return null;
    // Same expiry rule as the full check: refused from exp + skew on.
    if (nowMs >= (claims.expiresAt + CLOCK_SKEW_SECONDS) * 1000) {
      this.entries.delete(token);
      return null;
    }
    return claims;
  }

  set(token: string, claims: AccessClaims, nowMs: number): void {
    if (nowMs >= (claims.expiresAt + CLOCK_SKEW_SECONDS) * 1000) return;
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, claims);
  }
}

const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An HS256 compact JWS, signed synchronously. WebCrypto's `sign` (what jose's SignJWT calls) hands
 * every HMAC to libuv's thread pool: on a busy core the hop costs more than the HMAC. The output
 * is byte-identical to SignJWT's for the same header and claims (tokens.test.ts checks it), and
 * every token is still verified by jose.
 */
export function signHs256(key: KeyObject, header: object, claims: object): string {
  const input = `${segment(header)}.${segment(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** A verification key: signing goes through signHs256 with a KeyObject, never through these. */
async function importVerificationKey(secret: Uint8Array): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
}

export async function createTokenIssuer(
  config: Pick<Config, 'jwt' | 'accessTokenTtl'>,
  now: () => number = Date.now,
): Promise<TokenIssuer> {
  const { issuer, audience } = config.jwt;
  const ttl = config.accessTokenTtl;
  const signingKey = createSecretKey(config.jwt.signing.secret);
  const keys = new Map<string, webcrypto.CryptoKey>();
  for (const key of config.jwt.verification) {
    if (!keys.has(key.kid)) keys.set(key.kid, await importVerificationKey(key.secret));
  }
  const kid = config.jwt.signing.kid;
  const verified = new VerifiedTokens();

  return {
    sign(userId, sessionId, amr = PASSWORD_AMR) {
      const iat = Math.floor(now() / 1000);
      const token = signHs256(
        signingKey,
        { alg: 'HS256', typ: 'at+jwt', kid },
        {
          sid: sessionId,
          iss: issuer,
          aud: audience,
          sub: userId,
          jti: randomUUID(),
          iat,
          exp: iat + ttl,
          amr,
        },
      );
      return Promise.resolve({ token, expiresIn: ttl });
    },

    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return null;
      const nowMs = now();
      const known = verified.get(token, nowMs);
      if (known) return known;
      if (!token.split('.').every(isCanonicalSegment)) return null;
      try {
        const header = decodeProtectedHeader(token);
        // kid only ever selects among our own keys; jku/x5u/jwk are never consulted.
        if (header.alg !== 'HS256' || typeof header.kid !== 'string') return null;
        const key = keys.get(header.kid);
        if (!key) return null;
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          typ: 'at+jwt',
          issuer,
          audience,
          requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp'],
          maxTokenAge: ttl + CLOCK_SKEW_SECONDS,
          clockTolerance: CLOCK_SKEW_SECONDS,
          currentDate: new Date(now()),
        });
        const { sub, sid, jti, iat, exp } = payload;
        if (
          typeof sub !== 'string' ||
          typeof sid !== 'string' ||
          typeof jti !== 'string' ||
          !UUID.test(sub) ||
          !UUID.test(sid) ||
          !Number.isSafeInteger(iat) ||
          !Number.isSafeInteger(exp) ||
          iat === undefined ||
          exp === undefined ||
          exp <= iat ||
          exp - iat > ttl ||
          iat > Math.floor(now() / 1000) + CLOCK_SKEW_SECONDS
        ) {
          return null;
        }
        const claims = { userId: sub, sessionId: sid, jti, expiresAt: exp };
        verified.set(token, claims, nowMs);
        return claims;
      } catch {
        // jose errors, TypeErrors from odd headers, JSON errors: all the same refusal.
        return null;
      }
    },
  };
}
