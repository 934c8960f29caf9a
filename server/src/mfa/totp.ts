import { Secret, TOTP } from 'otpauth';

/**
 * RFC 6238 as authenticator apps expect it (HMAC-SHA-1, 6 digits, 30 s), through `otpauth`
 * (decision 009): HOTP truncation, base32 and the `otpauth://` URL are its, not ours.
 */
const PARAMS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
export const TOTP_PERIOD_SECONDS = PARAMS.period;
/** 160 bits, RFC 4226's recommended length and the contract's minimum. */
const SECRET_BYTES = 20;
const TOTP_CODE = /^\d{6}$/;

/** A new secret in unpadded base32, from the platform's CSPRNG. */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** `otpauth://totp/<issuer>:<username>?issuer=…&secret=…&algorithm=SHA1&digits=6&period=30`. */
export function otpauthUrl(issuer: string, username: string, secret: string): string {
  return new TOTP({
    issuer,
    label: username,
    secret: Secret.fromBase32(secret),
    ...PARAMS,
  }).toString();
}

/** The time step `nowMs` falls in. */
export function stepAt(nowMs: number): number {
  return Math.floor(nowMs / 1000 / PARAMS.period);
}

export function isTotpCode(code: string): boolean {
  return TOTP_CODE.test(code);
}

/**
 * The step a code belongs to when it is valid for the current step or one either side, else null.
 * Whether that step was already used is the caller's check (the stored last step).
 */
export function matchTotp(secret: string, code: string, nowMs: number): number | null {
  if (!isTotpCode(code)) return null;
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secret),
    timestamp: nowMs,
    window: 1,
    ...PARAMS,
  });
  return delta === null ? null : stepAt(nowMs) + delta;
}

/** The code for `nowMs` (tests and tools; the server never sends a code anywhere). */
export function totpCodeAt(secret: string, nowMs: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: nowMs, ...PARAMS });
}
