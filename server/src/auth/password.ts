import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { hashSync, parseOptions } from '@node-rs/argon2';
import type { Argon2Params } from '../config.ts';
import { HashPool } from './hash-pool.ts';
import { BoundedLimiter, OverloadedError, WaitEstimate } from './limiter.ts';

/** The hashing operations; on a PasswordHasher each one takes a turn of its own (see withTurn). */
export interface Hashing {
  hash(password: string): Promise<string>;
  /** True when `password` matches. A hash in an unknown format is a mismatch, never a throw. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Burns the same time as a real verify, for users that do not exist or may not sign in. */
  verifyDummy(password: string): Promise<void>;
}

export interface PasswordHasher extends Hashing {
  /**
   * Runs `work` — the database reads that decide what to hash, then the hashing, through the
   * `Hashing` it is given — in one turn. Turns go in order, a few more at once than there are
   * threads, so one turn's database work overlaps another's hash and no thread waits for it. An
   * operation that has waited longer than the configured maximum for its turn is refused then
   * with OverloadedError, before `work` starts: a refusal has touched nothing.
   */
  withTurn<T>(work: (hashing: Hashing) => Promise<T>): Promise<T>;
  needsRehash(hash: string): boolean;
  /**
   * Admits one password operation (a login, a registration) for its whole length, database work
   * included; throws OverloadedError at once when as many are already in progress as hashing can
   * run plus queue, so a flood is shed before it costs any database work. Returns the release.
   */
  admit(): () => void;
  /** True when admit() would throw right now. */
  saturated(): boolean;
  /** The hashing threads started so far: kernel thread id and niceness. */
  threads(): Promise<Array<{ tid: number | null; nice: number }>>;
  /** Stops the hashing threads once their jobs in progress end (after at most `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

/** argon2id in the PHC format, version 0x13. */
const ARGON2ID = 2;
const VERSION_0X13 = 1;

export interface HasherOptions {
  /** Hashing threads (0 = one per core the process may use). */
  concurrency?: number;
  /** Password operations allowed to wait for a turn. */
  queueLimit?: number;
  /** Niceness of the hashing threads (0–19): higher leaves more of a busy core to requests. */
  nice?: number;
  /**
   * The longest an operation should wait. Newcomers are refused at once when recent jobs say they
   * would wait longer; one that has waited longer anyway (the machine slowed after it was admitted)
   * is refused when its turn comes, before it does anything.
   */
  maxWaitMs?: number;
}

export async function createPasswordHasher(
  params: Argon2Params,
  { concurrency = 0, queueLimit = 64, nice = 0, maxWaitMs = 3000 }: HasherOptions = {},
): Promise<PasswordHasher> {
  const threads = concurrency > 0 ? concurrency : Math.max(1, availableParallelism());
  // One turn per thread hashing and one per thread preparing the next job.
  const turns = new BoundedLimiter(2 * threads, queueLimit, maxWaitMs);
  const wait = new WaitEstimate(threads);
  const pool = new HashPool(threads, nice, params, (ms) => wait.record(ms));
  const maxAdmitted = threads + queueLimit;
  let admitted = 0;
  const saturated = () => admitted >= maxAdmitted || wait.expectedMs(admitted) > maxWaitMs;
  // Computed once, here, so the first unknown-user login costs what every later one does.
  const dummyHash = hashSync(randomBytes(32).toString('base64url'), {
    ...params,
    algorithm: ARGON2ID,
  });
  const hashing: Hashing = {
    hash: (password) => pool.hash(password),
    verify: (hash, password) => pool.verify(hash, password),
    verifyDummy: async (password) => {
      await pool.verify(dummyHash, password);
    },
  };
  const withTurn = <T>(work: (h: Hashing) => Promise<T>) => turns.run(() => work(hashing));
  return Promise.resolve({
    withTurn,
    hash: (password) => withTurn((h) => h.hash(password)),
    verify: (hash, password) => withTurn((h) => h.verify(hash, password)),
    verifyDummy: (password) => withTurn((h) => h.verifyDummy(password)),
    saturated,
    admit: () => {
      if (saturated()) throw new OverloadedError(1);
      admitted++;
      let released = false;
      return () => {
        if (!released) admitted--;
        released = true;
      };
    },
    needsRehash: (hash) => {
      try {
        const o = parseOptions(hash);
        return (
          !hash.startsWith('$argon2id$') ||
          (o.algorithm as number) !== ARGON2ID ||
          (o.version as number) !== VERSION_0X13 ||
          o.memoryCost !== params.memoryCost ||
          o.timeCost !== params.timeCost ||
          o.parallelism !== params.parallelism
        );
      } catch {
        return true;
      }
    },
    threads: () => pool.threadInfo(),
    close: (graceMs) => pool.close(graceMs),
  });
}
