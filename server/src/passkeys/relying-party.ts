import type { Deps } from '../deps.ts';

/** A ceremony's challenge lives this long (the contract's ceiling), and so does its browser dialog. */
export const CHALLENGE_TTL_SECONDS = 300;

/** Public-key algorithms offered at registration: ES256, EdDSA, RS256 (the contract's order). */
export const SUPPORTED_ALGORITHMS = [-7, -8, -257];

export interface RelyingParty {
  /** RP ID: the host of PUBLIC_URL. */
  id: string;
  /** The only origin an assertion or attestation may come from. */
  origin: string;
  /** Shown by the browser's passkey dialogs (MFA_ISSUER). */
  name: string;
}

/** Loopback addresses as URL hostnames: browsers refuse an IP address as RP ID. */
const LOOPBACK = new Set(['127.0.0.1', '[::1]']);

/**
 * The relying party is PUBLIC_URL (CONTRACT.md): its host the RP ID, its origin the only origin.
 * Without PUBLIC_URL the server's own address stands in, and a loopback address becomes
 * `localhost` (same port), so that passkeys work at http://localhost:3000 out of the box.
 */
export function relyingParty(deps: Deps): RelyingParty {
  const url = new URL(deps.publicOrigin());
  if (!deps.config.publicUrlConfigured && LOOPBACK.has(url.hostname)) url.hostname = 'localhost';
  return { id: url.hostname, origin: url.origin, name: deps.config.mfa.issuer };
}
