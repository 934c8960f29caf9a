import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../../test/helpers.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

/**
 * One POST with Node's own HTTP client, on a fresh connection, the body written at once (the
 * client is still sending when the server has seen enough). A reset before the answer rejects.
 */
function post(path: string, type: string, body: Buffer): Promise<Answer> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': type, 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const MiB = 1024 * 1024;

describe('a body over MAX_BODY_BYTES', () => {
  it.each([
    ['/trpc/login', 'application/json', 1],
    ['/trpc/login', 'application/json', 5],
    ['/token', 'application/x-www-form-urlencoded', 1],
    ['/token', 'application/x-www-form-urlencoded', 5],
  ])('POST %s (%s, %i MiB), 20 times: every client reads the 413', async (path, type, mib) => {
    const body = Buffer.alloc(mib * MiB, 'a');
    for (let i = 0; i < 20; i++) {
      const answer = await post(path, type, body);
      expect(answer.status).toBe(413);
      expect(answer.connection).toBe('close');
      expect(answer.body).toMatch(/too large/i);
    }
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('under /trpc/ is tRPC’s PAYLOAD_TOO_LARGE; on /token the REST detail', async () => {
    const body = Buffer.alloc(MiB, 'a');
    const trpc = await post('/trpc/login', 'application/json', body);
    expect(JSON.parse(trpc.body)).toEqual({
      error: {
        code: -32013,
        message: 'Request body too large',
        data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413, path: 'login' },
      },
    });
    const rest = await post('/token', 'application/x-www-form-urlencoded', body);
    expect(JSON.parse(rest.body)).toEqual({ detail: 'Request body too large' });
  });
});
