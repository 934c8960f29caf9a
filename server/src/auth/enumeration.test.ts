import { performance } from 'node:perf_hooks';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  tokensOf,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import { totpCodeAt } from '../mfa/totp.ts';
import { setDisabled } from '../users/admin.service.ts';

/** Production argon2 parameters: the timing property only holds for the real work factor. */
let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv(
    { LOGIN_MAX_FAILURES: '1000', LOGIN_MAX_PER_CLIENT: '0' },
    { argon2: { memoryCost: 19_456, timeCost: 2, parallelism: 1 } },
  );
});
afterAll(() => env.close());

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** A user with a TOTP factor in force. */
async function enrolledUser(): Promise<string> {
  const username = uniqueName('mfa');
  await callerFor(env.deps).register({ username, password: PASSWORD });
  const login = tokensOf(await callerFor(env.deps).login({ username, password: PASSWORD }));
  const api = callerFor(env.deps, { token: login.accessToken });
  const { secret } = await api.mfa.totp.setup({ password: PASSWORD });
  await api.mfa.totp.enable({ code: totpCodeAt(secret, env.clock.now().getTime()) });
  return username;
}

describe('login failures are indistinguishable', () => {
  it('unknown user, wrong password (with a second factor or not) and disabled user: same error, same time', async () => {
    const active = uniqueName();
    const disabled = uniqueName();
    for (const name of [active, disabled]) {
      await callerFor(env.deps).register({ username: name, password: PASSWORD });
    }
    await setDisabled(env.deps, disabled, true);
    const withFactor = await enrolledUser();
    const kinds = {
      unknown: { username: uniqueName('ghost'), password: PASSWORD },
      wrongPassword: { username: active, password: `${PASSWORD}?` },
      disabled: { username: disabled, password: PASSWORD },
      // No oracle for "this user has a second factor" before the password verified.
      wrongPasswordWithFactor: { username: withFactor, password: `${PASSWORD}?` },
    };
    const samples: Record<string, number[]> = {
      unknown: [],
      wrongPassword: [],
      disabled: [],
      wrongPasswordWithFactor: [],
    };
    const errors = new Set<string>();
    for (let round = 0; round < 15; round++) {
      // Interleave the kinds so machine noise lands on all of them alike.
      for (const [kind, input] of Object.entries(kinds)) {
        const started = performance.now();
        const error = await callerFor(env.deps)
          .login(input)
          .then(
            () => null,
            (e: unknown) => e,
          );
        samples[kind]?.push(performance.now() - started);
        expect(error).toBeInstanceOf(TRPCError);
        errors.add(JSON.stringify([(error as TRPCError).code, (error as TRPCError).message]));
      }
    }
    expect([...errors]).toEqual([
      JSON.stringify(['UNAUTHORIZED', 'Incorrect username or password']),
    ]);
    const medians = Object.values(samples).map(median);
    const overall = median(Object.values(samples).flat());
    // Every path runs one argon2 verification, so the medians agree closely. Without the dummy
    // hash the unknown-user path would take ~2% of the others; half the cost is a margin that
    // catches that oracle and tolerates a noisy shared machine.
    expect(overall).toBeGreaterThan(5);
    expect(Math.max(...medians) - Math.min(...medians)).toBeLessThan(overall * 0.5);
  });
});
