import type { IncomingMessage } from 'node:http';
import { CSRF_HEADER } from '@latchkey/shared';
import type { TrustProxy } from '../config.ts';
import type { RequestFacts } from '../context.ts';
import { clientAddress } from './client-address.ts';
import { readRefreshCookie } from './cookies.ts';

function single(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

const requestIds = new WeakMap<IncomingMessage, string>();

/** Remembers the id given to a request, so everything that logs about it can name it. */
export function tagRequest(req: IncomingMessage, requestId: string): void {
  requestIds.set(req, requestId);
}

export function requestIdOf(req: IncomingMessage): string | null {
  return requestIds.get(req) ?? null;
}

export function requestFacts(req: IncomingMessage, trust: TrustProxy): RequestFacts {
  const h = req.headers;
  return {
    authorization: req.headersDistinct.authorization ?? [],
    refreshToken: readRefreshCookie(h.cookie),
    clientAddress: clientAddress(req, trust),
    userAgent: h['user-agent']?.slice(0, 512) ?? null,
    origin: single(h.origin),
    secFetchSite: single(h['sec-fetch-site']),
    csrfHeader: single(h[CSRF_HEADER]),
    contentType: h['content-type'] ?? null,
    requestId: requestIdOf(req),
  };
}

export class BodyTooLargeError extends Error {
  readonly code = 'BODY_TOO_LARGE';
}

/**
 * How much of a body over the limit is read and thrown away before the 413, and for how long at
 * most. Closing a connection while its client is still sending resets it, and the client then
 * sees the reset instead of the answer; a body up to this size is drained first, so the 413 can
 * be read. Anything larger or slower is answered and cut off.
 */
export const DRAIN_MAX_BYTES = 10 * 1024 * 1024;
export const DRAIN_MAX_MS = 5_000;

/**
 * Reads and discards the rest of a request body, having read `seen` bytes of it; settles when it
 * ended, closed, passed DRAIN_MAX_BYTES, or took DRAIN_MAX_MS. Never rejects.
 */
function drain(req: IncomingMessage, seen: number): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (req.readableEnded || req.destroyed || declared > DRAIN_MAX_BYTES) return Promise.resolve();
  return new Promise((resolve) => {
    let size = seen;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData).off('end', done).off('error', done).off('close', done);
      // Later data is no longer read; the 413 closes the connection.
      req.pause();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_MAX_BYTES) done();
    };
    const timer = setTimeout(done, DRAIN_MAX_MS);
    req.on('data', onData).on('end', done).on('error', done).on('close', done);
    req.resume();
  });
}

const tooLarge = () => new BodyTooLargeError('body too large');

/**
 * Reads a request body up to `limit` bytes. Past that it rejects with BodyTooLargeError, once the
 * rest has been drained (see DRAIN_MAX_BYTES); the caller answers 413 and closes the connection.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) return drain(req, 0).then(() => Promise.reject(tooLarge()));
  // Plain listeners rather than `for await`: the async iterator costs more than the read itself
  // for the small bodies this server takes.
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (req.destroyed) return Promise.reject(new Error('request closed before its body ended'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const detach = () =>
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    const settle = (error: Error | null) => {
      detach();
      if (error) reject(error);
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        detach();
        void drain(req, size).then(() => reject(tooLarge()));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle(null);
    const onError = (error: Error) => settle(error);
    // Closed before the end: the client went away mid-body.
    const onClose = () => settle(new Error('request closed before its body ended'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}
