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

/** Lets a procedure add response headers (Set-Cookie) without seeing the HTTP response object. */
export interface ResponseSink {
  setCookie(cookie: string): void;
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
