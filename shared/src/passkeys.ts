import { z } from 'zod';
import { loginPasswordSchema } from './credentials.ts';

/** Longest passkey name, in characters, after trimming. */
export const PASSKEY_NAME_MAX_LENGTH = 64;

/** A passkey's name as the user gives it: trimmed, 1–64 characters, no control characters. */
export const passkeyNameSchema = z
  .string()
  .trim()
  .min(1, 'Enter a name')
  .max(PASSKEY_NAME_MAX_LENGTH, `At most ${PASSKEY_NAME_MAX_LENGTH} characters`)
  // eslint-disable-next-line no-control-regex
  .refine((name) => !/[\u0000-\u001f\u007f-\u009f]/.test(name), 'No control characters');

/** base64url as WebAuthn's JSON encodings use it, bounded so no field can carry a large body. */
const base64url = (max: number) =>
  z
    .string()
    .max(max, 'Too long')
    .regex(/^[A-Za-z0-9_-]*$/, 'Not base64url');

/** Credential ids are at most 1023 bytes (WebAuthn L3), 1364 characters in base64url. */
const credentialId = base64url(1364).min(1, 'Missing credential id');

const credentialBase = {
  id: credentialId,
  rawId: credentialId,
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  // The server asks for no extension: whatever a browser reports is accepted and dropped.
  clientExtensionResults: z.custom<object>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    'Expected an object',
  ),
};

/** `RegistrationResponseJSON` as `startRegistration` returns it. */
export const registrationResponseSchema = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: base64url(8192),
    attestationObject: base64url(32768),
    authenticatorData: base64url(32768).optional(),
    transports: z.array(z.string().max(32)).max(16).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: base64url(8192).optional(),
  }),
});

/** `AuthenticationResponseJSON` as `startAuthentication` returns it. */
export const authenticationResponseSchema = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: base64url(8192),
    authenticatorData: base64url(8192),
    signature: base64url(2048),
    userHandle: base64url(128).optional(),
  }),
});

export const passkeyRegisterInputSchema = z.object({
  response: registrationResponseSchema,
  name: passkeyNameSchema.optional(),
});

/** A passkey's id as the list gives it (its credential id). */
const passkeyIdSchema = z.string().min(1).max(1364);

export const passkeyRenameInputSchema = z.object({ id: passkeyIdSchema, name: passkeyNameSchema });
export const passkeyRemoveInputSchema = z.object({
  id: passkeyIdSchema,
  password: loginPasswordSchema,
});

export const passkeyLoginInputSchema = z.object({
  challengeId: z.string().max(512, 'Passkey not recognised'),
  response: authenticationResponseSchema,
});
