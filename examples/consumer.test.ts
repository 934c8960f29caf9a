import { afterAll, beforeAll, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../server/test/helpers.ts';
import { signInRefreshSignOut } from './consumer.ts';

/** The example consumer, run as it is shipped against the real server on a free port. */
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  // No grace window: a rotation the client missed would show as reuse at the next refresh.
  server = await startTestServer({ REFRESH_GRACE_SECONDS: '0' });
});
afterAll(() => server.close());

it('signs in, reads me, refreshes and signs out over httpBatchStreamLink', async () => {
  const username = uniqueName();
  const registered = await fetch(`${server.url}/trpc/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  expect(registered.status).toBe(200);

  const report = await signInRefreshSignOut(server.url, username, PASSWORD);
  expect(report).toEqual({
    username,
    createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
    expiresIn: 900,
    sessions: 1,
    rotated: true,
    signedOut: true,
  });
  // The one session it started has ended.
  const sessions = await server.dbh.db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select('sessions.revoked_at')
    .where('users.username', '=', username)
    .execute();
  expect(sessions).toHaveLength(1);
  expect(sessions[0]?.revoked_at).not.toBeNull();
});
