import {
  createTRPCClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  TRPCClientError,
} from '@trpc/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, tokensOf, uniqueName } from '../../test/helpers.ts';
import type { AppRouter } from '../routers/index.ts';
import { totpCodeAt } from './totp.ts';

/** The second factor over real HTTP: `/token` with `otp`, and mfa.* through every tRPC link. */
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const LINKS = { httpLink, httpBatchLink, httpBatchStreamLink };
type LinkName = keyof typeof LINKS;

/** A client on one link carrying the refresh cookie by hand, recording Set-Cookie per exchange. */
function linkClient(link: LinkName) {
  const state = { accessToken: null as string | null, refreshToken: null as string | null };
  const exchanges: Array<{ url: string; status: number; headers: Headers }> = [];
  const client = createTRPCClient<AppRouter>({
    links: [
      LINKS[link]<AppRouter>({
        url: `${server.url}/trpc`,
        headers: () => ({
          'x-latchkey-csrf': '1',
          ...(state.accessToken ? { authorization: `Bearer ${state.accessToken}` } : {}),
        }),
        fetch: async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
          const headers = new Headers(init?.headers);
          if (state.refreshToken) headers.set('cookie', `__Host-latchkey_rt=${state.refreshToken}`);
          const res = await fetch(input, { ...init, headers });
          exchanges.push({
            url: input instanceof Request ? input.url : String(input),
            status: res.status,
            headers: res.headers,
          });
          for (const cookie of res.headers.getSetCookie()) {
            const match = /^__Host-latchkey_rt=([^;]*)/.exec(cookie);
            if (match) state.refreshToken = match[1] === '' ? null : (match[1] ?? null);
          }
          return res;
        },
      }),
    ],
  });
  return { client, state, exchanges };
}

/** A registered user with the factor on, enrolled over `link`. */
async function enrolled(link: LinkName = 'httpLink') {
  const username = uniqueName('mfa');
  const c = linkClient(link);
  await c.client.register.mutate({ username, password: PASSWORD });
  c.state.accessToken = tokensOf(
    await c.client.login.mutate({ username, password: PASSWORD }),
  ).accessToken;
  const { secret } = await c.client.mfa.totp.setup.mutate({ password: PASSWORD });
  const { recoveryCodes } = await c.client.mfa.totp.enable.mutate({
    code: totpCodeAt(secret, Date.now()),
  });
  return { username, secret, recoveryCodes };
}

async function token(fields: Record<string, string>) {
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    body: new URLSearchParams(fields),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('POST /token with otp', () => {
  it('asks for the second factor, refuses a wrong code, accepts a right one once', async () => {
    const { username, secret } = await enrolled();
    const missing = await token({ username, password: PASSWORD });
    expect([missing.status, missing.body]).toEqual([403, { detail: 'Second factor required' }]);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    const wrong = await token({ username, password: PASSWORD, otp: '000000' });
    expect([wrong.status, wrong.body]).toEqual([401, { detail: 'Invalid authentication code' }]);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    // A wrong password is answered as always, otp or not: no hint that a factor exists.
    const badPassword = await token({ username, password: `${PASSWORD}!`, otp: '000000' });
    expect([badPassword.status, badPassword.body]).toEqual([
      401,
      { detail: 'Incorrect username or password' },
    ]);
    const code = totpCodeAt(secret, Date.now() + 30_000);
    const ok = await token({ username, password: PASSWORD, otp: code });
    expect(ok.status).toBe(200);
    const { access_token } = ok.body as { access_token: string };
    expect(decodeJwt(access_token).amr).toEqual(['pwd', 'otp']);
    const replay = await token({ username, password: PASSWORD, otp: code });
    expect([replay.status, replay.body]).toEqual([401, { detail: 'Invalid authentication code' }]);
  });

  it('accepts a recovery code as otp, once', async () => {
    const { username, recoveryCodes } = await enrolled();
    const code = recoveryCodes[0] ?? '';
    expect((await token({ username, password: PASSWORD, otp: code.toUpperCase() })).status).toBe(
      200,
    );
    expect((await token({ username, password: PASSWORD, otp: code })).status).toBe(401);
  });

  it('logs each code refused with user, client and request id, and never a code or secret', async () => {
    const { username, secret, recoveryCodes } = await enrolled();
    const code = totpCodeAt(secret, Date.now() + 30_000);
    expect((await token({ username, password: PASSWORD, otp: '000000' })).status).toBe(401);
    expect((await token({ username, password: PASSWORD, otp: code })).status).toBe(200);
    const lines = server.log.map((line) => JSON.parse(line) as Record<string, unknown>);
    const failed = lines.filter((l) => l.event === 'mfa.failed' && l.user === username);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.clientAddress).toBe('127.0.0.1');
    expect(typeof failed[0]?.requestId).toBe('string');
    expect(Number.isNaN(Date.parse(String(failed[0]?.time)))).toBe(false);
    const text = server.log.join('\n');
    for (const value of [secret, code, ...recoveryCodes]) expect(text).not.toContain(value);
  });

  it('ignores otp for a user without a second factor', async () => {
    const username = uniqueName();
    await linkClient('httpLink').client.register.mutate({ username, password: PASSWORD });
    const reply = await token({ username, password: PASSWORD, otp: 'whatever' });
    expect(reply.status).toBe(200);
    const { access_token } = reply.body as { access_token: string };
    expect(decodeJwt(access_token).amr).toEqual(['pwd']);
  });
});

describe.each(Object.keys(LINKS) as LinkName[])('sign-in with a second factor over %s', (link) => {
  it('login sets no cookie; mfa.verify signs in with the cookie; a refresh keeps amr', async () => {
    const { username, secret } = await enrolled(link);
    const c = linkClient(link);
    const answer = await c.client.login.mutate({ username, password: PASSWORD });
    expect('mfaRequired' in answer && answer.mfaRequired).toBe(true);
    expect(c.exchanges[0]?.headers.getSetCookie()).toEqual([]);
    expect(c.state.refreshToken).toBeNull();
    if (!('mfaRequired' in answer)) return;
    const error = await c.client.mfa.verify
      .mutate({ mfaToken: answer.mfaToken, code: '000000' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).message).toBe('Invalid authentication code');
    expect(c.exchanges[1]?.status).toBe(401);
    expect(c.exchanges[1]?.headers.get('www-authenticate')).toBe('Bearer');
    const session = await c.client.mfa.verify.mutate({
      mfaToken: answer.mfaToken,
      code: totpCodeAt(secret, Date.now() + 30_000),
    });
    expect(session.user.username).toBe(username);
    expect(c.state.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    c.state.accessToken = session.accessToken;
    expect(await c.client.mfa.status.query()).toEqual({
      totp: true,
      recoveryCodesLeft: 10,
      passkeys: 0,
    });
    const refreshed = await c.client.refresh.mutate();
    expect(decodeJwt(refreshed.accessToken).amr).toEqual(['pwd', 'otp']);
  });
});
