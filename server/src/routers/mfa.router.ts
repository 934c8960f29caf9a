import {
  mfaStepUpInputSchema,
  mfaVerifyInputSchema,
  totpEnableInputSchema,
  totpSetupInputSchema,
} from '@latchkey/shared';
import type { TRPCError } from '@trpc/server';
import { PASSWORD_WORK } from '../auth/password-work.ts';
import { trpcFailure } from '../public-errors.ts';
import {
  disableTotp,
  enableTotp,
  mfaStatus,
  regenerateRecoveryCodes,
  setUpTotp,
} from '../mfa/enrolment.service.ts';
import { verifyChallenge } from '../mfa/sign-in.ts';
import { clientMeta, protectedProcedure, publicProcedure, router } from '../trpc.ts';
import { tokenResponse } from './shapes.ts';

/** Maps the failures every password-and-code step shares. */
function stepUpError(failure: { code: string; retryAfter?: number | undefined }): TRPCError {
  switch (failure.code) {
    case 'THROTTLED':
      return trpcFailure('THROTTLED', failure);
    case 'WRONG_PASSWORD':
      return trpcFailure('WRONG_PASSWORD');
    case 'INVALID_CODE':
      return trpcFailure('INVALID_CODE');
    case 'NOT_ENABLED':
      return trpcFailure('FACTOR_OFF');
    default:
      return trpcFailure('FACTOR_ON');
  }
}

export const mfaRouter = router({
  status: protectedProcedure.query(({ ctx }) => mfaStatus(ctx.deps, ctx.user.id)),
  verify: publicProcedure.input(mfaVerifyInputSchema).mutation(async ({ ctx, input }) => {
    const result = await verifyChallenge(ctx.deps, input, clientMeta(ctx));
    if (result.ok) return tokenResponse(ctx, result.value);
    throw trpcFailure(result.code, result);
  }),
  totp: router({
    setup: protectedProcedure
      .meta(PASSWORD_WORK)
      .input(totpSetupInputSchema)
      .mutation(async ({ ctx, input }) => {
        const result = await setUpTotp(ctx.deps, ctx.user, input.password, clientMeta(ctx));
        if (result.ok) return { secret: result.value.secret, otpauthUrl: result.value.otpauthUrl };
        throw stepUpError(result);
      }),
    enable: protectedProcedure.input(totpEnableInputSchema).mutation(async ({ ctx, input }) => {
      const current = { user: ctx.user, sessionId: ctx.sessionId };
      const result = await enableTotp(ctx.deps, current, input.code, clientMeta(ctx));
      if (result.ok) return { recoveryCodes: result.value.recoveryCodes };
      if (result.code === 'NOT_SET_UP') throw trpcFailure('FACTOR_NOT_SET_UP');
      throw stepUpError(result);
    }),
    disable: protectedProcedure
      .meta(PASSWORD_WORK)
      .input(mfaStepUpInputSchema)
      .mutation(async ({ ctx, input }) => {
        const result = await disableTotp(ctx.deps, ctx.user, input, clientMeta(ctx));
        if (result.ok) return { ok: true as const };
        throw stepUpError(result);
      }),
  }),
  recoveryCodes: router({
    regenerate: protectedProcedure
      .meta(PASSWORD_WORK)
      .input(mfaStepUpInputSchema)
      .mutation(async ({ ctx, input }) => {
        const result = await regenerateRecoveryCodes(ctx.deps, ctx.user, input, clientMeta(ctx));
        if (result.ok) return { recoveryCodes: result.value.recoveryCodes };
        throw stepUpError(result);
      }),
  }),
});
