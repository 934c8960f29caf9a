import type { DbHandle } from '@latchkey/db';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, memoryLog, type TestDb } from '../../test/helpers.ts';
import { seedSessions, type SeededSession } from '../../test/sessions.ts';
import { LiveSessionLoader } from './live-session-loader.ts';
import { LiveSessions, type LiveSessionsOptions } from './live-sessions.ts';

/**
 * The in-memory revocation check against a real database (PGlite, or PostgreSQL with
 * TEST_DATABASE_URL): every revocation here is made by plain SQL, as another instance or the
 * operator's CLI would, so only the journal can tell these instances about it.
 */

let db: TestDb;
let other: DbHandle;
beforeAll(async () => {
  db = await createTestDb();
  other = await db.reopen();
});
afterAll(async () => {
  await other.close();
  await db.close();
});

const running: LiveSessions[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** An instance's check, following the journal without notifications (as if every one were lost). */
function instance(options: Partial<LiveSessionsOptions> = {}, dbh: DbHandle = db): LiveSessions {
  const sessions = new LiveSessions({
    dbh,
    logger: memoryLog().logger,
    now: () => new Date(),
    maxAgeMs: 60_000,
    idleTtlSeconds: 3_600,
    ...options,
  });
  sessions.feed.start();
  running.push(sessions);
  return sessions;
}

type Seeded = SeededSession;
const seed = (count: number, perUser = 1) => seedSessions(db, count, perUser);

const revokeBySql = (sessionId: string) =>
  sql`update sessions set revoked_at = now(), revoked_reason = 'test' where id = ${sessionId}`.execute(
    other.db,
  );

async function until(refused: () => boolean | Promise<boolean>, limitMs: number): Promise<number> {
  const started = performance.now();
  while (!(await refused())) {
    if (performance.now() - started > limitMs * 3) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - started;
}

async function healthy(sessions: LiveSessions): Promise<void> {
  const started = performance.now();
  while (!sessions.feed.healthy() && performance.now() - started < 5_000) {
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(sessions.feed.healthy()).toBe(true);
}

describe('live sessions in memory', () => {
  it('answers from memory once loaded, and refuses a session revoked elsewhere within 500 ms with no notification', async () => {
    const a = instance();
    await healthy(a);
    const [s, bystander] = (await seed(2)) as [Seeded, Seeded];
    expect((await a.check(s.sessionId, s.userId))?.id).toBe(s.userId);
    expect((await a.check(bystander.sessionId, bystander.userId))?.id).toBe(bystander.userId);
    expect(a.remembers(s.sessionId)).toBe(true);

    await revokeBySql(s.sessionId);
    const took = await until(async () => (await a.check(s.sessionId, s.userId)) === null, 500);
    expect(took).toBeLessThan(500);
    expect(a.remembers(s.sessionId)).toBe(false);
    expect(a.remembers(bystander.sessionId)).toBe(true);
    expect((await a.check(bystander.sessionId, bystander.userId))?.id).toBe(bystander.userId);
  });

  it('reads the journal as soon as a revocation is notified', async () => {
    // Reads every 5 s only, so only the notification can make it this fast.
    const a = new LiveSessions({
      dbh: db,
      logger: memoryLog().logger,
      now: () => new Date(),
      maxAgeMs: 60_000,
      idleTtlSeconds: 3_600,
      feed: { pollMs: 5_000, healthyMs: 60_000 },
    });
    a.start();
    running.push(a);
    await healthy(a);
    const [s] = (await seed(1)) as [Seeded];
    await a.check(s.sessionId, s.userId);
    await new Promise((r) => setTimeout(r, 200)); // the listener is connected
    await revokeBySql(s.sessionId);
    const took = await until(() => !a.remembers(s.sessionId), 1_000);
    expect(took).toBeLessThan(1_000);
  });

  it('never answers for a token whose sub is not the session’s user', async () => {
    const a = instance();
    await healthy(a);
    const [s, t] = (await seed(2)) as [Seeded, Seeded];
    expect(await a.check(s.sessionId, s.userId)).not.toBeNull();
    expect(await a.check(s.sessionId, t.userId)).toBeNull();
    expect(await a.check('not-a-uuid', s.userId)).toBeNull();
  });

  it('applies a journal row committed late under an id it had already passed (a gap)', async () => {
    const a = instance();
    await healthy(a);
    const [late, early] = (await seed(2)) as [Seeded, Seeded];
    await a.check(late.sessionId, late.userId);
    // A transaction takes an id, another commits a higher one first, then the first commits.
    const { rows } = await sql<{
      id: string;
    }>`select nextval(pg_get_serial_sequence('session_revocations', 'id')) as id`.execute(other.db);
    const skipped = Number(rows[0]?.id);
    await revokeBySql(early.sessionId);
    await a.revoked();
    expect(a.feed.revokedSince(0, early.sessionId, early.userId)).toBe(true);
    expect(a.remembers(late.sessionId)).toBe(true);
    // The late transaction commits now; its row carries the id it took before `early`'s.
    await other.db.transaction().execute(async (trx) => {
      await sql`update sessions set revoked_at = now() where id = ${late.sessionId}`.execute(trx);
      await sql`update session_revocations set id = ${skipped}::bigint
        where session_id = ${late.sessionId}`.execute(trx);
    });
    const took = await until(
      async () => (await a.check(late.sessionId, late.userId)) === null,
      500,
    );
    expect(took).toBeLessThan(500);
  });

  it('refuses every session of a user disabled elsewhere, and of a deleted user', async () => {
    const a = instance();
    await healthy(a);
    const sessions = await seed(6, 3);
    for (const s of sessions) expect(await a.check(s.sessionId, s.userId)).not.toBeNull();
    const [first, , , fourth] = sessions as [Seeded, Seeded, Seeded, Seeded];
    // Disabled without touching its sessions (only the user row changes): the user's row does it.
    await sql`update users set disabled_at = now() where id = ${first.userId}`.execute(other.db);
    await sql`delete from users where id = ${fourth.userId}`.execute(other.db);
    const took = await until(async () => {
      const answers = await Promise.all(sessions.map((s) => a.check(s.sessionId, s.userId)));
      return answers.every((user) => user === null);
    }, 500);
    expect(took).toBeLessThan(500);
  });

  it('stops trusting memory when the journal cannot be read, and trusts it again after', async () => {
    // This instance's reads of the journal fail while `broken` (a lost connection, a lock, a
    // network partition); its session loads and everyone else's writes go through.
    let broken = false;
    const journalReads = db.db.withPlugin({
      transformQuery: (args) => {
        const text = args.node.kind === 'RawNode' ? args.node.sqlFragments.join('') : '';
        if (broken && text.includes('session_revocations')) throw new Error('journal unreachable');
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    });
    const { logger, lines } = memoryLog();
    const a = instance({ logger }, { ...db, db: journalReads });
    await healthy(a);
    const [s] = (await seed(1)) as [Seeded];
    await a.check(s.sessionId, s.userId);
    expect(a.remembers(s.sessionId)).toBe(true);
    broken = true;
    await revokeBySql(s.sessionId);
    const took = await until(async () => (await a.check(s.sessionId, s.userId)) === null, 500);
    expect(took).toBeLessThan(500);
    expect(a.feed.healthy()).toBe(false);
    expect(lines.some((line) => line.includes('revocation journal unreadable'))).toBe(true);

    broken = false;
    await healthy(a);
    const [t] = (await seed(1)) as [Seeded];
    await a.check(t.sessionId, t.userId);
    expect(a.remembers(t.sessionId)).toBe(true);
    expect(lines.some((line) => line.includes('revocation journal readable again'))).toBe(true);
  });

  it('forgets an entry after maxAgeMs even when nothing was journaled', async () => {
    const a = instance({ maxAgeMs: 300 });
    await healthy(a);
    const [s] = (await seed(1)) as [Seeded];
    await a.check(s.sessionId, s.userId);
    // Ended without any trigger firing: expiry moved to the past.
    await sql`update sessions set expires_at = now() - interval '1 second'
      where id = ${s.sessionId}`.execute(other.db);
    expect(await a.check(s.sessionId, s.userId)).not.toBeNull(); // still remembered
    const took = await until(async () => (await a.check(s.sessionId, s.userId)) === null, 300);
    expect(took).toBeLessThan(600);
  });

  it('keeps at most maxEntries sessions, and still answers for the ones it dropped', async () => {
    const a = instance({ maxEntries: 50 });
    await healthy(a);
    const sessions = await seed(200, 4);
    for (const s of sessions) expect((await a.check(s.sessionId, s.userId))?.id).toBe(s.userId);
    expect(a.cache.size).toBe(50);
    const answers = await Promise.all(sessions.map((s) => a.check(s.sessionId, s.userId)));
    expect(answers.map((user) => user?.id)).toEqual(sessions.map((s) => s.userId));
    expect(a.cache.size).toBeLessThanOrEqual(50);
  });

  it('uses the database on every request with maxAgeMs 0', async () => {
    const a = instance({ maxAgeMs: 0 });
    const [s] = (await seed(1)) as [Seeded];
    expect(await a.check(s.sessionId, s.userId)).not.toBeNull();
    expect(a.remembers(s.sessionId)).toBe(false);
    await revokeBySql(s.sessionId);
    expect(await a.check(s.sessionId, s.userId)).toBeNull();
  });

  it('does not remember a load that a revocation overtook', async () => {
    const a = instance();
    await healthy(a);
    const [s] = (await seed(1)) as [Seeded];
    const epoch = a.feed.epoch;
    await revokeBySql(s.sessionId);
    await a.revoked();
    expect(a.feed.revokedSince(epoch, s.sessionId, s.userId)).toBe(true);
    expect(a.feed.revokedSince(a.feed.epoch, s.sessionId, s.userId)).toBe(false);
    expect(a.feed.revokedSince(epoch, crypto.randomUUID(), crypto.randomUUID())).toBe(false);
  });
});

describe('the session loader', () => {
  it('coalesces the loads of one event-loop turn into one statement', async () => {
    let statements = 0;
    const counting = db.db.withPlugin({
      transformQuery: (args) => {
        statements += 1;
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    });
    const loader = new LiveSessionLoader(counting, () => ({ epoch: 0, sentAt: 0 }));
    const sessions = await seed(300, 3);
    const ids = [...sessions.map((s) => s.sessionId), sessions[0]?.sessionId ?? ''];
    const loaded = await Promise.all(ids.map((id) => loader.load(id)));
    expect(statements).toBe(1);
    expect(loaded.map((l) => l.session?.id)).toEqual(ids);
    expect((await loader.load(crypto.randomUUID())).session).toBeNull();
    expect(statements).toBe(2);
  });

  it('fails every waiting load when the statement fails', async () => {
    const loader = new LiveSessionLoader(db.db, () => ({ epoch: 0, sentAt: 0 }));
    const results = await Promise.allSettled([
      loader.load('00000000-0000-0000-0000-00000000000g'),
      loader.load(crypto.randomUUID()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
