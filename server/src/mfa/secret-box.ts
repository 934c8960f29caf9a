import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { MfaKeyRing } from './keys.ts';

/**
 * TOTP secrets at rest: AES-256-GCM under the ring's first key, a fresh 96-bit nonce per seal, the
 * user's id as associated data (a box copied onto another user's row does not open), stored as
 * `v1.<kid>.<nonce>.<ciphertext+tag>` (base64url). The server must read the secret to check codes,
 * so it cannot be hashed; sealed, a copy of the database alone yields no secret.
 */
const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const aad = (userId: string) => Buffer.from(`latchkey-totp\0${userId}`, 'utf8');

export function sealSecret(ring: MfaKeyRing, userId: string, secret: string): string {
  const key = ring.keys[0];
  if (!key) throw new Error('no MFA encryption key configured');
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce).setAAD(aad(userId));
  const sealed = Buffer.concat([
    cipher.update(secret, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  return [VERSION, key.kid, nonce.toString('base64url'), sealed.toString('base64url')].join('.');
}

export interface OpenedSecret {
  secret: string;
  /** Sealed with a key other than the current one: re-seal it (mfa rewrap, or on next use). */
  stale: boolean;
}

/** The secret in `box`, or null when no key on the ring opens it (or it was tampered with). */
export function openSecret(ring: MfaKeyRing, userId: string, box: string): OpenedSecret | null {
  const [version, kid, nonce, sealed, ...rest] = box.split('.');
  if (version !== VERSION || !kid || !nonce || !sealed || rest.length > 0) return null;
  const index = ring.keys.findIndex((k) => k.kid === kid);
  const key = ring.keys[index];
  if (!key) return null;
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length <= TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(nonce, 'base64url'), {
      authTagLength: TAG_BYTES,
    })
      .setAAD(aad(userId))
      .setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return { secret: plain.toString('utf8'), stale: index !== 0 };
  } catch {
    return null;
  }
}
