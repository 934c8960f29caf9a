import { createHmac, randomInt } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** 16 symbols × 5 bits = 80 random bits per code (the contract asks for at least 50). */
const LENGTH = 16;
const SEPARATORS = /[\s_-]+/g;

/** Ten fresh codes, shown as `xxxx-xxxx-xxxx-xxxx`. */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const symbols = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]);
    return symbols.join('').replace(/(.{4})(?!$)/g, '$1-');
  });
}

/**
 * A recovery code as typed, in its one canonical form: separators and case ignored, and the
 * letters Crockford's alphabet leaves out read as the digits they look like. Null when it cannot
 * be a recovery code at all.
 */
export function canonicalRecoveryCode(input: string): string | null {
  const code = input.replace(SEPARATORS, '').toLowerCase().replace(/o/g, '0').replace(/[il]/g, '1');
  if (code.length !== LENGTH || [...code].some((c) => !ALPHABET.includes(c))) return null;
  return code;
}

/**
 * What is stored for a code: HMAC-SHA-256 keyed with the user's id. A code carries 80 random bits,
 * so no slow hash is needed to keep it from being guessed offline (2^80 tries), and a fast one keeps
 * ten hashes per regeneration cheap and a lookup one indexed equality; the key makes the hash one
 * user's, so equal codes of two users never share a row and a hash cannot be moved between them.
 */
export function hashRecoveryCode(userId: string, canonical: string): string {
  return createHmac('sha256', userId).update(canonical).digest('base64url');
}
