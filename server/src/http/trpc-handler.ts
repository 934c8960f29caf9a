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

export function createTrpcHandler(deps: Deps) {
  return (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> =>
    nodeHTTPRequestHandler({
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
