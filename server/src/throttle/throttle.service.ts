import { clientNetwork } from '../ip-address.ts';
import type { Deps } from '../deps.ts';
import type { UserCredentialRecord } from '../users/user.repository.ts';
import {
  countAttempt,
  countAttemptAndFindUser,
  MAX_STRIKES,
  refundAttempt,
  settleAttempts,
  type AttemptOutcome,
  type ThrottleKey,
} from './throttle.repository.ts';

export interface ThrottleVerdict {
  allowed: boolean;
  /** Seconds until the lock that refused this attempt ends (0 when allowed). */
  retryAfter: number;
  /** True for the one refusal that started a lockout: the one worth an audit event. */
  lockoutStarted: boolean;
}

export interface LoginVerdict extends ThrottleVerdict {
  /** Call after a successful login: clears the account's attempts, refunds the client's. */
  succeeded(): Promise<void>;
  /**
   * Call when the password verified but a second factor is still due: the client's hit is refunded
   * (the password was right), the account's stays until the second factor passes, so signing in
   * again never wipes the wrong codes counted against the account.
   */
  passwordVerified(): Promise<void>;
}

const accountKey = (username: string) => `user:${username}`;

/** The client's key: its IPv4 address or IPv6 /64, so rotating within one network gains nothing. */
function clientKey(deps: Deps, address: string | null): ThrottleKey | null {
  const network = address === null ? null : clientNetwork(address);
  if (deps.config.loginMaxPerClient === 0 || network === null) return null;
  return { key: `client:${network}`, limit: deps.config.loginMaxPerClient, maxStrikes: 0 };
}

function verdictOf(outcome: AttemptOutcome, now: Date): ThrottleVerdict {
  const ms = outcome.retryAt === null ? 0 : outcome.retryAt.getTime() - now.getTime();
  return {
    allowed: outcome.allowed,
    retryAfter: outcome.allowed ? 0 : Math.max(1, Math.ceil(ms / 1000)),
    lockoutStarted: outcome.lockoutStarted,
  };
}

/**
 * Counts a login attempt for the client address and the account (canonical username, existing or
 * not) before the password is checked, so parallel or batched guesses cannot overtake the limit,
 * and finds the user the attempt names (one statement). No span of LOGIN_LOCKOUT_SECONDS holds
 * more allowed attempts than a key's limit. The client is judged first: a client over its limit
 * leaves no trace under the usernames it tries. Accounts get progressive lockouts (a stranger can
 * lock one only window by window); clients a plain sliding window.
 */
export async function countLoginAttemptAndFindUser(
  deps: Deps,
  username: string,
  clientAddress: string | null,
): Promise<{ verdict: LoginVerdict; user: UserCredentialRecord | null; secondFactor: boolean }> {
  const { db, config } = deps;
  const now = deps.now();
  const account: ThrottleKey = {
    key: accountKey(username),
    limit: config.loginMaxFailures,
    maxStrikes: MAX_STRIKES,
  };
  const client = clientKey(deps, clientAddress);
  const keys = client ? [client, account] : [account];
  const counted = await countAttemptAndFindUser(
    db,
    username,
    keys,
    config.loginLockoutSeconds,
    now,
  );
  const verdict = {
    ...verdictOf(counted, now),
    succeeded: () => settleAttempts(db, account.key, client?.key ?? null, now),
    passwordVerified: () => (client ? refundAttempt(db, client.key, now) : Promise.resolve()),
  };
  return { verdict, user: counted.user, secondFactor: counted.secondFactor };
}

/** A client's attempt that can be taken back once it proves not to be a failure. */
export interface ClientVerdict extends ThrottleVerdict {
  /** Takes this attempt's hit back: it succeeded (a passkey sign-in that verified). */
  refund(): Promise<void>;
}

async function countClientKey(deps: Deps, client: ThrottleKey | null): Promise<ClientVerdict> {
  if (client === null) {
    return { allowed: true, retryAfter: 0, lockoutStarted: false, refund: () => Promise.resolve() };
  }
  const now = deps.now();
  const counted = await countAttempt(deps.db, [client], deps.config.loginLockoutSeconds, now);
  return { ...verdictOf(counted, now), refund: () => refundAttempt(deps.db, client.key, now) };
}

/**
 * Counts an attempt against the client address alone: a registration, a sign-in whose
 * credentials are malformed (no account can be named by them, so only the client is counted), or
 * a passkey sign-in (refunded when it verifies).
 */
export function throttleClient(deps: Deps, clientAddress: string | null): Promise<ClientVerdict> {
  return countClientKey(deps, clientKey(deps, clientAddress));
}

/** Challenges one client may ask for per allowed sign-in attempt (autofill asks on every visit). */
const CHALLENGES_PER_ATTEMPT = 10;
/** The throttle keeps a key's last `limit` hits; a thousand is as many as any key keeps. */
const MAX_CHALLENGE_LIMIT = 1_000;

/**
 * Counts a request for a passkey sign-in challenge, under its own key and a limit ten times the
 * client's sign-in limit (at most 1000): enough for every visit to the sign-in page, and a bound on the rows one
 * client can add to the challenge table before any of them expires.
 */
export function throttleChallengeRequests(
  deps: Deps,
  clientAddress: string | null,
): Promise<ClientVerdict> {
  const client = clientKey(deps, clientAddress);
  return countClientKey(
    deps,
    client && {
      key: `challenge:${client.key}`,
      limit: Math.min(client.limit * CHALLENGES_PER_ATTEMPT, MAX_CHALLENGE_LIMIT),
      maxStrikes: 0,
    },
  );
}
