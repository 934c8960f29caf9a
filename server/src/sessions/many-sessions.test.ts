import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerFor, createTestDb, startTestServer } from '../../test/helpers.ts';
import { seedSessions, type SeededSession } from '../../test/sessions.ts';

/**
 * Three instances on one database, 10,000 live sessions of 2,500 users, each session used on
 * every instance: one revocation must reach all three within a second, and only that session.
 */

type Server = Awaited<ReturnType<typeof startTestServer>>;
const SESSIONS = 10_000;
let servers: Server[];
let seeded: Array<SeededSession & { token: string }>;

beforeAll(async () => {
  const db = await createTestDb();
  servers = [
    await startTestServer({}, {}, db),
    await startTestServer({}, {}, await db.reopen()),
    await startTestServer({}, {}, await db.reopen()),
  ];
  const [a] = servers as [Server];
  const sessions = await seedSessions(db, SESSIONS, 4);
  seeded = await Promise.all(
    sessions.map(async (s) => ({
      ...s,
      token: (await a.deps.tokens.sign(s.userId, s.sessionId)).token,
    })),
  );
}, 120_000);
afterAll(async () => {
  for (const server of servers.reverse()) await server.close();
});

const meOver = async (server: Server, token: string) =>
  (await fetch(`${server.url}/trpc/me`, { headers: { authorization: `Bearer ${token}` } })).status;

/** `me` for every token on one instance, through its procedures, 500 at a time. */
async function useAll(server: Server, tokens: string[]): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < tokens.length; i += 500) {
    const chunk = tokens.slice(i, i + 500);
    const users = await Promise.all(chunk.map((token) => callerFor(server.deps, { token }).me()));
    names.push(...users.map((u) => u.id));
  }
  return names;
}

describe('10,000 live sessions on three instances', () => {
  it('one revoked session is refused by every instance within a second; the others keep working', async () => {
    const tokens = seeded.map((s) => s.token);
    for (const server of servers) {
      expect(await useAll(server, tokens)).toEqual(seeded.map((s) => s.userId));
      // Every session is now answered from this instance's memory.
      expect(server.deps.liveSessions.cache.size).toBeGreaterThanOrEqual(SESSIONS);
    }

    const [a, b, c] = servers as [Server, Server, Server];
    const victim = seeded[4_321] as SeededSession & { token: string };
    const revoke = await fetch(`${a.url}/trpc/sessions.revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${victim.token}` },
      body: JSON.stringify({ id: victim.sessionId }),
    });
    expect(revoke.status).toBe(200);
    const started = Date.now();
    expect(await meOver(a, victim.token)).toBe(401);
    for (const other of [b, c]) {
      let status = 200;
      while (status === 200 && Date.now() - started < 3_000) {
        status = await meOver(other, victim.token);
        if (status === 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(401);
    }
    expect(Date.now() - started).toBeLessThan(1_000);

    const others = seeded.filter((s) => s !== victim);
    const otherTokens = others.map((s) => s.token);
    for (const server of servers) {
      expect(server.deps.liveSessions.cache.size).toBe(SESSIONS - 1);
      const sample = others.filter((_, i) => i % 50 === 0);
      const statuses = await Promise.all(sample.map((s) => meOver(server, s.token)));
      expect(statuses).toEqual(sample.map(() => 200));
      expect(await useAll(server, otherTokens)).toEqual(others.map((s) => s.userId));
    }
  }, 120_000);
});
