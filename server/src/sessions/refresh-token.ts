import { createHash, randomBytes } from 'node:crypto';

/** A new opaque refresh token: 256 bits from the CSPRNG, base64url (43 characters). */
export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Refresh tokens are stored and looked up only by this digest, never in the clear. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

const SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Cheap shape check before any database work. */
export function isWellFormedRefreshToken(token: string): boolean {
  return SHAPE.test(token);
}
