import type { Deps } from '../services.ts';
import {
  clearAttempts,
  countAttempt,
  refundAttempt,
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
 * limit. Counters live in the database, shared by every instance.
 */
export async function throttleLogin(
  deps: Deps,
  username: string,
  clientAddress: string | null,
): Promise<ThrottleVerdict> {
  const { db, config } = deps;
  const now = deps.now();
  const window = config.loginLockoutSeconds;
  // Accounts get progressive lockouts (a stranger can lock one only window by window);
  // client addresses a plain fixed window.
  const account = await countAttempt(
    db,
    accountKey(username),
    { windowSeconds: window, limit: config.loginMaxFailures, progressive: true },
    now,
  );
  const perClient =
    config.loginMaxPerClient > 0 && clientAddress !== null
      ? await countAttempt(
          db,
          clientKey(clientAddress),
          { windowSeconds: window, limit: config.loginMaxPerClient, progressive: false },
          now,
        )
      : null;
  const waits: number[] = [];
  if (account.attempts > config.loginMaxFailures) waits.push(secondsLeft(account, now));
  if (perClient && perClient.attempts > config.loginMaxPerClient) {
    waits.push(secondsLeft(perClient, now));
  }
  return {
    allowed: waits.length === 0,
    retryAfter: Math.max(0, ...waits),
    succeeded: async () => {
      await clearAttempts(db, accountKey(username));
      if (perClient) await refundAttempt(db, clientKey(clientAddress ?? ''));
    },
  };
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
    clientKey(clientAddress),
    {
      windowSeconds: config.loginLockoutSeconds,
      limit: config.loginMaxPerClient,
      progressive: false,
    },
    now,
  );
  return count.attempts > config.loginMaxPerClient ? secondsLeft(count, now) : 0;
}
