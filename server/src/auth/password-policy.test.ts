import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
  tokensOf,
} from '../../test/helpers.ts';
import { createUser, setPassword } from '../users/admin.service.ts';
import { passwordPolicyReason, POLICY_REASONS as R } from './password-policy.ts';
import { ESTIMATE_MAX_CHARS } from './strength.ts';

const judge = (password: string) => passwordPolicyReason(password, 'alice', 15);

describe('passwordPolicyReason', () => {
  it.each([
    // The three the outside review found accepted.
    ['password1234567', 'This is a common password with digits added'],
    ['qwertyuiopasdfgh', 'Keyboard rows like qwerty are easy to guess'],
    ['123456789012345', 'Sequences like 12345 or abcde are easy to guess'],
    // Padded to length.
    ['iloveyou12345678', R.padded('password', 'digits')],
    ['Welcome123456789', R.padded('password', 'digits')],
    ['P@ssw0rd12345678', R.padded('password', 'digits')],
    ['Password2024!!!!', R.padded('password', 'digits and symbols')],
    ['Monkey!!!!!!!!!!', R.padded('password', 'symbols')],
    ['dishwasher123456', R.padded('word', 'digits')],
    // Repeated to length.
    ['passwordpassword', R.repeat],
    ['monkeymonkeymonkey', R.repeat],
    ['sunshine sunshine', R.repeat],
    ['hunter2hunter2hunter2', R.repeat],
    ['abcabcabcabcabcabc', R.repeat],
    // Keyboard rows and sequences.
    ['zxcvbnmasdfghjkl', R.keyboard],
    ['!@#$%^&*()_+!@#$', R.keyboard],
    ['abcdefghijklmnop', R.sequence],
    ['zyxwvutsrqponmlk', R.sequence],
    ['9876543210987654', R.sequence],
    // Whole entries of the common-password list, and a couple of common words.
    ['1qaz2wsx3edc4rfv', R.common],
    ['qazwsxedcrfvtgb', R.common],
    ['summertime sadness', R.words],
    // Rules kept from before the estimator.
    ['a'.repeat(20), R.oneCharacter],
    ['ZZZZZZZZZZZZZZZZ', R.oneCharacter],
    ['my name is alice and i like tea', R.context],
    ['my name is ALICE and i like tea', R.context],
    ['latchkey is my favourite thing', R.context],
    ['fourteen chars', 'Password must be at least 15 characters'],
  ])('refuses %j: %s', (password, reason) => {
    expect(judge(password)).toBe(reason);
  });

  it.each([
    PASSWORD,
    'violet staircase under a quiet moon',
    'Ünïcödé pässphrase 山田',
    'correct-horse-battery-4f0c9e1a7b',
    'just a long lowercase passphrase',
    'MiXeD CaSe PaSsPhRaSe',
    'purple monkey dishwasher',
    'Пётр любит зелёный чай',
  ])('accepts the passphrase %j', (password) => {
    expect(judge(password)).toBeNull();
  });

  it(`judges the first ${ESTIMATE_MAX_CHARS} characters`, () => {
    // A strong beginning passes whatever follows ...
    expect(judge(`${PASSWORD} ${'x'.repeat(1000)}`)).toBeNull();
    // ... and a guessable one is refused, even with more after it.
    expect(judge(`${'1234567890'.repeat(7)}${PASSWORD}`)).toBe(R.repeat);
  });

  it('costs no more for a 1024-character password than for a short one', () => {
    // Inputs that make zxcvbn slow when it reads them whole (seconds at 1024 characters).
    const slow = ['4@3!1|0$5|7+'.repeat(86), 'p4ssw0rd'.repeat(128), '1a2b3c4d5e'.repeat(103)];
    for (const password of slow) judge(password); // warm
    const started = performance.now();
    for (const password of slow) judge(password);
    expect((performance.now() - started) / slow.length).toBeLessThan(250);
  });
});

describe('every way to set a password applies the policy', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  const WEAK = 'password1234567';
  const REASON = 'This is a common password with digits added';

  it('register refuses with BAD_REQUEST and the reason, and creates no user', async () => {
    const name = uniqueName();
    const error = await trpcErrorOf(
      callerFor(env.deps).register({ username: name, password: WEAK }),
    );
    expect([error.code, error.message]).toEqual(['BAD_REQUEST', REASON]);
    const login = await trpcErrorOf(callerFor(env.deps).login({ username: name, password: WEAK }));
    expect(login.code).toBe('UNAUTHORIZED');
  });

  it('account.changePassword refuses with the reason and keeps the old password', async () => {
    const name = uniqueName();
    await callerFor(env.deps).register({ username: name, password: PASSWORD });
    const { accessToken } = tokensOf(
      await callerFor(env.deps).login({ username: name, password: PASSWORD }),
    );
    for (const [newPassword, reason] of [
      [WEAK, REASON],
      ['qwertyuiopasdfgh', R.keyboard],
      ['123456789012345', R.sequence],
    ] as const) {
      const error = await trpcErrorOf(
        callerFor(env.deps, { token: accessToken }).account.changePassword({
          currentPassword: PASSWORD,
          newPassword,
        }),
      );
      expect([error.code, error.message]).toEqual(['BAD_REQUEST', reason]);
    }
    tokensOf(await callerFor(env.deps).login({ username: name, password: PASSWORD }));
  });

  it('the operator CLI (user create, user set-password) refuses with the reason', async () => {
    const name = uniqueName();
    expect(await createUser(env.deps, name, WEAK)).toEqual({
      ok: false,
      code: 'INVALID_INPUT',
      message: REASON,
    });
    expect((await createUser(env.deps, name, PASSWORD)).ok).toBe(true);
    expect(await setPassword(env.deps, name, 'qwertyuiopasdfgh')).toEqual({
      ok: false,
      code: 'INVALID_INPUT',
      message: R.keyboard,
    });
  });
});
