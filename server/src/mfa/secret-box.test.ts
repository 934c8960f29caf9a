import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  TEST_SECRET,
  testConfig,
  tokensOf,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import type { Deps } from '../deps.ts';
import { findFactor } from './mfa.repository.ts';
import { resealSecrets } from './rewrap.ts';
import { openSecret, sealSecret } from './secret-box.ts';

const SEPARATE_KEY = 'Xq7Lw2mZp9RkT4vB8nJc3HsF6yDg1QaE5uWoYiKtLrM';
const USER = '7f0c1a5e-8a41-4c53-9d7e-2b1f6f3c9a10';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(() => env.close());

const ringOf = (vars: Record<string, string>) => testConfig(vars).mfa.ring;

describe('the secret box', () => {
  it('opens what it sealed, for that user only, and nothing tampered with', () => {
    const ring = ringOf({});
    const box = sealSecret(ring, USER, 'JBSWY3DPEHPK3PXP');
    expect(box).toMatch(/^v1\.[\w-]{12}\.[\w-]{16}\.[\w-]+$/);
    expect(box).not.toContain('JBSWY3DPEHPK3PXP');
    expect(openSecret(ring, USER, box)).toEqual({ secret: 'JBSWY3DPEHPK3PXP', stale: false });
    expect(openSecret(ring, '00000000-0000-4000-8000-000000000000', box)).toBeNull();
    const [v, kid, nonce, sealed] = box.split('.');
    const flipped = `${sealed?.[0] === 'A' ? 'B' : 'A'}${sealed?.slice(1) ?? ''}`;
    expect(openSecret(ring, USER, [v, kid, nonce, flipped].join('.'))).toBeNull();
    expect(sealSecret(ring, USER, 'JBSWY3DPEHPK3PXP')).not.toBe(box);
  });

  it('derives the default key from JWT_SECRET but never equal to it, and keeps it on the ring', () => {
    const derived = ringOf({});
    expect(derived.source).toBe('JWT_SECRET');
    expect(derived.keys[0]?.key.equals(Buffer.from(TEST_SECRET))).toBe(false);
    const separate = ringOf({ MFA_ENCRYPTION_KEY: SEPARATE_KEY });
    expect(separate.source).toBe('MFA_ENCRYPTION_KEY');
    const box = sealSecret(derived, USER, 'JBSWY3DPEHPK3PXP');
    // Moving to a separate key keeps old boxes readable, marked for re-sealing.
    expect(openSecret(separate, USER, box)).toEqual({ secret: 'JBSWY3DPEHPK3PXP', stale: true });
  });

  it('holds MFA keys to the signing key rules', () => {
    expect(() => testConfig({ MFA_ENCRYPTION_KEY: 'changeme' })).toThrow(ConfigError);
    expect(() => testConfig({ MFA_ENCRYPTION_KEY: 'x'.repeat(40) })).toThrow(
      'MFA_ENCRYPTION_KEY is a single repeated character',
    );
    expect(() => testConfig({ MFA_PREVIOUS_ENCRYPTION_KEYS: SEPARATE_KEY })).toThrow(
      'MFA_PREVIOUS_ENCRYPTION_KEYS needs MFA_ENCRYPTION_KEY',
    );
  });
});

describe('rotation', () => {
  it('re-seals every secret under the new key; sign-in with the factor keeps working', async () => {
    const username = uniqueName('rot');
    await callerFor(env.deps).register({ username, password: PASSWORD });
    const { accessToken, user } = tokensOf(
      await callerFor(env.deps).login({ username, password: PASSWORD }),
    );
    await callerFor(env.deps, { token: accessToken }).mfa.totp.setup({ password: PASSWORD });
    const before = await findFactor(env.deps.db, user.id);
    const rotated: Deps = {
      ...env.deps,
      config: {
        ...env.deps.config,
        mfa: { ...env.deps.config.mfa, ring: ringOf({ MFA_ENCRYPTION_KEY: SEPARATE_KEY }) },
      },
    };
    const { resealed, unreadable } = await resealSecrets(rotated);
    expect(resealed).toBeGreaterThanOrEqual(1);
    expect(unreadable).toBe(0);
    const after = await findFactor(env.deps.db, user.id);
    expect(after?.secretBox).not.toBe(before?.secretBox);
    const newKeyOnly = {
      keys: rotated.config.mfa.ring.keys.slice(0, 1),
      source: 'MFA_ENCRYPTION_KEY' as const,
    };
    expect(openSecret(newKeyOnly, user.id, after?.secretBox ?? '')?.stale).toBe(false);
    expect(await resealSecrets(rotated)).toEqual({ resealed: 0, unreadable: 0 });
  });
});
