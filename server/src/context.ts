import type { Deps } from './deps.ts';

/** The raw facts of one request that procedures may rely on; nothing here is trusted yet. */
export interface RequestFacts {
  /** Every Authorization header value received (more than one is refused). */
  authorization: string[];
  /** The refresh token from the `__Host-latchkey_rt` cookie, if any. */
  refreshToken: string | null;
  clientAddress: string | null;
  userAgent: string | null;
  origin: string | null;
  secFetchSite: string | null;
  csrfHeader: string | null;
  contentType: string | null;
  /** The id this request's log lines and its `X-Request-Id` response header carry. */
  requestId: string | null;
}

/**
 * What a procedure may do to its response, without seeing the HTTP response object: the HTTP
 * layer implements it (http/cookies.ts refreshCookieSink) and decides how the cookie is written.
 */
export interface ResponseSink {
  /** Sets the refresh-token cookie, valid for `maxAgeSeconds`. */
  setRefreshToken(token: string, maxAgeSeconds: number): void;
  /** Tells the client to drop its refresh-token cookie. */
  clearRefreshToken(): void;
}

export interface Context {
  deps: Deps;
  req: RequestFacts;
  res: ResponseSink;
}

export type BearerToken = { kind: 'none' } | { kind: 'token'; token: string } | { kind: 'invalid' };

/**
 * Reads the bearer token as the contract defines it: `Bearer <token>` (scheme case-insensitive),
 * from exactly one Authorization header. Other schemes are no bearer token at all; an empty token
 * or a duplicated header is a presented token that will not verify.
 */
export function bearerToken(authorization: string[]): BearerToken {
  if (authorization.length === 0) return { kind: 'none' };
  if (authorization.length > 1) return { kind: 'invalid' };
  const value = authorization[0] ?? '';
  const match = /^bearer(?:[ \t]+(.*))?$/is.exec(value.trim());
  if (!match) return { kind: 'none' };
  const token = (match[1] ?? '').trim();
  return token === '' ? { kind: 'invalid' } : { kind: 'token', token };
}
