import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { dictionary } from '@zxcvbn-ts/language-common';
import type { Argon2Params } from '../config.ts';
import { BoundedLimiter, OverloadedError } from './limiter.ts';

const COMMON = new Set(
  dictionary['passwords-common'].filter((p) => p.length >= 8).map((p) => p.toLowerCase()),
);

/**
 * Why a new password is refused beyond the schema's structural rules (the configured minimum, the
 * NIST 800-63B-4 blocklist and context words), or null. `password` is already NFKC-normalised.
 */
export function passwordPolicyReason(
  password: string,
  username: string,
  minLength: number,
): string | null {
  if ([...password].length < minLength) return `Password must be at least ${minLength} characters`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'This password is too common; choose another';
  if (new Set(lower).size === 1) return 'This password repeats one character; choose another';
  if (lower === username || lower.includes(username) || lower.includes('latchkey')) {
    return 'This password contains the username or the service name; choose another';
  }
  return null;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when `password` matches. A hash in an unknown format is a mismatch, never a throw. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Burns the same time as a real verify, for users that do not exist or may not sign in. */
  verifyDummy(password: string): Promise<void>;
  needsRehash(hash: string): boolean;
  /**
   * Admits one password operation (a login, a registration) for its whole length, database work
   * included; throws OverloadedError at once when as many are already in progress as hashing can
   * run plus queue, so a flood is shed before it costs any database work. Returns the release.
   */
  admit(): () => void;
  /** True when admit() would throw right now. */
  saturated(): boolean;
}

export async function createPasswordHasher(
  params: Argon2Params,
  concurrency = 0,
  queueLimit = 64,
): Promise<PasswordHasher> {
  const options = { type: argon2.argon2id, ...params } as const;
  const limiter = new BoundedLimiter(
    concurrency > 0 ? concurrency : Math.max(1, availableParallelism()),
    queueLimit,
  );
  const maxAdmitted = limiter.concurrency + queueLimit;
  let admitted = 0;
  const dummyHash = await argon2.hash(randomBytes(32).toString('base64url'), options);
  const verify = (hash: string, password: string) =>
    limiter.run(async () => {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    });
  return {
    hash: (password) => limiter.run(() => argon2.hash(password, options)),
    verify,
    verifyDummy: async (password) => {
      await verify(dummyHash, password);
    },
    saturated: () => admitted >= maxAdmitted,
    admit: () => {
      if (admitted >= maxAdmitted) throw new OverloadedError(1);
      admitted++;
      let released = false;
      return () => {
        if (!released) admitted--;
        released = true;
      };
    },
    needsRehash: (hash) => {
      try {
        return argon2.needsRehash(hash, params);
      } catch {
        return true;
      }
    },
  };
}
