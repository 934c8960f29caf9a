import { isTRPCClientError } from '@trpc/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../server/test/helpers.ts';
import { SoftAuthenticator } from '../server/test/soft-authenticator.ts';
import { createLatchkeyClient } from './consumer.ts';

/**
 * Passkeys through the typed client over the real HTTP server (the streaming link), with the
 * software authenticator standing in for the browser: add a passkey while signed in with a
 * password, sign out, sign back in with the passkey alone.
 */
const ORIGIN = 'http://localhost:5173';
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ PUBLIC_URL: ORIGIN });
});
afterAll(() => server.close());

it('registers a passkey, signs out, and signs back in with it over httpBatchStreamLink', async () => {
  const username = uniqueName('pk');
  const { client, state } = createLatchkeyClient(server.url);
  await client.register.mutate({ username, password: PASSWORD });
  const login = await client.login.mutate({ username, password: PASSWORD });
  if ('mfaRequired' in login) throw new Error('no second factor expected');
  state.accessToken = login.accessToken;

  const authenticator = new SoftAuthenticator({ origin: ORIGIN });
  const options = await client.passkeys.registerOptions.mutate();
  const added = await client.passkeys.register.mutate({
    response: authenticator.register(options),
    name: 'Test key',
  });
  expect(await client.passkeys.list.query()).toEqual([added]);
  await client.logout.mutate();
  state.accessToken = null;
  expect(state.refreshToken).toBeNull();

  const { challengeId, options: request } = await client.passkeys.loginOptions.mutate();
  const signedIn = await client.passkeys.login.mutate({
    challengeId,
    response: authenticator.assert(request),
  });
  state.accessToken = signedIn.accessToken;
  expect(decodeJwt(signedIn.accessToken).amr).toEqual(['hwk', 'user']);
  expect(state.refreshToken).not.toBeNull();
  expect((await client.me.query()).username).toBe(username);
  // The refresh cookie it set renews the session, with the passkey's amr.
  const renewed = await client.refresh.mutate();
  expect(decodeJwt(renewed.accessToken).amr).toEqual(['hwk', 'user']);
});

it('answers a bad assertion with 401 Passkey not recognised and the bearer challenge', async () => {
  const { client } = createLatchkeyClient(server.url);
  const { challengeId, options } = await client.passkeys.loginOptions.mutate();
  const stranger = new SoftAuthenticator({ origin: ORIGIN });
  stranger.register({
    rp: { id: 'localhost', name: 'Latchkey' },
    user: { id: 'dW5rbm93bg', name: 'unknown', displayName: 'unknown' },
    challenge: 'AAAA',
    pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
  });
  const error = await client.passkeys.login
    .mutate({ challengeId, response: stranger.assert(options) })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(isTRPCClientError(error)).toBe(true);
  if (!isTRPCClientError(error)) return;
  expect(error.message).toBe('Passkey not recognised');
  const response = (error.meta as { response?: Response } | undefined)?.response;
  expect(response?.status).toBe(401);
  expect(response?.headers.get('www-authenticate')).toMatch(/^Bearer/);
});
