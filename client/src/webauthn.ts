import { isTRPCClientError } from '@trpc/client';
import { describeError } from './errors.ts';

/**
 * True when the browser's passkey dialog ended without a credential: the user closed it, it timed
 * out (browsers report both as `NotAllowedError`, on purpose indistinguishable) or the page
 * aborted it for another ceremony. Nothing went wrong; the page just carries on.
 */
export function isCeremonyCancelled(error: unknown): boolean {
  return (
    error instanceof Error && (error.name === 'NotAllowedError' || error.name === 'AbortError')
  );
}

/** What to show for a failed passkey ceremony: the server's own words, else the browser's problem. */
export function describePasskeyError(error: unknown): string {
  if (isTRPCClientError(error)) return describeError(error).message;
  if (error instanceof Error && error.name === 'InvalidStateError') {
    // Registration's excludeCredentials matched: this authenticator already holds one of the user's.
    return 'This device already holds one of your passkeys.';
  }
  if (error instanceof Error && error.name === 'SecurityError') {
    return 'This browser refused the passkey request for this address.';
  }
  return 'This browser could not complete the passkey request. Try again or use your password.';
}
