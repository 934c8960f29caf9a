import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyTooLargeError, DRAIN_MAX_BYTES, DRAIN_MAX_MS, readBody } from './request.ts';

const LIMIT = 1024;
let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

/** A real server whose handler reads the body and reports how that ended. */
async function bodyServer() {
  const outcomes: Promise<Buffer | Error>[] = [];
  server = createServer((req, res) => {
    const outcome = readBody(req, LIMIT).then(
      (body) => body,
      (error: unknown) => error as Error,
    );
    outcomes.push(outcome);
    void outcome.then((result) => {
      if (!res.destroyed) res.end(result instanceof Error ? result.name : `${result.length}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { port, outcomes };
}

/** Sends raw request bytes on a new connection; resolves once the socket is connected. */
async function rawRequest(port: number, head: string, chunks: string[]) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(head);
  for (const chunk of chunks) socket.write(chunk);
  return socket;
}

const within = <T>(promise: Promise<T>, ms = 3_000) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung')), ms)),
  ]);

describe('readBody', () => {
  it('reads a chunked body whole', async () => {
    const { port, outcomes } = await bodyServer();
    const head = 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n';
    const socket = await rawRequest(port, head, ['3\r\nabc\r\n', '4\r\ndefg\r\n', '0\r\n\r\n']);
    await until(() => outcomes.length === 1);
    const body = await within(outcomes[0] as Promise<Buffer | Error>);
    expect(body).toEqual(Buffer.from('abcdefg'));
    socket.destroy();
  });

  it('reads an empty body', async () => {
    const { port, outcomes } = await bodyServer();
    const socket = await rawRequest(
      port,
      'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n',
      [],
    );
    await until(() => outcomes.length === 1);
    expect(await within(outcomes[0] as Promise<Buffer | Error>)).toEqual(Buffer.alloc(0));
    socket.destroy();
  });

  it('refuses a chunked body past the limit once it has ended', async () => {
    const { port, outcomes } = await bodyServer();
    const head = 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n';
    const big = `${(LIMIT + 1).toString(16)}\r\n${'x'.repeat(LIMIT + 1)}\r\n`;
    const socket = await rawRequest(port, head, [big, big, '0\r\n\r\n']);
    await until(() => outcomes.length === 1);
    expect(await within(outcomes[0] as Promise<Buffer | Error>)).toBeInstanceOf(BodyTooLargeError);
    socket.destroy();
  });

  it('drains a body past the limit, so the whole request has been read before the answer', async () => {
    const { port, outcomes } = await bodyServer();
    const size = 3 * 1024 * 1024;
    const head = `POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`;
    const socket = await rawRequest(port, head, []);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    // Sent in pieces, slower than the server reads: still draining, nothing answered yet.
    const piece = 'x'.repeat(256 * 1024);
    for (let sent = 0; sent < size; sent += piece.length) {
      expect(answer).toBe('');
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await until(() => outcomes.length === 1);
    expect(await within(outcomes[0] as Promise<Buffer | Error>)).toBeInstanceOf(BodyTooLargeError);
    await until(() => answer.startsWith('HTTP/1.1 200') && answer.endsWith('Error'));
    socket.destroy();
  });

  it('stops draining a client that stalls, after DRAIN_MAX_MS', async () => {
    const { port, outcomes } = await bodyServer();
    const head = 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n';
    const started = Date.now();
    const socket = await rawRequest(port, head, ['x'.repeat(LIMIT * 2)]);
    await until(() => outcomes.length === 1);
    const outcome = await within(outcomes[0] as Promise<Buffer | Error>, DRAIN_MAX_MS + 3_000);
    expect(outcome).toBeInstanceOf(BodyTooLargeError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DRAIN_MAX_MS - 50);
    socket.destroy();
  });

  it('does not drain a body declared larger than DRAIN_MAX_BYTES', async () => {
    const { port, outcomes } = await bodyServer();
    const head = `POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${DRAIN_MAX_BYTES + 1}\r\n\r\n`;
    const socket = await rawRequest(port, head, ['x'.repeat(LIMIT)]);
    await until(() => outcomes.length === 1);
    expect(await within(outcomes[0] as Promise<Buffer | Error>, 1_000)).toBeInstanceOf(
      BodyTooLargeError,
    );
    socket.destroy();
  });

  it('rejects, rather than hanging, when the client goes away mid-body', async () => {
    const { port, outcomes } = await bodyServer();
    const head = 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n';
    const socket = await rawRequest(port, head, ['only ten b']);
    await until(() => outcomes.length === 1);
    socket.destroy();
    const outcome = await within(outcomes[0] as Promise<Buffer | Error>);
    expect(outcome).toBeInstanceOf(Error);
    expect(outcome).not.toBeInstanceOf(BodyTooLargeError);
  });
});

async function until(done: () => boolean, ms = 3_000) {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(done()).toBe(true);
}
