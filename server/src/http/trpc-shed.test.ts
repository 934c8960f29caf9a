import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';
import { SHED_PAUSE_MS } from './hold.ts';
import { createAdapterHandler } from './trpc-handler.ts';

/** One admitted password operation at a time, slow enough to hold the slot during the test. */
type App = Awaited<ReturnType<typeof startTestServer>>;
let app: App;
let adapterServer: Server;
let adapterUrl: string;

beforeAll(async () => {
  app = await startTestServer(
    {},
    {
      argon2: { memoryCost: 19_456, timeCost: 40, parallelism: 1 },
      hashConcurrency: 1,
      hashQueue: 0,
    },
  );
  const adapter = createAdapterHandler(app.deps);
  adapterServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    void adapter(req, res, url.pathname.replace(/^\/trpc\//, ''), url.searchParams);
  });
  await new Promise<void>((resolve) => adapterServer.listen(0, '127.0.0.1', resolve));
  adapterUrl = `http://127.0.0.1:${(adapterServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => adapterServer.close(resolve));
  await app.close();
});

const login = (base: string) =>
  fetch(`${base}/trpc/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: uniqueName(), password: PASSWORD }),
  });

describe('shedding logins when hashing is at capacity', () => {
  it('answers at once with the same 503 the procedure would give, and recovers', async () => {
    const holder = login(app.url); // occupies the only slot for the length of one slow hash
    await new Promise((r) => setTimeout(r, 50));
    const shed = await login(app.url);
    const reference = await login(adapterUrl);
    const pick = async (r: Response) => ({
      status: r.status,
      retryAfter: r.headers.get('retry-after'),
      type: r.headers.get('content-type'),
      body: await r.text(),
    });
    // The lean shed writes one sized body; the adapter streams.
    expect(shed.headers.get('content-length')).not.toBeNull();
    expect(shed.headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
    expect(shed.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reference.headers.get('content-length')).toBeNull();
    const [a, b] = await Promise.all([pick(shed), pick(reference)]);
    expect(a).toEqual(b);
    expect(a.status).toBe(503);
    expect(a.retryAfter).toBe('1');
    expect(JSON.parse(a.body)).toMatchObject({
      error: { message: 'Server busy, try again later', data: { code: 'SERVICE_UNAVAILABLE' } },
    });
    expect((await holder).status).toBe(401);
    expect((await login(app.url)).status).toBe(401);
  }, 60_000);
});

const loginBody = JSON.stringify({ username: 'nobody-here', password: PASSWORD });
const tokenBody = new URLSearchParams({ username: 'nobody-here', password: PASSWORD }).toString();

describe('the connection of a refused login', () => {
  it.each([
    ['POST /trpc/login', 'application/json', loginBody],
    ['POST /token', 'application/x-www-form-urlencoded', tokenBody],
  ])(
    '%s: gets its 503 at once, and its next request waits SHED_PAUSE_MS',
    async (line, type, body) => {
      const holder = login(app.url); // occupies the only slot for the length of one slow hash
      await new Promise((r) => setTimeout(r, 50));
      const socket = connect(Number(new URL(app.url).port), '127.0.0.1');
      await once(socket, 'connect');
      let received = '';
      const answers: number[] = [];
      socket.on('data', (d: Buffer) => {
        received += d.toString('latin1');
        const count = received.split('HTTP/1.1 ').length - 1;
        while (answers.length < count) answers.push(performance.now());
      });
      const started = performance.now();
      socket.write(
        `${line} HTTP/1.1\r\nHost: t\r\nContent-Type: ${type}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      for (let i = 0; i < 100 && answers.length < 1; i++)
        await new Promise((r) => setTimeout(r, 5));
      socket.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
      for (let i = 0; i < 200 && answers.length < 2; i++)
        await new Promise((r) => setTimeout(r, 5));
      socket.destroy();
      expect(received).toMatch(/^HTTP\/1\.1 503 /);
      expect(received).toMatch(/retry-after: 1\r\n/i);
      expect(received).toContain('{"status":"ok"}');
      const [first = Infinity, second = Infinity] = answers;
      expect(first - started).toBeLessThan(SHED_PAUSE_MS / 2);
      expect(second - started).toBeGreaterThanOrEqual(SHED_PAUSE_MS - 10);
      // Another connection is served meanwhile.
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      expect((await holder).status).toBe(401);
    },
    60_000,
  );
});
