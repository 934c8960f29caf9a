import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCode, startEntryPoint, type RunningEntryPoint } from '../test/entry-point.ts';
import { PASSWORD } from '../test/helpers.ts';
import { LOG_FLUSH_MS } from './logger.ts';

/**
 * WORKERS=3: three node:cluster workers behind one port, on a database of their own. Every request
 * here opens a new connection, so the primary hands them to the workers in turn.
 */
const adminUrl = process.env.TEST_DATABASE_URL ?? '';
const database = `lk_workers_${randomBytes(4).toString('hex')}`;
let server: RunningEntryPoint;

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request on a connection of its own. */
function call(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error(`${path}: no answer within 5 s`)));
    req.once('error', reject);
    req.end(init.body);
  });
}

const workerPids = () =>
  readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean);

/** Which workers wrote request lines for `path` so far. */
const workersServing = (path: string) =>
  new Set(
    server.lines
      .map((line) => JSON.parse(line) as { msg?: string; path?: string; worker?: number })
      .filter((entry) => entry.msg === 'request' && entry.path === path)
      .map((entry) => entry.worker),
  );

beforeAll(async () => {
  await admin(`create database ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  server = await startEntryPoint({
    WORKERS: '3',
    DATABASE_URL: url.href,
    LOG_LEVEL: 'info',
  });
}, 90_000);

afterAll(async () => {
  if (server.child.exitCode === null) {
    server.child.kill('SIGKILL');
    await exitCode(server.child);
  }
  await admin(`drop database if exists ${database} with (force)`);
});

describe('WORKERS=3 on PostgreSQL', () => {
  it('serves one port from three worker processes that share sessions and revocations', async () => {
    expect(workerPids()).toHaveLength(3);
    const json = { 'content-type': 'application/json' };
    const credentials = JSON.stringify({ username: 'workers-user', password: PASSWORD });
    expect(
      (await call('/trpc/register', { method: 'POST', headers: json, body: credentials })).status,
    ).toBe(200);
    const login = await call('/trpc/login', { method: 'POST', headers: json, body: credentials });
    expect(login.status).toBe(200);
    const token = (JSON.parse(login.body) as { result: { data: { accessToken: string } } }).result
      .data.accessToken;
    const cookie = String(login.headers['set-cookie']).split(';')[0] ?? '';
    const bearer = { authorization: `Bearer ${token}` };

    const before = await Promise.all(
      Array.from({ length: 9 }, () => call('/trpc/me', { headers: bearer })),
    );
    expect(before.map((r) => r.status)).toEqual(Array(9).fill(200));
    // Request lines are written on finish, in blocks flushed every LOG_FLUSH_MS at the latest.
    const logged = Date.now() + 4 * LOG_FLUSH_MS;
    while (workersServing('/trpc/me').size < 2 && Date.now() < logged) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(workersServing('/trpc/me').size).toBeGreaterThanOrEqual(2);

    // A logout on whichever worker takes it ends the session on all of them within a second.
    const logout = await call('/trpc/logout', {
      method: 'POST',
      headers: { ...json, 'x-latchkey-csrf': '1', cookie },
      body: '{}',
    });
    expect(logout.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await Promise.all(
      Array.from({ length: 9 }, () => call('/trpc/me', { headers: bearer })),
    );
    expect(after.map((r) => r.status)).toEqual(Array(9).fill(401));
  });

  it('replaces a worker that dies, and drains all of them on SIGTERM', async () => {
    const [victim] = workerPids();
    process.kill(Number(victim), 'SIGKILL');
    // The replacement is worker 4: wait until it answers requests itself. Until the primary has
    // seen the death, it may still hand a connection to the dead worker; such a request is lost
    // (as it would be with any process killed outright), so errors are tolerated here only.
    const deadline = Date.now() + 45_000;
    while (!workersServing('/readyz').has(4) && Date.now() < deadline) {
      await call('/readyz').catch(() => null);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(workersServing('/readyz').has(4)).toBe(true);
    expect(workerPids()).toHaveLength(3);
    expect(workerPids()).not.toContain(victim);
    expect(server.lines.some((line) => line.includes('"worker exited; starting another"'))).toBe(
      true,
    );

    const exited = exitCode(server.child);
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stopped = server.lines
      .map((line) => JSON.parse(line) as { msg?: string; worker?: number })
      .filter((entry) => entry.msg === 'shutting down');
    // The primary and each of the three workers drained.
    const ids = stopped.map((entry) => entry.worker ?? 0);
    expect(new Set(ids).size).toBe(4);
    expect(ids).toContain(0);
    expect(ids).toContain(4);
  }, 90_000);
});
