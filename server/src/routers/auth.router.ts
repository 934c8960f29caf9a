import { loginInputSchema, PASSWORD_MIN_LENGTH_FLOOR, registerInputSchema } from '@latchkey/shared';
import { z } from 'zod';
import { login, register } from '../auth/auth.service.ts';
import { PASSWORD_WORK } from '../auth/password-work.ts';
import { MFA_METHODS } from '../mfa/sign-in.ts';
import { bearerToken } from '../context.ts';
import { endSession, logoutWithRefreshToken, refreshSession } from '../sessions/refresh.service.ts';
import { authenticate } from '../sessions/session.service.ts';
import { clientMeta, cookieProcedure, publicProcedure } from '../trpc.ts';
import { trpcFailure } from '../public-errors.ts';
import { publicUser, tokenResponse } from './shapes.ts';

/** Sign-in procedures, mounted at the root of the router as the contract names them. */
export const authProcedures = {
  register: publicProcedure
    .meta(PASSWORD_WORK)
    // The schema holds the structural rules; the configured minimum is applied by the service.
    .input(registerInputSchema(PASSWORD_MIN_LENGTH_FLOOR))
    .mutation(async ({ ctx, input }) => {
      const result = await register(ctx.deps, input, clientMeta(ctx));
      if (result.ok) return publicUser(result.value);
      throw trpcFailure(result.code, result);
    }),

  login: publicProcedure
    .meta(PASSWORD_WORK)
    .input(loginInputSchema)
    .mutation(async ({ ctx, input }) => {
      const result = await login(ctx.deps, input, clientMeta(ctx));
      if (!result.ok) throw trpcFailure(result.code, result);
      const signIn = result.value;
      if (signIn.kind === 'session') return tokenResponse(ctx, signIn.session);
      // Only after the password verified; no cookie, nothing that signs in.
      return {
        mfaRequired: true as const,
        mfaToken: signIn.mfaToken,
        methods: [...MFA_METHODS],
        expiresIn: signIn.expiresIn,
      };
    }),

  refresh: cookieProcedure.mutation(async ({ ctx }) => {
    const result = await refreshSession(ctx.deps, ctx.req.refreshToken, clientMeta(ctx));
    if (result.ok) return tokenResponse(ctx, result.value);
    ctx.res.clearRefreshToken();
    throw trpcFailure('INVALID_TOKEN');
  }),

  logout: cookieProcedure
    .input(z.object({ everywhere: z.boolean().optional() }).strict().optional())
    .mutation(async ({ ctx, input }) => {
      ctx.res.clearRefreshToken();
      const everywhere = input?.everywhere ?? false;
      const meta = clientMeta(ctx);
      // The cookie names the session; a bearer token is accepted too for clients without one.
      if (ctx.req.refreshToken !== null) {
        const result = await logoutWithRefreshToken(
          ctx.deps,
          ctx.req.refreshToken,
          everywhere,
          meta,
        );
        if (!result.ok) throw trpcFailure('INVALID_TOKEN');
        return { ok: true as const };
      }
      const bearer = bearerToken(ctx.req.authorization);
      const session = bearer.kind === 'token' ? await authenticate(ctx.deps, bearer.token) : null;
      if (!session) throw trpcFailure('INVALID_TOKEN');
      await endSession(ctx.deps, session, everywhere, meta);
      return { ok: true as const };
    }),
};
