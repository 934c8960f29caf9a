import type { Deps } from '../deps.ts';
import type { Hashing } from './password.ts';

/**
 * Password work: every operation that hashes or verifies a password — sign-in, registration, a
 * password change, an operator's create and set-password — goes through `withPasswordWork`, and
 * nothing else asks the hasher for a turn. The rule, in one place:
 *
 * 1. Admission. An operation is admitted for its whole length (database work included) or refused
 *    at once with OverloadedError when as many are in progress as hashing can run plus queue
 *    (PasswordHasher.admit), so a flood is shed before it costs any database work.
 * 2. Turns. Inside, `turn` runs the reads that decide what to hash and the hashing in one turn
 *    (PasswordHasher.withTurn); one that waited too long for it is refused then, having touched
 *    nothing.
 * 3. The answer. OverloadedError is a public BUSY failure: 503 with Retry-After (public-errors.ts
 *    maps it, for tRPC and REST alike).
 * 4. Before any of it, over HTTP: a procedure declared with `.meta(PASSWORD_WORK)` is answered
 *    that 503 without its body being read while hashing is saturated (http/trpc-fast.ts,
 *    shedPasswordRequest), and the connection's next request waits a little (http/hold.ts).
 */
export interface PasswordWork {
  /** One turn of hashing, with the reads that decide it (see PasswordHasher.withTurn). */
  turn<T>(work: (hashing: Hashing) => Promise<T>): Promise<T>;
  /** One hash in a turn of its own, for work that follows a verification (a rehash, a new hash). */
  hash(password: string): Promise<string>;
}

/** Procedure metadata (trpc.ts): true on every procedure whose call does password work. */
export interface PasswordWorkMeta {
  passwordWork?: boolean;
}

/** `.meta(PASSWORD_WORK)` on a procedure that hashes: it is shed first under a flood. */
export const PASSWORD_WORK = { passwordWork: true } as const satisfies PasswordWorkMeta;

/** Runs one password operation under admission (rule 1); throws OverloadedError when refused. */
export async function withPasswordWork<T>(
  deps: Deps,
  operation: (work: PasswordWork) => Promise<T>,
): Promise<T> {
  const release = deps.hasher.admit();
  try {
    return await operation({
      turn: (work) => deps.hasher.withTurn(work),
      hash: (password) => deps.hasher.hash(password),
    });
  } finally {
    release();
  }
}

/** True when a password operation would be refused right now (rule 4). */
export function passwordWorkSaturated(deps: Deps): boolean {
  return deps.hasher.saturated();
}
