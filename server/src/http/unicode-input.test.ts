import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  PASSWORD,
  startTestServer,
  trpcErrorOf,
  uniqueName,
  tokensOf,
} from '../../test/helpers.ts';
import { parseForm } from './form.ts';

/**
 * An unpaired UTF-16 surrogate, or bytes that are not UTF-8, turn into U+FFFD once encoded or
 * decoded leniently, so different inputs would become one password. Every way in refuses them.
 */
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const SURROGATE = 'Password must not contain unpaired surrogates';

async function postJson(path: string, body: string, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() };
}

const form = (body: string | Uint8Array) =>
  fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  }).then(async (res) => ({ status: res.status, body: await res.json() }));

async function registered(): Promise<string> {
  const username = uniqueName();
  await callerFor(server.deps).register({ username, password: PASSWORD });
  return username;
}

describe('parseForm', () => {
  it.each([
    'username=alice&password=correct+horse%20battery',
    'a=1&a=2&b',
    '&&x=%41%4a%zz%&y==z',
    'name=%E5%B1%B1%E7%94%B0&emoji=%F0%9F%98%80&plain=%EF%BF%BD',
    '',
  ])('reads %j as URLSearchParams does', (body) => {
    const expected = new URLSearchParams(body);
    const parsed = parseForm(new TextEncoder().encode(body));
    expect([...parsed.keys()]).toEqual([...new Set(expected.keys())]);
    for (const [name, value] of parsed) expect(value).toBe(expected.get(name));
  });

  it.each([
    ['an encoded high surrogate', 'password=ab%ED%A0%80cd'],
    ['an encoded low surrogate', 'password=%ED%BF%BF'],
    ['a stray continuation byte', 'password=%80'],
    ['an overlong slash', 'password=%C0%AF'],
    ['a byte never in UTF-8', 'password=%FF'],
    ['a truncated sequence', 'password=%E2%82'],
  ])('gives null for %s, where URLSearchParams gives U+FFFD', (_, body) => {
    expect(new URLSearchParams(body).get('password')).toContain('\ufffd');
    expect(parseForm(new TextEncoder().encode(body)).get('password')).toBeNull();
  });

  it('gives null for raw bytes that are not UTF-8', () => {
    const raw = Uint8Array.from([...new TextEncoder().encode('password=ab'), 0xed, 0xa0, 0x80]);
    expect(parseForm(raw).get('password')).toBeNull();
  });
});

describe('POST /token', () => {
  it.each([
    ['an encoded surrogate in the password', (u: string) => `username=${u}&password=x%ED%A0%80`],
    ['a byte never in UTF-8 in the password', (u: string) => `username=${u}&password=%FF%FE`],
  ])('%s is 422 naming the field, before any sign-in work', async (_, body) => {
    const username = await registered();
    const reply = await form(body(username));
    expect(reply.status).toBe(422);
    expect(reply.body).toEqual({
      detail: [
        {
          type: 'string_unicode',
          loc: ['body', 'password'],
          msg: 'Input should be a valid string, unable to parse raw data as a unicode string',
          input: null,
        },
      ],
    });
    // Nothing was counted or recorded: the account's only event is its registration.
    const events = await server.dbh.db
      .selectFrom('audit_events')
      .select('event')
      .where('username', '=', username)
      .execute();
    expect(events).toEqual([{ event: 'register' }]);
  });

  it('raw bytes that are not UTF-8 in the username are 422 too', async () => {
    const body = Uint8Array.from([
      ...new TextEncoder().encode('password=whatever&username=al'),
      0xff,
    ]);
    const reply = await form(body);
    expect(reply.status).toBe(422);
    expect((reply.body as { detail: { loc: string[] }[] }).detail[0]?.loc).toEqual([
      'body',
      'username',
    ]);
  });

  it('a real U+FFFD, percent-encoded as UTF-8, is an ordinary character', async () => {
    const username = await registered();
    const reply = await form(`username=${username}&password=${encodeURIComponent('\ufffd')}`);
    expect(reply).toEqual({ status: 401, body: { detail: 'Incorrect username or password' } });
  });
});

describe('tRPC over HTTP (JSON carries a lone surrogate as \\ud800)', () => {
  it('register refuses one in the password with BAD_REQUEST and the field message', async () => {
    const username = uniqueName();
    const reply = await postJson(
      '/trpc/register',
      `{"username":"${username}","password":"correct horse \\ud800 battery staple"}`,
    );
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      error: {
        message: SURROGATE,
        data: { code: 'BAD_REQUEST', fieldErrors: { password: [SURROGATE] } },
      },
    });
    const row = await server.dbh.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', username)
      .executeTakeFirst();
    expect(row).toBeUndefined();
  });

  it('login refuses one in the username or the password', async () => {
    const username = await registered();
    for (const [field, body] of [
      ['username', `{"username":"${username}\\udc00","password":"${PASSWORD}"}`],
      ['password', `{"username":"${username}","password":"${PASSWORD}\\udbff"}`],
    ] as const) {
      const reply = await postJson('/trpc/login', body);
      expect(reply.status).toBe(400);
      const message = `${field === 'username' ? 'Username' : 'Password'} must not contain unpaired surrogates`;
      expect(reply.body).toMatchObject({
        error: { data: { fieldErrors: { [field]: [message] } } },
      });
    }
  });
});

describe('tRPC procedures', () => {
  it('register, login and changePassword refuse one with BAD_REQUEST', async () => {
    const caller = callerFor(server.deps);
    const bad = `${PASSWORD}\ud800`;
    for (const call of [
      caller.register({ username: uniqueName(), password: bad }),
      caller.register({ username: `${uniqueName()}\udfff`, password: PASSWORD }),
      caller.login({ username: uniqueName(), password: bad }),
    ]) {
      expect((await trpcErrorOf(call)).code).toBe('BAD_REQUEST');
    }
    const username = await registered();
    const { accessToken } = tokensOf(await caller.login({ username, password: PASSWORD }));
    const account = callerFor(server.deps, { token: accessToken }).account;
    for (const input of [
      { currentPassword: PASSWORD, newPassword: `violet staircase under a quiet moon\ud800` },
      { currentPassword: bad, newPassword: 'violet staircase under a quiet moon' },
    ]) {
      const error = await trpcErrorOf(account.changePassword(input));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain(SURROGATE); // over HTTP the formatter keeps only this
    }
    tokensOf(await caller.login({ username, password: PASSWORD }));
  });
});
