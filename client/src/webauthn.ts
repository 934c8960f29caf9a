import type { AppRouter } from '@latchkey/server';
import {
  startAuthentication,
  startRegistration,
  type AuthenticationExtensionsClientInputs,
  type AuthenticationExtensionsClientOutputs,
} from '@simplewebauthn/browser';
import { isTRPCClientError } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { describeError } from './errors.ts';

type RouterOutputs = inferRouterOutputs<AppRouter>;
type CreationOptions = RouterOutputs['passkeys']['registerOptions'];
type RequestOptions = RouterOutputs['passkeys']['loginOptions']['options'];

/**
 * tRPC types an output as its JSON form, and @simplewebauthn types the PRF extension's inputs as
 * buffers, whose JSON form TypeScript cannot map back. The options are JSON on the wire and the
 * server asks for no PRF, so only the type of `extensions` is restated; nothing is converted.
 */
function clientExtensions(extensions: object | undefined) {
  return extensions as AuthenticationExtensionsClientInputs | undefined;
}

/** The browser's extension outputs as the server's schema takes them: an open record. */
function openRecord(results: AuthenticationExtensionsClientOutputs): Record<string, unknown> {
  return { ...results };
}

/** The browser's registration ceremony for the server's creation options. */
export async function createPasskey({ extensions, ...options }: CreationOptions) {
  const optionsJSON = { ...options, extensions: clientExtensions(extensions) };
  const response = await startRegistration({ optionsJSON });
  return { ...response, clientExtensionResults: openRecord(response.clientExtensionResults) };
}

/** The browser's authentication ceremony: modal, or waiting in the username field's autofill. */
export async function getPasskey({ extensions, ...options }: RequestOptions, autofill: boolean) {
  const optionsJSON = { ...options, extensions: clientExtensions(extensions) };
  const response = await startAuthentication({ optionsJSON, useBrowserAutofill: autofill });
  return { ...response, clientExtensionResults: openRecord(response.clientExtensionResults) };
}

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
