import { performance } from 'node:perf_hooks';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  memoryLog,
  PASSWORD,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import type { Argon2Params } from '../config.ts';
import { createDeps, type Deps } from '../deps.ts';
import { setDisabled } from '../users/admin.service.ts';

/**
 * After an argon2 parameter change, stored hashes keep their old parameters until their users sign
 * in again, while unknown users are checked against a dummy at the new ones. A failed login must
 * not tell the two apart by its duration, in either direction of the change.
 */
const A: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const B: Argon2Params = { ...A, timeCost: 16 };
const TRIES = 7;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv(
    { LOGIN_MAX_FAILURES: '1000', LOGIN_MAX_PER_CLIENT: '0' },
    { hashConcurrency: 1 },
  );
});
afterAll(() => env.close());

/** A server (deps) on the same database with other argon2 parameters, as after a restart. */
const depsWith = (argon2: Argon2Params) =>
  createDeps({ ...env.deps.config, argon2 }, env.dbh, memoryLog().logger, env.clock.now);

/** Registers users with `stored` parameters: one active, one disabled. */
async function usersAt(stored: Argon2Params) {
  const deps = await depsWith(stored);
  const [active, disabled] = [uniqueName(), uniqueName()];
  try {
    for (const username of [active, disabled]) {
      await callerFor(deps).register({ username, password: PASSWORD });
    }
    await setDisabled(deps, disabled, true);
  } finally {
    await deps.hasher.close();
  }
  return { active, disabled };
}

/** Interleaved failed logins of each kind: their durations and every distinct error. */
async function failedLogins(
  deps: Deps,
  kinds: Record<string, () => { username: string; password: string }>,
) {
  const times: Record<string, number[]> = {};
  const errors = new Set<string>();
  for (let round = 0; round < TRIES; round++) {
    for (const [kind, input] of Object.entries(kinds)) {
      const started = performance.now();
      const error = await callerFor(deps)
        .login(input())
        .then(
          () => null,
          (e: unknown) => e,
        );
      (times[kind] ??= []).push(performance.now() - started);
      expect(error).toBeInstanceOf(TRPCError);
      errors.add(JSON.stringify([(error as TRPCError).code, (error as TRPCError).message]));
    }
  }
  const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  return { times, medians, errors: [...errors] };
}

const INCORRECT = JSON.stringify(['UNAUTHORIZED', 'Incorrect username or password']);

describe.each([
  ['raised', A, B],
  ['lowered', B, A],
])('after the parameters were %s', (_, stored, current) => {
  it(
    'a failed login for a user not yet rehashed takes as long as one for an unknown user',
    {
      timeout: 60_000,
    },
    async () => {
      const { active, disabled } = await usersAt(stored);
      const deps = await depsWith(current);
      try {
        // Known from the start, not only once a stored hash at them has been verified.
        expect(deps.hasher.parameterSets()).toEqual(expect.arrayContaining([stored, current]));
        const { times, medians, errors } = await failedLogins(deps, {
          unknown: () => ({ username: uniqueName('ghost'), password: PASSWORD }),
          wrongPassword: () => ({ username: active, password: `${PASSWORD}?` }),
          disabled: () => ({ username: disabled, password: PASSWORD }),
        });
        const report = JSON.stringify(times, (_k, v: unknown) =>
          typeof v === 'number' ? Math.round(v) : v,
        );
        expect(errors).toEqual([INCORRECT]);
        const unknown = medians.unknown ?? 0;
        // Unequalled, the faster kind takes about 1/8 of the slower one (timeCost 2 against 16).
        for (const kind of ['wrongPassword', 'disabled']) {
          const ratio = (medians[kind] ?? 0) / unknown;
          expect(ratio, `${kind}: ${report}`).toBeGreaterThan(0.6);
          expect(ratio, `${kind}: ${report}`).toBeLessThan(1.6);
        }
      } finally {
        await deps.hasher.close();
      }
    },
  );
});
