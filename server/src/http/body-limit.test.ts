import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
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

/**
 * A client that sends its whole request, a piece at a time as a network would deliver it, before
 * it reads anything — as many synchronous clients do. It sees the answer only if the server let
 * it finish sending; a server that closes early makes its writes fail (EPIPE, reset) instead.
 */
async function sendThenRead(path: string, type: string, size: number): Promise<string> {
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.pause();
  let failure: Error | null = null;
  socket.on('error', (error) => (failure = error));
  const write = (data: string | Buffer) =>
    new Promise<void>((resolve) =>
      socket.write(data, (error) => {
        if (error) failure = error;
        setTimeout(resolve, 1);
      }),
    );
  await write(
    `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: ${type}\r\nContent-Length: ${size}\r\n\r\n`,
  );
  const piece = Buffer.alloc(64 * 1024, 'a');
  for (let sent = 0; sent < size && failure === null; sent += piece.length) {
    await write(piece.subarray(0, Math.min(piece.length, size - sent)));
  }
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.resume();
  if (!socket.destroyed) {
    await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 3_000))]);
  }
  socket.destroy();
  return failure === null ? received : `failed while sending: ${String(failure)}`;
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

  it.each([
    ['/trpc/login', 'application/json', 1],
    ['/trpc/login', 'application/json', 5],
    ['/token', 'application/x-www-form-urlencoded', 1],
    ['/token', 'application/x-www-form-urlencoded', 5],
  ])(
    'POST %s (%s, %i MiB), 20 times from a client that reads only after sending: every one reads the 413',
    async (path, type, mib) => {
      for (let i = 0; i < 20; i++) {
        const received = await sendThenRead(path, type, mib * MiB);
        expect(received).toMatch(/^HTTP\/1\.1 413 [^]*\r\nconnection: close\r\n[^]*too large/i);
      }
    },
    60_000,
  );

  it('over DRAIN_MAX_BYTES the 413 is sent at once, and the server stays healthy', async () => {
    const received = await sendThenRead('/token', 'application/x-www-form-urlencoded', 11 * MiB);
    // The answer may or may not reach a client still sending; the server must not wait for it.
    expect(received).toMatch(/^(HTTP\/1\.1 413 |failed while sending)/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
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
