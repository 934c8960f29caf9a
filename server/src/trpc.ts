import { initTRPC } from '@trpc/server';
import { ZodError } from 'zod';
import type { PasswordWorkMeta } from './auth/password-work.ts';
import { bearerToken, type Context } from './context.ts';
import { failureOfError, trpcFailure } from './public-errors.ts';
import { authenticate } from './sessions/session.service.ts';
import { relyingParty } from './passkeys/relying-party.ts';
import type { ClientMeta } from './result.ts';

export { RetryAfter } from './public-errors.ts';

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

/** What a procedure declares about itself with `.meta()`. */
export type ProcedureMeta = PasswordWorkMeta;

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
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
    throw trpcFailure('UNSUPPORTED_CONTENT_TYPE');
  }
  const result = await next();
  if (result.ok) return result;
  // Hashing at capacity or the database out of reach: a 503 with Retry-After, not a 500.
  const failure = failureOfError(result.error.cause);
  if (failure) throw trpcFailure(failure.code, failure);
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
    throw trpcFailure('NOT_AUTHENTICATED');
  }
  const auth = bearer.kind === 'token' ? await authenticate(ctx.deps, bearer.token) : null;
  if (!auth) {
    throw trpcFailure('INVALID_TOKEN');
  }
  return next({ ctx: { user: auth.user, sessionId: auth.sessionId } });
});

/** The public origin, the passkeys' origin (`localhost` for a loopback default), CORS_ORIGINS. */
function isAllowedOrigin(ctx: Context, origin: string): boolean {
  const { deps } = ctx;
  return (
    origin === deps.publicOrigin() ||
    origin === relyingParty(deps).origin ||
    deps.config.corsOrigins.includes(origin)
  );
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
    throw trpcFailure('CROSS_SITE');
  }
  return next();
});
