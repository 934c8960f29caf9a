import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { bearerToken, type Context } from '../context.ts';
import { appRouter } from '../routers/index.ts';
import type { Deps } from '../services.ts';
import { JsonTooDeep, RetryAfter } from '../trpc.ts';
import { readBody, requestFacts, requestIdOf } from './request.ts';
import { bearerChallenge } from './respond.ts';
import { jsonTooDeep, MAX_JSON_DEPTH } from './json-depth.ts';
import { handleSingleCall, shedPasswordRequest, writeTrpcError } from './trpc-fast.ts';

/** The most calls one batch may carry (each still counts toward the throttles). */
export const MAX_BATCH_SIZE = 10;

/** What both the adapter and the fast path do around a call: context, headers, error logging. */
export interface TrpcHooks {
  createContext(req: IncomingMessage, res: ServerResponse): Context;
  responseHeaders(ctx: Context | undefined, errors: TRPCError[]): Record<string, string>;
  onError(error: TRPCError, procedure: string | undefined, req: IncomingMessage): void;
}

export function createTrpcHooks(deps: Deps): TrpcHooks {
  return {
    createContext: (req, res) => ({
      deps,
      req: requestFacts(req, deps.config.trustProxy),
      res: { setCookie: (cookie) => res.appendHeader('set-cookie', cookie) },
    }),
    responseHeaders(ctx, errors) {
      // The adapter sets Vary itself; Origin is added because CORS answers depend on it.
      const headers: Record<string, string> = {
        'cache-control': 'no-store',
        vary: 'trpc-accept, accept, Origin',
      };
      if (errors.some((e) => e.code === 'UNAUTHORIZED')) {
        const presented = ctx ? bearerToken(ctx.req.authorization).kind !== 'none' : false;
        headers['www-authenticate'] = bearerChallenge(presented);
      }
      const wait = errors
        .map((e) => (e.cause instanceof RetryAfter ? e.cause.seconds : 0))
        .reduce((a, b) => Math.max(a, b), 0);
      if (wait > 0) headers['retry-after'] = String(wait);
      return headers;
    },
    onError(error, procedure, req) {
      if (error.code !== 'INTERNAL_SERVER_ERROR') return;
      const cause = error.cause;
      deps.logger.error(
        {
          requestId: requestIdOf(req),
          procedure,
          err: { type: cause?.name ?? 'Error', message: cause?.message ?? error.message },
        },
        'internal error',
      );
    },
  };
}

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

/** The tRPC adapter, exactly as tRPC ships it (every request shape, batching included). */
export function createAdapterHandler(deps: Deps, hooks: TrpcHooks = createTrpcHooks(deps)) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (req.method === 'POST') await readJsonBody(req, deps.config.maxBodyBytes);
    return nodeHTTPRequestHandler({
      req,
      res,
      path,
      router: appRouter,
      maxBodySize: deps.config.maxBodyBytes,
      maxBatchSize: MAX_BATCH_SIZE,
      allowMethodOverride: false,
      createContext: () => hooks.createContext(req, res),
      responseMeta: ({ ctx, errors }) => ({ headers: hooks.responseHeaders(ctx, errors) }),
      onError: ({ error, path: procedure }) => hooks.onError(error, procedure, req),
    });
  };
}

/**
 * `/trpc/*`: single queries and mutations (the hot paths: `me`, `sessions.list`, `login`,
 * `refresh`) go through a lean handler that produces the adapter's exact bytes without its
 * per-request WHATWG Request/Headers/stream work; everything else goes through the adapter.
 */
export function createTrpcHandler(deps: Deps) {
  const hooks = createTrpcHooks(deps);
  const adapter = createAdapterHandler(deps, hooks);
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    search: URLSearchParams,
  ): Promise<void> => {
    if (shedPasswordRequest(req, res, path, search, hooks, () => deps.hasher.saturated())) return;
    const body = req.method === 'POST' ? await readJsonBody(req, deps.config.maxBodyBytes) : null;
    const input = body ?? search.get('input');
    if (input !== null && jsonTooDeep(input)) {
      const cause = new JsonTooDeep(`Input is nested deeper than ${MAX_JSON_DEPTH} levels`);
      const error = new TRPCError({ code: 'PARSE_ERROR', cause });
      return writeTrpcError(req, res, path, search, hooks, error);
    }
    if (await handleSingleCall(req, res, path, search, body, hooks)) return;
    return adapter(req, res, path);
  };
}
