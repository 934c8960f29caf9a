import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TRPCError } from '@trpc/server';
import { bearerToken, type Context } from '../context.ts';
import type { Deps } from '../deps.ts';
import { RetryAfter } from '../trpc.ts';
import { refreshCookieSink } from './cookies.ts';
import { requestFacts, requestIdOf } from './request.ts';
import { bearerChallenge } from './respond.ts';
import { allowHeader } from './trpc-guard.ts';

/** What both the adapter and the fast path do around a call: context, headers, error logging. */
export interface TrpcHooks {
  createContext(req: IncomingMessage, res: ServerResponse): Context;
  /** `method` is the request's: a METHOD_NOT_SUPPORTED answer names the other one in `Allow`. */
  responseHeaders(
    method: string | undefined,
    ctx: Context | undefined,
    errors: TRPCError[],
  ): Record<string, string>;
  onError(error: TRPCError, procedure: string | undefined, req: IncomingMessage): void;
}

export function createTrpcHooks(deps: Deps): TrpcHooks {
  return {
    createContext: (req, res) => ({
      deps,
      req: requestFacts(req, deps.config.trustProxy),
      res: refreshCookieSink((cookie) => res.appendHeader('set-cookie', cookie)),
    }),
    responseHeaders(method, ctx, errors) {
      // The adapter sets Vary itself; Origin is added because CORS answers depend on it. Every
      // answer may carry a token or user data: none is stored, by HTTP/1.1 or HTTP/1.0 caches.
      const headers: Record<string, string> = {
        'cache-control': 'no-store',
        pragma: 'no-cache',
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
      const refusedMethod = errors.find((e) => e.code === 'METHOD_NOT_SUPPORTED');
      if (refusedMethod) headers.allow = allowHeader(refusedMethod, method);
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
