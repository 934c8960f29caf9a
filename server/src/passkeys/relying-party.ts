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

/** The relying party is PUBLIC_URL (CONTRACT.md): its host the RP ID, its origin the only origin. */
export function relyingParty(deps: Deps): RelyingParty {
  const origin = deps.publicOrigin();
  return { id: new URL(origin).hostname, origin, name: deps.config.mfa.issuer };
}
