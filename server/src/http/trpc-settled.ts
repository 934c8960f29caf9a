import type { IncomingMessage, ServerResponse } from 'node:http';
import { incomingMessageToRequest } from '@trpc/server/adapters/node-http';
import { resolveResponse } from '@trpc/server/http';
import type { AppRouter } from '../routers/index.ts';
import { jsonlStreamProducer } from './trpc-internals.ts';

/**
 * A streamed batch (`httpBatchStreamLink`): `trpc-accept: application/jsonl`, or an Accept header
 * naming it, as tRPC's own test reads them. Only batches stream; tRPC refuses the rest itself.
 */
export function isStreamedBatch(req: IncomingMessage, search: URLSearchParams): boolean {
  if (search.get('batch') !== '1') return false;
  const trpcAccept = req.headers['trpc-accept'];
  if (trpcAccept !== undefined) return trpcAccept === 'application/jsonl';
  return (req.headers.accept ?? '').split(',').some((t) => t.trim() === 'application/jsonl');
}

/** What tRPC's resolver needs besides the request itself: the same options the adapter gets. */
export type ResolveOptions = Omit<
  Parameters<typeof resolveResponse<AppRouter>>[0],
  'req' | 'path' | 'error'
>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Answers a streamed batch only once every call in it has finished. tRPC's adapter sends a
 * streamed batch's status and headers before its procedures run, so a Set-Cookie from `login`
 * or `refresh` comes too late (the call fails after it has changed state) and a 401 or 429 goes
 * out without `WWW-Authenticate` or `Retry-After`. Here tRPC resolves the batch as a plain one —
 * every call settled, the headers computed from the real errors — and the results are written
 * in the form the stream link reads: a batch of one failed call as that one error with its own
 * status (the link applies a non-2xx body to every call), anything else as JSON lines from tRPC's
 * own producer, 200, in one write.
 */
export async function answerSettledBatch(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  options: ResolveOptions,
): Promise<void> {
  const request = incomingMessageToRequest(req, res, { maxBodySize: null });
  request.headers.delete('trpc-accept');
  request.headers.delete('accept');
  const response = await resolveResponse({
    ...options,
    req: request,
    path,
    error: null,
  });
  const text = await response.text();
  const settled = JSON.parse(text) as unknown;
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const single = Array.isArray(settled) && settled.length === 1 ? (settled[0] as unknown) : null;
  if (!Array.isArray(settled) || (isRecord(single) && 'error' in single)) {
    // A whole-request failure (tRPC's own single error object) or one failed call.
    res.statusCode = response.status;
    res.end(single === null ? text : JSON.stringify(single));
    return;
  }
  const lines = await new Response(jsonlStreamProducer({ data: settled })).text();
  res.statusCode = 200;
  res.end(lines);
}
