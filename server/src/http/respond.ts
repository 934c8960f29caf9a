import type { RestFailure } from '../public-errors.ts';
import type { ServerResponse } from 'node:http';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

export const notFound = (res: ServerResponse) => sendJson(res, 404, { detail: 'Not Found' });

export function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendJson(res, 405, { detail: 'Method Not Allowed' }, { allow });
}

/** A failure from the public table (public-errors.ts) as a REST answer, with `extraHeaders` first. */
export function sendFailure(
  res: ServerResponse,
  failure: RestFailure,
  extraHeaders: Record<string, string>,
): void {
  sendJson(res, failure.status, failure.body, { ...extraHeaders, ...failure.headers });
}
