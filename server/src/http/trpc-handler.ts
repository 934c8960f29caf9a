import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { appRouter } from '../routers/index.ts';
import type { Deps } from '../deps.ts';
import { JsonTooDeep } from '../trpc.ts';
import { BodyTooLargeError, readBody } from './request.ts';
import { jsonTooDeep, MAX_JSON_DEPTH } from './json-depth.ts';
import { handleSingleCall, shedPasswordRequest, writeTrpcError } from './trpc-fast.ts';
import { isJsonContent, refusalOf } from './trpc-guard.ts';
import { createTrpcHooks, type TrpcHooks } from './trpc-hooks.ts';
import { answerSettledBatch, isStreamedBatch, type ResolveOptions } from './trpc-settled.ts';

/** The most calls one batch may carry (each still counts toward the throttles). */
export const MAX_BATCH_SIZE = 10;

const bodies = new WeakMap<IncomingMessage, string>();

/**
 * A POST body as text, read once under our own cap (the adapter's limit resets the connection
 * mid-upload) and handed to the adapter as `req.body`. An empty body becomes `{}`: tRPC's client
 * sends a no-input mutation such as `logout.mutate()` as an empty body labelled application/json,
 * which the adapter would fail to parse.
 */
async function readJsonBody(req: IncomingMessage, limit: number): Promise<string> {
  const known = bodies.get(req);
  if (known !== undefined) return known;
  const body = await readBody(req, limit);
  const text = body.length === 0 ? '{}' : body.toString('utf8');
  bodies.set(req, text);
  Object.assign(req, { body: text });
  return text;
}

/** Answers one request under `/trpc/`; `path` is the procedure path (after `/trpc/`, undecoded). */
export type TrpcHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  search: URLSearchParams,
) => Promise<void>;

/**
 * A POST body, or null when it was over the limit and has been answered: tRPC's PAYLOAD_TOO_LARGE
 * in tRPC's shape, and the connection closed (the rest of the body was drained; see readBody).
 */
async function bodyOrTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  search: URLSearchParams,
  deps: Deps,
  hooks: TrpcHooks,
): Promise<string | null> {
  try {
    return await readJsonBody(req, deps.config.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    const tooLarge = new TRPCError({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'Request body too large',
    });
    res.setHeader('connection', 'close');
    writeTrpcError(req, res, path, search, hooks, tooLarge);
    return null;
  }
}

/**
 * tRPC's adapter as tRPC ships it (every request shape, batching included), behind the refusals
 * it would get wrong (trpc-guard.ts), with streamed batches answered once settled
 * (trpc-settled.ts).
 */
export function createAdapterHandler(
  deps: Deps,
  hooks: TrpcHooks = createTrpcHooks(deps),
): TrpcHandler {
  return async (req, res, path, search) => {
    if (
      req.method === 'POST' &&
      (await bodyOrTooLarge(req, res, path, search, deps, hooks)) === null
    ) {
      return;
    }
    const refusal = await refusalOf(req, path, search);
    if (refusal) return writeTrpcError(req, res, path, search, hooks, refusal);
    const options = {
      router: appRouter,
      maxBatchSize: MAX_BATCH_SIZE,
      allowMethodOverride: false,
      createContext: () => Promise.resolve(hooks.createContext(req, res)),
      responseMeta: ({ ctx, errors }) => ({
        headers: hooks.responseHeaders(req.method, ctx, errors),
      }),
      // Typed by hand: the adapter and the resolver pass different request types, both unused.
      onError: ({ error, path: procedure }: { error: TRPCError; path: string | undefined }) =>
        hooks.onError(error, procedure, req),
    } satisfies ResolveOptions;
    if (isStreamedBatch(req, search)) return answerSettledBatch(req, res, path, options);
    return nodeHTTPRequestHandler({
      ...options,
      req,
      res,
      path,
      maxBodySize: deps.config.maxBodyBytes,
    });
  };
}

/**
 * `/trpc/*`: single queries and mutations (the hot paths: `me`, `sessions.list`, `login`,
 * `refresh`) go through a lean handler that produces the adapter's exact bytes without its
 * per-request WHATWG Request/Headers/stream work; everything else goes through the adapter.
 */
export function createTrpcHandler(deps: Deps): TrpcHandler {
  const hooks = createTrpcHooks(deps);
  const adapter = createAdapterHandler(deps, hooks);
  return async (req, res, path, search) => {
    if (shedPasswordRequest(req, res, path, search, hooks, () => deps.hasher.saturated())) return;
    let input = search.get('input');
    if (req.method === 'POST') {
      const body = await bodyOrTooLarge(req, res, path, search, deps, hooks);
      if (body === null) return;
      // A body that is not JSON is refused by the adapter's guard, unparsed.
      input = isJsonContent(req) ? body : null;
    }
    if (input !== null && jsonTooDeep(input)) {
      const cause = new JsonTooDeep(`Input is nested deeper than ${MAX_JSON_DEPTH} levels`);
      const error = new TRPCError({ code: 'PARSE_ERROR', cause });
      return writeTrpcError(req, res, path, search, hooks, error);
    }
    const body = req.method === 'POST' ? input : null;
    if (await handleSingleCall(req, res, path, search, body, hooks)) return;
    return adapter(req, res, path, search);
  };
}
