import { generateRegistrationOptions, verifyRegistrationResponse } from '@simplewebauthn/server';
import { decodeClientDataJSON, isoBase64URL } from '@simplewebauthn/server/helpers';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { auditedTransaction } from '../audit/audit.service.ts';
import { passwordStepUp } from '../auth/step-up.ts';
import type { Deps } from '../deps.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import { generateRefreshToken as generateOpaqueToken } from '../sessions/refresh-token.ts';
import type { UserRecord } from '../users/user.repository.ts';
import { defaultPasskeyName } from './authenticator-names.ts';
import {
  deletePasskey,
  ensureUserHandle,
  insertChallenge,
  insertPasskey,
  listCredentialDescriptors,
  renamePasskey,
  takeRegistrationChallenge,
  type PasskeySummary,
} from './passkey.repository.ts';
import { CHALLENGE_TTL_SECONDS, relyingParty, SUPPORTED_ALGORITHMS } from './relying-party.ts';

/**
 * The creation options as the API types them: without `extensions` (only `credProps`, set by the
 * library), whose binary PRF inputs tRPC's inferred output would mangle into a type
 * `startRegistration` does not take.
 */
export type CreationOptions = Omit<PublicKeyCredentialCreationOptionsJSON, 'extensions'>;

/** Passkeys one user may hold: bounded per-user state, generous for real use. */
export const MAX_PASSKEYS = 25;

/** The challenge a client sent back inside its clientDataJSON; null when that does not parse. */
function clientChallenge(clientDataJSON: string): string | null {
  try {
    const { challenge } = decodeClientDataJSON(clientDataJSON);
    return typeof challenge === 'string' ? challenge : null;
  } catch {
    return null;
  }
}

function who(user: UserRecord, meta: ClientMeta) {
  return { userId: user.id, username: user.username, ...meta };
}

/**
 * `passkeys.registerOptions`: a fresh challenge (replacing the user's earlier one) and the
 * creation options: the user's opaque handle, a discoverable credential, and every passkey the
 * user holds already excluded, so one authenticator registers once.
 */
export async function registrationOptions(deps: Deps, user: UserRecord): Promise<CreationOptions> {
  const rp = relyingParty(deps);
  const now = deps.now();
  const handle = await ensureUserHandle(deps.db, user.id, generateOpaqueToken());
  const existing = await listCredentialDescriptors(deps.db, user.id);
  const challenge = generateOpaqueToken();
  await insertChallenge(
    deps.db,
    {
      id: generateOpaqueToken(),
      challenge,
      userId: user.id,
      expiresAt: new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000),
    },
    now,
  );
  const options: CreationOptions = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.username,
    userDisplayName: user.username,
    userID: isoBase64URL.toBuffer(handle),
    challenge: isoBase64URL.toBuffer(challenge),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
  });
  return options;
}

type RegisterFailure = 'REGISTRATION_FAILED' | 'PASSKEY_TAKEN' | 'PASSKEY_LIMIT';

/**
 * `passkeys.register`: takes the user's live challenge that the response answers (single use,
 * whatever the outcome), verifies the attestation for this RP ID and origin, and stores the
 * credential with its `passkey.added` event in one transaction.
 */
export async function registerPasskey(
  deps: Deps,
  user: UserRecord,
  input: { response: RegistrationResponseJSON; name?: string | undefined },
  meta: ClientMeta,
): Promise<Result<PasskeySummary, RegisterFailure>> {
  const rp = relyingParty(deps);
  const challenge = clientChallenge(input.response.response.clientDataJSON);
  const now = deps.now();
  if (challenge === null || !(await takeRegistrationChallenge(deps.db, user.id, challenge, now))) {
    return fail('REGISTRATION_FAILED');
  }
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response: { ...input.response, clientExtensionResults: {} },
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
  } catch {
    // The library throws on anything malformed or mismatched; the reason is not the client's.
    return fail('REGISTRATION_FAILED');
  }
  if (!verification.verified) return fail('REGISTRATION_FAILED');
  const info = verification.registrationInfo;
  const { credential } = info;
  return auditedTransaction(deps, async (trx, trail) => {
    const stored = await insertPasskey(
      trx,
      {
        id: credential.id,
        userId: user.id,
        publicKey: credential.publicKey,
        counter: credential.counter,
        transports: credential.transports ?? [],
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        aaguid: info.aaguid,
        name: input.name ?? defaultPasskeyName(info.aaguid, info.credentialDeviceType),
      },
      MAX_PASSKEYS,
      trail.now,
    );
    if (stored.added === null) return fail(stored.taken ? 'PASSKEY_TAKEN' : 'PASSKEY_LIMIT');
    await trail.record({ event: 'passkey.added', reason: stored.added.id, ...who(user, meta) });
    return ok(stored.added);
  });
}

export async function renameUserPasskey(
  deps: Deps,
  user: UserRecord,
  input: { id: string; name: string },
  meta: ClientMeta,
): Promise<Result<true, 'UNKNOWN_PASSKEY'>> {
  return auditedTransaction(deps, async (trx, trail) => {
    if (!(await renamePasskey(trx, user.id, input.id, input.name))) return fail('UNKNOWN_PASSKEY');
    await trail.record({ event: 'passkey.renamed', reason: input.id, ...who(user, meta) });
    return ok(true as const);
  });
}

/** `passkeys.remove`, after the password again (a wrong one counts toward the lockout). */
export async function removeUserPasskey(
  deps: Deps,
  user: UserRecord,
  input: { id: string; password: string },
  meta: ClientMeta,
): Promise<Result<true, 'THROTTLED' | 'WRONG_PASSWORD' | 'UNKNOWN_PASSKEY'>> {
  const checked = await passwordStepUp(deps, user, input.password, meta);
  if (!checked.ok) return checked;
  await checked.value.succeeded();
  const removed = await auditedTransaction(deps, async (trx, trail) => {
    if (!(await deletePasskey(trx, user.id, input.id))) return false;
    await trail.record({ event: 'passkey.removed', reason: input.id, ...who(user, meta) });
    return true;
  });
  return removed ? ok(true as const) : fail('UNKNOWN_PASSKEY');
}
