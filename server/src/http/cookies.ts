import { REFRESH_COOKIE } from '@latchkey/shared';
import type { ResponseSink } from '../context.ts';

const ATTRIBUTES = 'Path=/; HttpOnly; Secure; SameSite=Strict';

export function serializeRefreshCookie(token: string, maxAgeSeconds: number): string {
  return `${REFRESH_COOKIE}=${token}; ${ATTRIBUTES}; Max-Age=${maxAgeSeconds}`;
}

export function clearRefreshCookie(): string {
  return `${REFRESH_COOKIE}=; ${ATTRIBUTES}; Max-Age=0`;
}

/** The response sink that writes the refresh cookie as a Set-Cookie header through `append`. */
export function refreshCookieSink(append: (setCookie: string) => void): ResponseSink {
  return {
    setRefreshToken: (token, maxAgeSeconds) => append(serializeRefreshCookie(token, maxAgeSeconds)),
    clearRefreshToken: () => append(clearRefreshCookie()),
  };
}

/** The refresh token from a Cookie header; null when absent or present more than once. */
export function readRefreshCookie(header: string | undefined): string | null {
  if (!header) return null;
  let found: string | null = null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== REFRESH_COOKIE) continue;
    if (found !== null) return null;
    found = part.slice(eq + 1).trim();
  }
  return found === '' ? null : found;
}
