import { createHash, hkdfSync } from 'node:crypto';

/** An AES-256-GCM key for TOTP secrets at rest, named by a digest that reveals nothing of it. */
export interface BoxKey {
  kid: string;
  key: Buffer;
}

export interface MfaKeyRing {
  /** The first key seals; every key opens what it sealed (selected by `kid`). */
  keys: BoxKey[];
  /** Where the sealing key came from, for the start-up log and the README. */
  source: 'MFA_ENCRYPTION_KEY' | 'JWT_SECRET';
}

const HKDF_SALT = 'latchkey';
const HKDF_INFO = 'latchkey mfa secret box v1';

/**
 * 32 bytes for AES-256 from any configured key (UTF-8 bytes of the variable, ≥ 32 bytes and held
 * to the signing key's strength rules by config.ts), through HKDF-SHA-256 with a purpose label:
 * the same JWT_SECRET yields unrelated signing and encryption keys.
 */
export function deriveBoxKey(secret: Uint8Array): BoxKey {
  const key = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32));
  const kid = createHash('sha256')
    .update('latchkey-mfa-kid\0')
    .update(key)
    .digest('base64url')
    .slice(0, 12);
  return { kid, key };
}

/**
 * The key ring: MFA_ENCRYPTION_KEY when set (then MFA_PREVIOUS_ENCRYPTION_KEYS), otherwise a key
 * derived from JWT_SECRET. Keys derived from the JWT keys (current and previous) always stay on the
 * ring for opening only, so moving from the derived key to a separate one, or rotating JWT_SECRET
 * the documented way, never makes a stored secret unreadable; `pnpm latchkey mfa rewrap` then
 * re-seals every secret with the current key so the old ones can be dropped.
 */
export function mfaKeyRing(
  explicit: readonly Uint8Array[],
  jwtSecrets: readonly Uint8Array[],
): MfaKeyRing {
  const keys: BoxKey[] = [];
  const add = (key: BoxKey) => {
    if (!keys.some((k) => k.kid === key.kid)) keys.push(key);
  };
  for (const secret of explicit) add(deriveBoxKey(secret));
  for (const secret of jwtSecrets) add(deriveBoxKey(secret));
  return { keys, source: explicit.length > 0 ? 'MFA_ENCRYPTION_KEY' : 'JWT_SECRET' };
}
