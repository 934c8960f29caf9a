import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  getErrorShape,
  getHTTPStatusCode,
  getProcedureAtPath,
  getTRPCErrorFromUnknown,
  transformTRPCResponse,
  type TRPCResponse,
} from '@trpc/server/unstable-core-do-not-import';
import { TRPCError } from '@trpc/server';
import { appRouter } from '../routers/index.ts';
import { RetryAfter } from '../trpc.ts';
import type { TrpcHooks } from './trpc-handler.ts';

const config = appRouter._def._config;

/** Writes one non-batched tRPC response with the adapter's status, header set and body. */
function writeTrpcResponse(
  res: ServerResponse,
  response: TRPCResponse,
  extraHeaders: Record<string, string>,
): void {
  const body = JSON.stringify(transformTRPCResponse(config, response));
  // The adapter's header set: WHATWG Headers iterate in name order.
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders };
  for (const name of Object.keys(headers).sort()) res.setHeader(name, headers[name] ?? '');
  res.statusCode = getHTTPStatusCode(response);
  res.end(body);
}

/**
 * Answers a whole request with one error, in the adapter's shape: one error object, or for a batch
 * one per call (the status is then the calls' common one). Nothing runs and no context is made.
 */
export function writeTrpcError(
  req: IncomingMessage,
  res: ServerResponse,
  rawPath: string,
  search: URLSearchParams,
  hooks: TrpcHooks,
  error: TRPCError,
): void {
  const type = req.method === 'POST' ? 'mutation' : 'query';
  const batch = search.get('batch') === '1';
  const responses: TRPCResponse[] = (batch ? rawPath.split(',') : [rawPath]).map((path) => ({
    error: getErrorShape({ config, ctx: undefined, error, input: undefined, path, type }),
  }));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...hooks.responseHeaders(undefined, [error]),
  };
  for (const name of Object.keys(headers).sort()) res.setHeader(name, headers[name] ?? '');
  res.statusCode = getHTTPStatusCode(responses);
  const body = batch ? responses : responses[0];
  res.end(JSON.stringify(transformTRPCResponse(config, body as TRPCResponse)));
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
  if (req.method !== 'POST' || search.has('batch') || !SHEDDABLE.has(path) || !saturated()) {
    return false;
  }
  req.resume();
  const error = new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: 'Server busy, try again later',
    cause: new RetryAfter(1),
  });
  writeTrpcError(req, res, path, search, hooks, error);
  return true;
}

const SHEDDABLE = new Set(['login', 'register']);

/** Requests the lean path takes: a plain GET of one query, nothing streamed, nothing batched. */
function isSingleQueryRequest(req: IncomingMessage, path: string, search: URLSearchParams) {
  if (req.method !== 'GET' || search.has('batch') || path.includes(',')) return false;
  const accept = req.headers['trpc-accept'] ?? req.headers.accept ?? '';
  return !accept.includes('application/jsonl');
}

/**
 * Serves one tRPC query with tRPC's own building blocks (procedure lookup, call, error shape,
 * status mapping, response transform) and writes the same status, headers and body as the
 * adapter. Returns false, having written nothing, for any request it does not take; the adapter
 * then answers it (including every malformed case, so error bodies stay the adapter's own).
 */
export async function handleSingleQuery(
  req: IncomingMessage,
  res: ServerResponse,
  rawPath: string,
  search: URLSearchParams,
  hooks: TrpcHooks,
): Promise<boolean> {
  if (!isSingleQueryRequest(req, rawPath, search)) return false;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  const procedure = await getProcedureAtPath(appRouter, path);
  if (procedure?._def.type !== 'query') return false;
  let input: unknown;
  const rawInput = search.get('input');
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
      type: 'query',
      signal: undefined,
      batchIndex: 0,
    });
    response = { result: { data } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    hooks.onError(error, path, req);
    errors = [error];
    response = { error: getErrorShape({ config, ctx, error, input, path, type: 'query' }) };
  }
  writeTrpcResponse(res, response, hooks.responseHeaders(ctx, errors));
  return true;
}
