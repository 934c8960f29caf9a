import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  getErrorShape,
  getTRPCErrorFromUnknown,
  transformTRPCResponse,
  TRPCError,
} from '@trpc/server';
import { getHTTPStatusCode } from '@trpc/server/http';
import type { TRPCResponse } from '@trpc/server/rpc';
import { appRouter } from '../routers/index.ts';
import { RetryAfter } from '../trpc.ts';
import { holdConnection } from './hold.ts';
import { isJsonContent } from './trpc-guard.ts';
import { getProcedureAtPath } from './trpc-internals.ts';
import { isStreamedBatch } from './trpc-settled.ts';
import type { TrpcHooks } from './trpc-hooks.ts';

const config = appRouter._def._config;

interface PreparedResponse {
  status: number;
  /** In name order, as the adapter's WHATWG Headers iterate. */
  headers: Array<[string, string]>;
  body: string;
}

/** A tRPC response (or a batch of them) with the adapter's status, header set and body. */
function prepare(
  response: TRPCResponse | TRPCResponse[],
  extraHeaders: Record<string, string>,
): PreparedResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders };
  return {
    status: getHTTPStatusCode(response),
    headers: Object.keys(headers)
      .sort()
      .map((name) => [name, headers[name] ?? '']),
    body: JSON.stringify(transformTRPCResponse(config, response)),
  };
}

function writePrepared(res: ServerResponse, prepared: PreparedResponse): void {
  for (const [name, value] of prepared.headers) res.setHeader(name, value);
  res.statusCode = prepared.status;
  res.end(prepared.body);
}

/**
 * How a whole-request error is written: one object for a single call; for a batch one per call
 * (the status is then the calls' common one), as the adapter answers a batch whose every call
 * fails; for a streamed batch one object with no path, which the stream link applies to every
 * call (it reads a non-2xx answer as one object, never as an array).
 */
type ErrorForm = 'single' | 'batch' | 'streamed';

/** The answer to a whole request that fails with one error. Nothing runs, no context is made. */
function errorResponse(
  method: string | undefined,
  rawPath: string,
  form: ErrorForm,
  hooks: TrpcHooks,
  error: TRPCError,
): PreparedResponse {
  const type = method === 'POST' ? 'mutation' : 'query';
  const shapeFor = (path: string | undefined): TRPCResponse => ({
    error: getErrorShape({ config, ctx: undefined, error, input: undefined, path, type }),
  });
  const headers = hooks.responseHeaders(method, undefined, [error]);
  if (form === 'batch') return prepare(rawPath.split(',').map(shapeFor), headers);
  return prepare(shapeFor(form === 'single' ? rawPath : undefined), headers);
}

/** Answers a whole request with one error, in the adapter's shape (see errorResponse). */
export function writeTrpcError(
  req: IncomingMessage,
  res: ServerResponse,
  rawPath: string,
  search: URLSearchParams,
  hooks: TrpcHooks,
  error: TRPCError,
): void {
  const form: ErrorForm =
    search.get('batch') !== '1' ? 'single' : isStreamedBatch(req, search) ? 'streamed' : 'batch';
  writePrepared(res, errorResponse(req.method, rawPath, form, hooks, error));
}

/** The shed answer per procedure: always the same bytes, so it is built once. */
const shedResponses = new WeakMap<TrpcHooks, Map<string, PreparedResponse>>();

function shedResponse(hooks: TrpcHooks, path: string): PreparedResponse {
  let byPath = shedResponses.get(hooks);
  if (!byPath) shedResponses.set(hooks, (byPath = new Map<string, PreparedResponse>()));
  let prepared = byPath.get(path);
  if (!prepared) {
    const error = new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'Server busy, try again later',
      cause: new RetryAfter(1),
    });
    prepared = errorResponse('POST', path, 'single', hooks, error);
    byPath.set(path, prepared);
  }
  return prepared;
}

/**
 * Answers a login or registration with the 503 it would get anyway when password hashing is
 * already at capacity — without reading its body or running the procedure, so a login flood
 * costs the event loop as little as possible and `me` keeps being served.
 */
export function shedPasswordRequest(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  search: URLSearchParams,
  hooks: TrpcHooks,
  saturated: () => boolean,
): boolean {
  if (
    req.method !== 'POST' ||
    search.has('batch') ||
    !SHEDDABLE.has(path) ||
    !isJsonContent(req) ||
    !saturated()
  ) {
    return false;
  }
  req.resume();
  writePrepared(res, shedResponse(hooks, path));
  holdConnection(req.socket);
  return true;
}

const SHEDDABLE = new Set(['login', 'register']);

/**
 * The procedure type a request may be answered as on the lean path: a GET of one query or a JSON
 * POST of one mutation; nothing streamed, nothing batched. Null for everything else.
 */
function singleCallType(
  req: IncomingMessage,
  path: string,
  search: URLSearchParams,
): 'query' | 'mutation' | null {
  if (search.has('batch') || path.includes(',')) return null;
  const accept = req.headers['trpc-accept'] ?? req.headers.accept ?? '';
  if (accept.includes('application/jsonl')) return null;
  if (req.method === 'GET') return 'query';
  if (req.method === 'POST' && isJsonContent(req)) return 'mutation';
  return null;
}

/**
 * Serves one tRPC query or mutation with tRPC's own building blocks (procedure lookup, call, error
 * shape, status mapping, response transform) and writes the same status, headers and body as the
 * adapter. `body` is a POST's text, already read (see readJsonBody). Returns false, having written
 * nothing, for any request it does not take; the adapter then answers it (including every
 * malformed case, so error bodies stay the adapter's own).
 */
export async function handleSingleCall(
  req: IncomingMessage,
  res: ServerResponse,
  rawPath: string,
  search: URLSearchParams,
  body: string | null,
  hooks: TrpcHooks,
): Promise<boolean> {
  const type = singleCallType(req, rawPath, search);
  if (!type) return false;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  const procedure = await getProcedureAtPath(appRouter, path);
  if (procedure?._def.type !== type) return false;
  let input: unknown;
  const rawInput = type === 'query' ? search.get('input') : body;
  if (rawInput) {
    try {
      input = JSON.parse(rawInput) as unknown;
    } catch {
      return false;
    }
  }
  const ctx = hooks.createContext(req, res);
  let response: TRPCResponse;
  let errors: ReturnType<typeof getTRPCErrorFromUnknown>[] = [];
  try {
    const data: unknown = await procedure({
      path,
      getRawInput: () => Promise.resolve(input),
      ctx,
      type,
      signal: undefined,
      batchIndex: 0,
    });
    response = { result: { data } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    hooks.onError(error, path, req);
    errors = [error];
    response = { error: getErrorShape({ config, ctx, error, input, path, type }) };
  }
  writePrepared(res, prepare(response, hooks.responseHeaders(req.method, ctx, errors)));
  return true;
}
