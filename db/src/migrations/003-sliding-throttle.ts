import { sql, type Kysely } from 'kysely';

/**
 * Throttle keys keep the times of their counted attempts instead of a fixed window's count, so no
 * span of the window ever holds more than the limit (a fixed window let twice the limit through
 * around its edge). `throttle_attempt` decides and records an attempt against several keys at once.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('throttle')
    .addColumn('hits', sql`timestamptz[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .execute();
  // The window length is configuration a migration cannot see. An old window's attempts become
  // that many hits at its start (the limit is at most 1000), which refuses exactly as long as the
  // old window did; its strikes are kept for a day, far beyond the default's longest lock (4 h).
  await sql`update throttle set
      hits = array_fill(window_start, array[least(attempts, 1000)]),
      expires_at = window_start + interval '1 day'`.execute(db);
  await db.schema
    .alterTable('throttle')
    .alterColumn('expires_at', (c) => c.setNotNull())
    .dropColumn('window_start')
    .dropColumn('attempts')
    .execute();
  await db.schema
    .createIndex('throttle_expires_at_idx')
    .on('throttle')
    .column('expires_at')
    .execute();

  /*
   * One attempt against `keys` (evaluated in the order given; callers name the client before the
   * account), atomic under concurrency: each key's row is locked while it is judged.
   * - A key refuses while its lock lasts, or when `limit` of its hits lie within the last window;
   *   the second case starts a lockout that ends when the oldest of those hits is `window ×
   *   2^strikes` old (exactly when it leaves the window for the first lockout), and adds a strike
   *   up to `max_strikes`.
   * - The first key that refuses ends the attempt: keys after it are not touched (no row is made
   *   for them) and no key records a hit. Only when every key allows is `now` recorded in each,
   *   keeping the newest `limit` hits (older ones cannot matter), so a key's row is bounded.
   * - `expires_at` is when a row no longer says anything: its last hit and its lock are a window
   *   old. A row found past it starts afresh (strikes forgotten after a quiet window); the purge
   *   deletes rows past it.
   * Returns whether the attempt may proceed, until when it may not, and whether this very attempt
   * started a lockout (the one refusal worth recording).
   */
  await sql`
    create function throttle_attempt(
      keys text[], limits int[], max_strikes int[], window_seconds float8, now timestamptz,
      out allowed boolean, out retry_at timestamptz, out lockout_started boolean)
    language plpgsql as $fn$
    declare
      win constant interval := make_interval(secs => window_seconds);
      r throttle%rowtype;
      live timestamptz[];
      n int;
    begin
      allowed := true;
      lockout_started := false;
      for i in 1 .. cardinality(keys) loop
        select * into r from throttle t where t.key = keys[i] for update;
        if not found then
          insert into throttle (key, hits, strikes, locked_until, expires_at)
            values (keys[i], '{}', 0, null, now) on conflict (key) do nothing;
          select * into strict r from throttle t where t.key = keys[i] for update;
        end if;
        if r.expires_at <= now then
          r.hits := '{}';
          r.strikes := 0;
          r.locked_until := null;
        end if;
        if r.locked_until > now then
          allowed := false;
          retry_at := r.locked_until;
          return;
        end if;
        live := array(select h from unnest(r.hits) h where h > now - win order by h);
        n := cardinality(live);
        if n >= limits[i] then
          allowed := false;
          lockout_started := true;
          retry_at := live[n - limits[i] + 1] + win * power(2, r.strikes);
          update throttle t set
              hits = live,
              strikes = least(r.strikes + 1, max_strikes[i]),
              locked_until = retry_at,
              expires_at = retry_at + win
            where t.key = keys[i];
          return;
        end if;
      end loop;
      for i in 1 .. cardinality(keys) loop
        update throttle t set
            hits = array(
              select h from (
                select h from unnest(t.hits || now) h where h > now - win order by h desc
                limit limits[i]) newest
              order by h),
            strikes = case when t.expires_at <= now then 0 else t.strikes end,
            locked_until = null,
            expires_at = greatest(t.expires_at, now + win)
          where t.key = keys[i];
      end loop;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function throttle_attempt(text[], int[], int[], float8, timestamptz)`.execute(db);
  await db.schema.dropIndex('throttle_expires_at_idx').execute();
  await db.schema
    .alterTable('throttle')
    .addColumn('window_start', 'timestamptz')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update throttle set
      window_start = coalesce(hits[1], expires_at),
      attempts = cardinality(hits)`.execute(db);
  await db.schema
    .alterTable('throttle')
    .alterColumn('window_start', (c) => c.setNotNull())
    .alterColumn('attempts', (c) => c.dropDefault())
    .dropColumn('hits')
    .dropColumn('locked_until')
    .dropColumn('expires_at')
    .execute();
}
