import {
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { recordEvent } from '../audit/audit.service.ts';
import { PASSKEY_PRESENCE_AMR, PASSKEY_VERIFIED_AMR } from '../auth/tokens.ts';
import type { Deps } from '../deps.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import { generateRefreshToken as generateOpaqueToken } from '../sessions/refresh-token.ts';
import { startSession, type IssuedSession } from '../sessions/session.service.ts';
import { throttleChallengeRequests, throttleClient } from '../throttle/throttle.service.ts';
import {
  findCredential,
  insertChallenge,
  recordUse,
  takeSignInChallenge,
  type StoredCredential,
} from './passkey.repository.ts';
import { CHALLENGE_TTL_SECONDS, relyingParty } from './relying-party.ts';

/** The request options as the API types them: without `extensions` (see CreationOptions). */
export type RequestOptions = Omit<PublicKeyCredentialRequestOptionsJSON, 'extensions'>;

/**
 * `passkeys.loginOptions`: a challenge any instance can check, for a discoverable credential
 * (empty `allowCredentials`: the authenticator offers its passkeys for this RP ID, the user picks
 * one, and the user handle names the account). Counted per client under a generous limit, since
 * each one is a row until it is used or expires.
 */
export async function signInOptions(
  deps: Deps,
  meta: ClientMeta,
): Promise<Result<{ challengeId: string; options: RequestOptions }, 'THROTTLED'>> {
  const verdict = await throttleChallengeRequests(deps, meta.clientAddress);
  if (!verdict.allowed) return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  const now = deps.now();
  const challengeId = generateOpaqueToken();
  const challenge = generateOpaqueToken();
  const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000);
  await insertChallenge(deps.db, { id: challengeId, challenge, userId: null, expiresAt }, now);
  const options: RequestOptions = await generateAuthenticationOptions({
    rpID: relyingParty(deps).id,
    allowCredentials: [],
    challenge: isoBase64URL.toBuffer(challenge),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    userVerification: 'preferred',
  });
  return ok({ challengeId, options });
}

/** Why an assertion was refused, for the audit trail (the client hears `Passkey not recognised`). */
type Refusal =
  | 'passkey_challenge'
  | 'passkey_unknown'
  | 'passkey_user_handle'
  | 'passkey_signature'
  | 'passkey_counter'
  | 'disabled';

/** Verifies the assertion against the stored credential; the reason it fails, or the result. */
async function verifyAssertion(
  deps: Deps,
  response: AuthenticationResponseJSON,
  challenge: string,
  stored: StoredCredential,
): Promise<Result<{ counter: number; backedUp: boolean; userVerified: boolean }, Refusal>> {
  // A discoverable credential must say whose it is, and say it right.
  if (response.response.userHandle !== stored.handle) return fail('passkey_user_handle');
  const rp = relyingParty(deps);
  try {
    const { verified, authenticationInfo: info } = await verifyAuthenticationResponse({
      response: { ...response, clientExtensionResults: {} },
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      // Zero: the counter is judged below, after the signature, so that only a genuine
      // signature with a stale counter is reported as a possible clone.
      credential: { id: stored.id, publicKey: stored.publicKey, counter: 0 },
      requireUserVerification: false,
    });
    if (!verified) return fail('passkey_signature');
    return ok({
      counter: info.newCounter,
      backedUp: info.credentialBackedUp,
      userVerified: info.userVerified,
    });
  } catch {
    // Wrong origin, RP ID, challenge, type, flags or encoding: all one refusal to the client.
    return fail('passkey_signature');
  }
}

/**
 * `passkeys.login`: counted against the client's sign-in throttle before anything is looked at
 * (and refunded when it verifies), the challenge taken (single use, whatever the outcome), the
 * credential found by id, its user handle, signature, origin, RP ID and counter checked, then a
 * session whose tokens say `amr: ["hwk", "user"]` (or `["hwk"]` without user verification). A
 * passkey is a complete sign-in: no second factor follows.
 */
export async function signInWithPasskey(
  deps: Deps,
  input: { challengeId: string; response: AuthenticationResponseJSON },
  meta: ClientMeta,
): Promise<Result<IssuedSession, 'THROTTLED' | 'PASSKEY_NOT_RECOGNISED'>> {
  const verdict = await throttleClient(deps, meta.clientAddress);
  if (!verdict.allowed) {
    await recordEvent(
      deps,
      { event: 'login.throttled', reason: 'passkey', ...meta },
      { store: verdict.lockoutStarted },
    );
    return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  }
  const refuse = async (reason: Refusal, user?: StoredCredential) => {
    await recordEvent(deps, {
      event: 'login.failure',
      reason,
      userId: user?.userId ?? null,
      username: user?.username ?? null,
      ...meta,
    });
    return fail('PASSKEY_NOT_RECOGNISED');
  };
  const challenge = await takeSignInChallenge(deps.db, input.challengeId, deps.now());
  if (challenge === null) return refuse('passkey_challenge');
  const stored = await findCredential(deps.db, input.response.id);
  if (stored === null || input.response.rawId !== input.response.id) {
    return refuse('passkey_unknown');
  }
  const checked = await verifyAssertion(deps, input.response, challenge, stored);
  if (!checked.ok) return refuse(checked.code, stored);
  if (stored.disabled) return refuse('disabled', stored);
  const { counter, backedUp, userVerified } = checked.value;
  if (!(await recordUse(deps.db, stored.id, { counter, backedUp }, deps.now()))) {
    await recordEvent(deps, {
      event: 'passkey.counter_regressed',
      reason: stored.id,
      userId: stored.userId,
      username: stored.username,
      ...meta,
    });
    return refuse('passkey_counter', stored);
  }
  await verdict.refund();
  const user = { id: stored.userId, username: stored.username, createdAt: stored.createdAt };
  const session = await startSession(deps, user, meta, {
    withRefreshToken: true,
    amr: userVerified ? PASSKEY_VERIFIED_AMR : PASSKEY_PRESENCE_AMR,
    audit: {
      event: 'login.success',
      reason: 'passkey',
      userId: user.id,
      username: user.username,
      ...meta,
    },
  });
  return session ? ok(session) : refuse('disabled', stored);
}
