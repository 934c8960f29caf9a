import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLog, PASSWORD, testConfig } from '../test/helpers.ts';
import { startApp, type RunningApp } from './app.ts';

/**
 * Runs against a throwaway PostgreSQL cluster that the test stops and starts under a live server.
 * Needs the Debian PostgreSQL binaries and root (initdb runs as the postgres user).
 */
const BIN = join(
  '/usr/lib/postgresql',
  readdirSync('/usr/lib/postgresql').sort().at(-1) ?? '',
  'bin',
);
const asPostgres = (tool: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args], { stdio: 'pipe' });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

let dir: string;
let port: number;
let app: RunningApp;
const start = () =>
  asPostgres('pg_ctl', [
    '-D',
    dir,
    '-w',
    '-l',
    join(dir, 'log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    'start',
  ]);
const stop = () => asPostgres('pg_ctl', ['-D', dir, '-w', '-m', 'immediate', 'stop']);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-pg-'));
  chmodSync(dir, 0o700);
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  chownSync(dir, id('-u'), id('-g'));
  port = await freePort();
  asPostgres('initdb', ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  start();
  const config = testConfig({
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
    SESSION_CACHE_MS: '0',
    HOST: '127.0.0.1',
  });
  app = await startApp(config, { logger: memoryLog().logger });
}, 120_000);

afterAll(async () => {
  await app?.close();
  try {
    stop();
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) =>
  fetch(`${app.url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('database outage', () => {
  it('fails fast with 503 while PostgreSQL is down and recovers by itself, losing nothing', async () => {
    expect((await post('register', { username: 'before-outage', password: PASSWORD })).status).toBe(
      200,
    );
    const login = (await (
      await post('login', { username: 'before-outage', password: PASSWORD })
    ).json()) as {
      result: { data: { accessToken: string } };
    };
    const me = () =>
      fetch(`${app.url}/trpc/me`, {
        headers: { authorization: `Bearer ${login.result.data.accessToken}` },
      });
    expect((await me()).status).toBe(200);

    stop();
    const started = Date.now();
    const down = await me();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(down.status).toBe(503);
    const body = await down.text();
    expect(body).toContain('Service temporarily unavailable');
    expect(body).not.toMatch(/ECONNREFUSED|stack|pg|postgres/i);
    expect(down.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${app.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const refusedWrite = await post('register', { username: 'during-outage', password: PASSWORD });
    expect(refusedWrite.status).toBe(503);

    start();
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      status = (await me()).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    // The write acknowledged before the outage survived it.
    expect((await post('login', { username: 'before-outage', password: PASSWORD })).status).toBe(
      200,
    );
  }, 120_000);
});
