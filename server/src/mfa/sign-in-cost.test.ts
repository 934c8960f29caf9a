import { performance } from 'node:perf_hooks';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  tokensOf,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import type { Deps } from '../deps.ts';
import { totpCodeAt } from './totp.ts';

/**
 * What a second factor costs a sign-in, in database statements (counted through a Kysely plugin:
 * BEGIN/COMMIT not included) and time, on cheap argon2 so the difference is not lost in hashing.
 * The statement counts are asserted; times are printed for the record.
 */
let env: TestEnv;
let deps: Deps;
let statements = 0;
beforeAll(async () => {
  env = await createTestEnv({ LOGIN_MAX_FAILURES: '1000' });
  const counting: KyselyPlugin = {
    transformQuery: (args) => {
      statements += 1;
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  };
  deps = { ...env.deps, db: env.deps.db.withPlugin(counting) };
});
afterAll(() => env.close());

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function measured<T>(run: () => Promise<T>) {
  statements = 0;
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started, statements };
}

describe('the cost of a second factor at sign-in', () => {
  it('adds one round trip of statements and no change for wrong passwords', async () => {
    const plain = uniqueName('plain');
    const withFactor = uniqueName('mfa');
    for (const username of [plain, withFactor]) {
      await callerFor(deps).register({ username, password: PASSWORD });
    }
    const first = tokensOf(
      await callerFor(deps).login({ username: withFactor, password: PASSWORD }),
    );
    const api = callerFor(deps, { token: first.accessToken });
    const { secret } = await api.mfa.totp.setup({ password: PASSWORD });
    await api.mfa.totp.enable({ code: totpCodeAt(secret, env.clock.now().getTime()) });

    const rounds = 15;
    const samples = { password: [] as number[], challenge: [] as number[], verify: [] as number[] };
    const counts = { password: 0, challenge: 0, verify: 0, wrongPlain: 0, wrongFactor: 0 };
    for (let i = 0; i < rounds; i += 1) {
      const password = await measured(() =>
        callerFor(deps).login({ username: plain, password: PASSWORD }),
      );
      const challenge = await measured(() =>
        callerFor(deps).login({ username: withFactor, password: PASSWORD }),
      );
      if (!('mfaRequired' in challenge.value)) throw new Error('expected a challenge');
      // Each sign-in needs a step no earlier one used: move the frozen clock on by one step.
      env.clock.advance(30);
      const code = totpCodeAt(secret, env.clock.now().getTime());
      const { mfaToken } = challenge.value;
      const verify = await measured(() => callerFor(deps).mfa.verify({ mfaToken, code }));
      samples.password.push(password.ms);
      samples.challenge.push(challenge.ms);
      samples.verify.push(verify.ms);
      counts.password = password.statements;
      counts.challenge = challenge.statements;
      counts.verify = verify.statements;
      const wrongPlain = await measured(() =>
        trpcErrorOf(callerFor(deps).login({ username: plain, password: `${PASSWORD}?` })),
      );
      const wrongFactor = await measured(() =>
        trpcErrorOf(callerFor(deps).login({ username: withFactor, password: `${PASSWORD}?` })),
      );
      counts.wrongPlain = wrongPlain.statements;
      counts.wrongFactor = wrongFactor.statements;
    }
    const report = {
      statements: counts,
      medianMs: {
        password: median(samples.password).toFixed(1),
        challenge: median(samples.challenge).toFixed(1),
        verify: median(samples.verify).toFixed(1),
      },
    };
    const target = env.deps.dbh.target.kind;
    console.info(`sign-in cost (cheap argon2, ${target}):`, JSON.stringify(report));
    // A wrong password costs the same statements whether or not the user has a factor.
    expect(counts.wrongFactor).toBe(counts.wrongPlain);
    // Password step with a factor: the challenge is one insert, the client refund one update,
    // the audit row one insert, instead of the session statement and the settle.
    expect(counts.challenge).toBeLessThanOrEqual(counts.password + 1);
    expect(counts.verify).toBeLessThanOrEqual(counts.password + 4);
  });
});
