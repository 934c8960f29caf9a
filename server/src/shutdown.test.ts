import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { PASSWORD, TEST_SECRET } from '../test/helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Starts the real entry point and resolves with its URL once it logs "listening". */
function startServer(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      DATABASE_URL: 'pglite:memory',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'latchkey-shutdown-')),
      JWT_SECRET: TEST_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 45_000);
    createInterface({ input: child.stdout ?? process.stdin }).on('line', (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'listening' && entry.url) {
        clearTimeout(timer);
        resolve({ child, url: entry.url, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
  });
}

const exitCode = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('graceful shutdown', () => {
  it('on SIGTERM finishes in-flight requests, then exits 0', async () => {
    // Slow hashing keeps the requests in flight while the signal arrives.
    const { child, url, lines } = await startServer({ ARGON2_TIME_COST: '12', LOG_LEVEL: 'info' });
    const post = (path: string, body: unknown) =>
      fetch(`${url}/trpc/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('register', { username: 'shutdown-user', password: PASSWORD })).status).toBe(
      200,
    );
    const inFlight = Array.from({ length: 3 }, () =>
      post('login', { username: 'shutdown-user', password: PASSWORD }).then((r) => r.status),
    );
    await new Promise((r) => setTimeout(r, 100));
    const exited = exitCode(child);
    child.kill('SIGTERM');
    expect(await Promise.all(inFlight)).toEqual([200, 200, 200]);
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('"shutting down"'))).toBe(true);
    // Nothing accepts connections any more.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 90_000);
});
