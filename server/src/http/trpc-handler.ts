import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TRPCError } from '@trpc/server';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { bearerToken, type Context } from '../context.ts';
import { appRouter } from '../routers/index.ts';
import type { Deps } from '../services.ts';
import { RetryAfter } from '../trpc.ts';
import { requestFacts } from './request.ts';
import { bearerChallenge } from './respond.ts';

/** The most calls one batch may carry (each still counts toward the throttles). */
export const MAX_BATCH_SIZE = 10;

/**
 * True for a POST that carries no body. tRPC's own client sends a no-input mutation (e.g.
 * `logout.mutate()`) as an empty body labelled application/json, which the adapter would fail to
 * parse; it is handed over as `{}` instead (no input, exactly what the client meant).
 */
function hasEmptyBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (
    req.method === 'POST' &&
    (length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined))
  );
}

export function createTrpcHandler(deps: Deps) {
  return (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (hasEmptyBody(req)) Object.assign(req, { body: '{}' });
    return nodeHTTPRequestHandler({
      req,
      res,
      path,
      router: appRouter,
      maxBodySize: deps.config.maxBodyBytes,
      maxBatchSize: MAX_BATCH_SIZE,
      allowMethodOverride: false,
      createContext: (): Context => ({
        deps,
        req: requestFacts(req, deps.config.trustProxyHops),
        res: { setCookie: (cookie) => res.appendHeader('set-cookie', cookie) },
      }),
      responseMeta({ ctx, errors }) {
        const headers: Record<string, string> = { 'cache-control': 'no-store' };
        if (errors.some((e) => e.code === 'UNAUTHORIZED')) {
          const presented = ctx ? bearerToken(ctx.req.authorization).kind !== 'none' : false;
          headers['www-authenticate'] = bearerChallenge(presented);
        }
        const wait = errors
          .map((e) => (e.cause instanceof RetryAfter ? e.cause.seconds : 0))
          .reduce((a, b) => Math.max(a, b), 0);
        if (wait > 0) headers['retry-after'] = String(wait);
        return { headers };
      },
      onError({ error, path: procedure }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') logInternal(deps, error, procedure);
      },
    });
  };
}

function logInternal(deps: Deps, error: TRPCError, procedure: string | undefined): void {
  const cause = error.cause;
  deps.logger.error(
    {
      procedure,
      err: { type: cause?.name ?? 'Error', message: cause?.message ?? error.message },
    },
    'internal error',
  );
}
