import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';
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
    void adapter(req, res, new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/trpc\//, ''));
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
