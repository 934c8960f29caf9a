import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ LOGIN_MAX_FAILURES: '1000', LOGIN_MAX_PER_CLIENT: '3' });
});
afterAll(() => env.close());

/** A failed login for a fresh username from `clientAddress`: its code. */
const attempt = async (clientAddress: string) =>
  (
    await trpcErrorOf(
      callerFor(env.deps, { clientAddress }).login({
        username: uniqueName('spray'),
        password: PASSWORD,
      }),
    )
  ).code;

/** Failed logins from `addresses` in turn: their codes. */
async function attempts(addresses: string[]) {
  const codes: string[] = [];
  for (const address of addresses) codes.push(await attempt(address));
  return codes;
}

const LIMIT_THEN_REFUSED = ['UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'TOO_MANY_REQUESTS'];

describe('the per-client limit', () => {
  it('counts an IPv6 client by its /64: rotating the host part gains nothing', async () => {
    const sameNetwork = [
      '2001:db8:1:2::1',
      '2001:DB8:1:2:0:0:0:2',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:db8:1:2:abcd::9',
    ];
    expect(await attempts(sameNetwork)).toEqual(LIMIT_THEN_REFUSED);
    // The neighbouring /64 is another client.
    expect(await attempt('2001:db8:1:3::1')).toBe('UNAUTHORIZED');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', async () => {
    const sameClient = [
      '198.51.100.77',
      '::ffff:198.51.100.77',
      '::ffff:c633:644d',
      '198.51.100.77',
    ];
    expect(await attempts(sameClient)).toEqual(LIMIT_THEN_REFUSED);
  });
});
