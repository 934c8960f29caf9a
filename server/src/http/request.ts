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

/** Reads a request body up to `limit` bytes; past that, stops reading and throws. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) return Promise.reject(new BodyTooLargeError('body too large'));
  // Plain listeners rather than `for await`: the async iterator costs more than the read itself
  // for the small bodies this server takes.
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (req.destroyed) return Promise.reject(new Error('request closed before its body ended'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | null) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop reading; the caller answers 413 and closes the connection.
        req.pause();
        settle(new BodyTooLargeError('body too large'));
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
