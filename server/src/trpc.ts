import { isDatabaseUnavailable } from '@latchkey/db';
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { bearerToken, type Context } from './context.ts';
import { OverloadedError } from './auth/limiter.ts';
import { authenticate } from './sessions/session.service.ts';
import type { ClientMeta } from './result.ts';

/** Domain failure attached as `cause` so the HTTP layer can add Retry-After. */
export class RetryAfter extends Error {
  constructor(readonly seconds: number) {
    super('retry after');
  }
}

function fieldErrors(error: ZodError): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.join('.') || '_';
    (fields[key] ??= []).push(issue.message);
  }
  return fields;
}

/** Input refused before parsing because it nests too deeply; its message is safe to show. */
export class JsonTooDeep extends Error {}

const t = initTRPC.context<Context>().create({
  isDev: false,
  /**
   * Clients see a code, a message we chose, and field errors for bad input: never a cause, a
   * stack, or library text (tRPC copies the cause's message into `message` by default).
   */
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? error.cause : null;
    let message = shape.message;
    if (error.code === 'INTERNAL_SERVER_ERROR') message = 'Internal server error';
    else if (error.cause instanceof JsonTooDeep) message = error.cause.message;
    else if (error.code === 'PARSE_ERROR' || error.cause instanceof SyntaxError) {
      message = 'Request body is not valid JSON';
    } else if (zod) message = zod.issues.map((i) => i.message).join('; ');
    return {
      code: shape.code,
      message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        ...(zod ? { fieldErrors: fieldErrors(zod) } : {}),
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * Mutations accept only a JSON or empty body. tRPC v11 would otherwise run a mutation posted as
 * multipart/form-data or text/plain — CORS-simple requests that any site can make.
 */
export const publicProcedure = t.procedure.use(async ({ ctx, type, next }) => {
  const contentType = ctx.req.contentType;
  if (type === 'mutation' && contentType !== null && !JSON_TYPE.test(contentType)) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Unsupported content type' });
  }
  const result = await next();
  if (result.ok) return result;
  const cause = result.error.cause;
  // Password hashing is full: shed the request at once instead of queueing without bound.
  if (cause instanceof OverloadedError) {
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'Server busy, try again later',
      cause: new RetryAfter(cause.retryAfterSeconds),
    });
  }
  if (isDatabaseUnavailable(cause)) {
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'Service temporarily unavailable, try again later',
      cause: new RetryAfter(1),
    });
  }
  return result;
});

export function clientMeta(ctx: Context): ClientMeta {
  return {
    clientAddress: ctx.req.clientAddress,
    userAgent: ctx.req.userAgent,
    requestId: ctx.req.requestId,
  };
}

/** Verifies the bearer token and that its session and user are live; narrows ctx.user. */
export const protectedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const bearer = bearerToken(ctx.req.authorization);
  if (bearer.kind === 'none') {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Not authenticated' });
  }
  const auth = bearer.kind === 'token' ? await authenticate(ctx.deps, bearer.token) : null;
  if (!auth) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Could not validate credentials' });
  }
  return next({ ctx: { user: auth.user, sessionId: auth.sessionId } });
});

function isAllowedOrigin(ctx: Context, origin: string): boolean {
  return origin === ctx.deps.publicOrigin() || ctx.deps.config.corsOrigins.includes(origin);
}

/**
 * Cookie-authenticated procedures (refresh, logout) are CSRF targets: they require the custom
 * header (never sent cross-site without a CORS preflight), refuse cross-site fetch metadata, and
 * check Origin when present (`null` included). Refusal happens before any side effect.
 */
export const cookieProcedure = publicProcedure.use(({ ctx, next }) => {
  const { csrfHeader, secFetchSite, origin } = ctx.req;
  if (
    csrfHeader !== '1' ||
    secFetchSite?.toLowerCase() === 'cross-site' ||
    (origin !== null && !isAllowedOrigin(ctx, origin))
  ) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Cross-site request refused' });
  }
  return next();
});
