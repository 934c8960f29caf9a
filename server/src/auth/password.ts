import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Argon2Params } from '../config.ts';
import { argon2Settings, dummyHash, needsRehash } from './argon2-params.ts';
import { HashPool, type Timed } from './hash-pool.ts';
import { BoundedLimiter, OverloadedError, WaitEstimate } from './limiter.ts';
import { VerifyTiming } from './verify-timing.ts';

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
   *
   * Every verification in the turn lasts at least as long as one at the slowest parameter set in
   * use (stored hashes and the current parameters); the wait that stretches a faster one comes
   * after the turn, so it holds no hashing thread.
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
  /**
   * The parameter sets whose verifications are made to last alike: the current one, those of the
   * stored hashes when the hasher was made, and any seen in a stored hash since.
   */
  parameterSets(): Argon2Params[];
  /** The hashing process's pool threads started so far: kernel thread id and niceness. */
  threads(): Promise<Array<{ tid: number | null; nice: number }>>;
  /** Stops the hashing process once its jobs in progress end (after at most `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

export interface HasherOptions {
  /** Hashing threads (0 = one per core the process may use). */
  concurrency?: number;
  /** Password operations allowed to wait for a turn. */
  queueLimit?: number;
  /** Niceness of the hashing process (0–19): higher leaves more of a busy core to requests. */
  nice?: number;
  /**
   * The longest an operation should wait. Newcomers are refused at once when recent jobs say they
   * would wait longer; one that has waited longer anyway (the machine slowed after it was admitted)
   * is refused when its turn comes, before it does anything.
   */
  maxWaitMs?: number;
  /** Parameter sets of the hashes already stored (see findPasswordHashSettings). */
  inUse?: Argon2Params[];
}

const CALIBRATION_PASSWORD = 'latchkey timing calibration';

export function createPasswordHasher(
  params: Argon2Params,
  { concurrency = 0, queueLimit = 64, nice = 0, maxWaitMs = 3000, inUse = [] }: HasherOptions = {},
): Promise<PasswordHasher> {
  const threads = concurrency > 0 ? concurrency : Math.max(1, availableParallelism());
  // One turn per thread hashing and one per thread preparing the next job.
  const turns = new BoundedLimiter(2 * threads, queueLimit, maxWaitMs);
  const wait = new WaitEstimate(threads);
  const timing = new VerifyTiming(params, inUse);
  const pool = new HashPool(threads, nice, params);
  const maxAdmitted = threads + queueLimit;
  let admitted = 0;
  // Admitted operations only waiting out their stretch (see withTurn) need no thread.
  let stretching = 0;
  const saturated = () => {
    const hashing = Math.max(0, admitted - stretching);
    return hashing >= maxAdmitted || wait.expectedMs(hashing) > maxWaitMs;
  };
  // A fabricated hash (random salt and digest): verifying it costs what a real one at `params` does.
  const dummy = dummyHash(params);

  const timed = async <T>(job: Promise<Timed<T>>): Promise<Timed<T>> => {
    const done = await job;
    wait.record(done.ms);
    return done;
  };
  // Once, before the first job, when stored hashes use other parameters than the current ones:
  // the verification time of each set, back to back on the idle process.
  const toCalibrate = timing.inUse();
  let calibrated: Promise<void> | null = toCalibrate.length > 1 ? null : Promise.resolve();
  const calibrate = () =>
    (calibrated ??= (async () => {
      const samples: Array<{ set: Argon2Params; ms: number }> = [];
      await pool.verify(dummy, CALIBRATION_PASSWORD); // a new process's first job runs cold
      for (let round = 0; round < 3; round++) {
        for (const set of toCalibrate) {
          const { ms } = await timed(pool.verify(dummyHash(set), CALIBRATION_PASSWORD));
          samples.push({ set, ms });
        }
      }
      timing.calibrate(samples);
    })().catch(() => {
      calibrated = null; // the process died meanwhile: again before the next job
    }));

  const withTurn = async <T>(work: (h: Hashing) => Promise<T>): Promise<T> => {
    await calibrate();
    let stretchUntil = 0;
    const verify = async (hash: string, password: string) => {
      const settings = argon2Settings(hash);
      const done = await timed(pool.verify(hash, password));
      if (settings) timing.record(settings, done.ms);
      if (timing.stretches(settings)) {
        stretchUntil = Math.max(stretchUntil, done.startedAt + timing.floorMs());
      }
      return done.value;
    };
    const hashing: Hashing = {
      hash: async (password) => (await timed(pool.hash(password))).value,
      verify,
      verifyDummy: async (password) => {
        await verify(dummy, password);
      },
    };
    const result = await turns.run(() => work(hashing));
    const rest = stretchUntil - performance.now();
    if (rest > 0) {
      stretching++;
      await sleep(rest).finally(() => stretching--);
    }
    return result;
  };

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
    needsRehash: (hash) => needsRehash(hash, params),
    parameterSets: () => timing.inUse(),
    threads: () => pool.threadInfo(),
    close: (graceMs) => pool.close(graceMs),
  });
}
