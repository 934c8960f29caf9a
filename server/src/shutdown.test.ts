import { describe, expect, it } from 'vitest';
import { exitCode, startEntryPoint as startServer } from '../test/entry-point.ts';
import { PASSWORD } from '../test/helpers.ts';

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
    // Every request line is out, though lines are written in blocks: flushed on the way out.
    const logins = lines
      .map((l) => JSON.parse(l) as { msg?: string; path?: string; status?: number })
      .filter((entry) => entry.msg === 'request' && entry.path === '/trpc/login');
    expect(logins.map((entry) => entry.status)).toEqual([200, 200, 200]);
    // Nothing accepts connections any more.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 90_000);
});
