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

/** `WWW-Authenticate` for a 401: with `error="invalid_token"` when a token was presented. */
export function bearerChallenge(tokenPresented: boolean): string {
  return tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer';
}
