import { changePasswordInputSchema, PASSWORD_MIN_LENGTH_FLOOR } from '@latchkey/shared';
import { z } from 'zod';
import { changePassword } from '../auth/auth.service.ts';
import { PASSWORD_WORK } from '../auth/password-work.ts';
import { listSessions, revokeOwnSession } from '../sessions/session.service.ts';
import { clientMeta, protectedProcedure, router } from '../trpc.ts';
import { trpcFailure } from '../public-errors.ts';
import { publicUser } from './shapes.ts';

export const meProcedure = protectedProcedure.query(({ ctx }) => publicUser(ctx.user));

export const sessionsRouter = router({
  list: protectedProcedure.query(async ({ ctx }) => {
    const sessions = await listSessions(ctx.deps, ctx.user.id);
    return sessions.map((s) => ({
      id: s.id,
      createdAt: s.createdAt.toISOString(),
      lastUsedAt: s.lastUsedAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
      userAgent: s.userAgent,
      current: s.id === ctx.sessionId,
    }));
  }),

  revoke: protectedProcedure
    .input(z.object({ id: z.uuid('Unknown session') }))
    .mutation(async ({ ctx, input }) => {
      const revoked = await revokeOwnSession(ctx.deps, ctx.user, input.id, clientMeta(ctx));
      if (!revoked) throw trpcFailure('UNKNOWN_SESSION');
      return { ok: true as const };
    }),
});

export const accountRouter = router({
  changePassword: protectedProcedure
    .meta(PASSWORD_WORK)
    .input(changePasswordInputSchema(PASSWORD_MIN_LENGTH_FLOOR))
    .mutation(async ({ ctx, input }) => {
      const result = await changePassword(
        ctx.deps,
        { user: ctx.user, sessionId: ctx.sessionId },
        input,
        clientMeta(ctx),
      );
      if (result.ok) return { ok: true as const };
      throw trpcFailure(result.code, result);
    }),
});
