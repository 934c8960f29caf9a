import type { Deps } from '../services.ts';
import type { UserCredentialRecord } from '../users/user.repository.ts';
import {
  countAttempt,
  countLoginAttempt,
  settleAttempts,
  type CounterSpec,
  type WindowCount,
} from './throttle.repository.ts';

export interface ThrottleVerdict {
  allowed: boolean;
  /** Seconds until the window that refused this attempt has passed. */
  retryAfter: number;
  /** Call after a successful login: clears the account counter, refunds the client's. */
  succeeded(): Promise<void>;
}

const accountKey = (username: string) => `user:${username}`;
const clientKey = (address: string) => `client:${address}`;

function secondsLeft(count: WindowCount, now: Date): number {
  const ms = count.windowStart.getTime() + count.windowSeconds * 1000 - now.getTime();
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * Counts a login attempt for the account (canonical username, existing or not) and the client
 * address before the password is checked, so parallel or batched guesses cannot overtake the
 * limit, and finds the user the attempt names (one statement). Counters live in the database,
 * shared by every instance.
 */
export async function throttleLogin(
  deps: Deps,
  username: string,
  clientAddress: string | null,
): Promise<{ verdict: ThrottleVerdict; user: UserCredentialRecord | null }> {
  const { db, config } = deps;
  const now = deps.now();
  const window = config.loginLockoutSeconds;
  // Accounts get progressive lockouts (a stranger can lock one only window by window);
  // client addresses a plain fixed window.
  const account: CounterSpec = {
    key: accountKey(username),
    windowSeconds: window,
    limit: config.loginMaxFailures,
    progressive: true,
  };
  const client: CounterSpec | null =
    config.loginMaxPerClient > 0 && clientAddress !== null
      ? {
          key: clientKey(clientAddress),
          windowSeconds: window,
          limit: config.loginMaxPerClient,
          progressive: false,
        }
      : null;
  const counted = await countLoginAttempt(db, username, account, client, now);
  const waits: number[] = [];
  if (counted.account.attempts > account.limit) waits.push(secondsLeft(counted.account, now));
  if (client && counted.client && counted.client.attempts > client.limit) {
    waits.push(secondsLeft(counted.client, now));
  }
  const verdict = {
    allowed: waits.length === 0,
    retryAfter: Math.max(0, ...waits),
    succeeded: () => settleAttempts(db, account.key, client?.key ?? null),
  };
  return { verdict, user: counted.user };
}

/** Counts a registration against the client address; returns seconds to wait, or 0 if allowed. */
export async function throttleRegistration(
  deps: Deps,
  clientAddress: string | null,
): Promise<number> {
  const { config } = deps;
  if (config.loginMaxPerClient === 0 || clientAddress === null) return 0;
  const now = deps.now();
  const count = await countAttempt(
    deps.db,
    {
      key: clientKey(clientAddress),
      windowSeconds: config.loginLockoutSeconds,
      limit: config.loginMaxPerClient,
      progressive: false,
    },
    now,
  );
  return count.attempts > config.loginMaxPerClient ? secondsLeft(count, now) : 0;
}
