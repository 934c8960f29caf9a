import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';
import { jsonTooDeep, MAX_JSON_DEPTH } from './json-depth.ts';

const nested = (depth: number, inner = '0') => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('jsonTooDeep', () => {
  it.each([
    [nested(MAX_JSON_DEPTH), false],
    [nested(MAX_JSON_DEPTH + 1), true],
    ['{"a":{"b":{"c":[1,2,{"d":null}]}}}', false],
    // Brackets inside strings, escaped quotes included, do not count.
    [`{"password":"${'['.repeat(100)}\\"${'{'.repeat(100)}"}`, false],
    [`{"a":"\\\\"}${nested(MAX_JSON_DEPTH + 1)}`, true],
    ['', false],
    ['"just a string"', false],
  ])('%#: %s…', (text, expected) => {
    expect(jsonTooDeep(text)).toBe(expected);
  });

  it('counts depth, not the number of containers', () => {
    const wide = `[${Array.from({ length: 5000 }, () => '[]').join(',')}]`;
    expect(jsonTooDeep(wide)).toBe(false);
  });
});

describe('over HTTP', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const PARSE_ERROR = {
    code: -32700,
    message: `Input is nested deeper than ${MAX_JSON_DEPTH} levels`,
  };

  it('refuses a too-deep mutation body with 400 PARSE_ERROR, and writes nothing', async () => {
    const username = uniqueName();
    const body = `{"username":"${username}","password":"${PASSWORD}","x":${nested(5000)}}`;
    const res = await fetch(`${server.url}/trpc/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        ...PARSE_ERROR,
        data: { code: 'PARSE_ERROR', httpStatus: 400, path: 'register' },
      },
    });
    const user = await server.dbh.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', username)
      .executeTakeFirst();
    expect(user).toBeUndefined();
  });

  it('refuses a too-deep query input and each call of a too-deep batch', async () => {
    const input = encodeURIComponent(nested(MAX_JSON_DEPTH + 1));
    const single = await fetch(`${server.url}/trpc/me?input=${input}`);
    expect(single.status).toBe(400);
    expect(await single.json()).toEqual({
      error: { ...PARSE_ERROR, data: { code: 'PARSE_ERROR', httpStatus: 400, path: 'me' } },
    });

    const batch = await fetch(`${server.url}/trpc/me,sessions.list?batch=1&input=${input}`);
    expect(batch.status).toBe(400);
    expect(await batch.json()).toEqual(
      ['me', 'sessions.list'].map((path) => ({
        error: { ...PARSE_ERROR, data: { code: 'PARSE_ERROR', httpStatus: 400, path } },
      })),
    );
  });

  it('lets input at the limit through to validation', async () => {
    const body = `{"username":${nested(MAX_JSON_DEPTH - 1)},"password":"x"}`;
    const res = await fetch(`${server.url}/trpc/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe(
      'BAD_REQUEST',
    );
  });
});
