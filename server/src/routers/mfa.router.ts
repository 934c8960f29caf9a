import {
  mfaStepUpInputSchema,
  mfaVerifyInputSchema,
  totpEnableInputSchema,
  totpSetupInputSchema,
} from '@latchkey/shared';
import { TRPCError } from '@trpc/server';
import {
  disableTotp,
  enableTotp,
  mfaStatus,
  regenerateRecoveryCodes,
  setUpTotp,
} from '../mfa/enrolment.service.ts';
import { verifyChallenge } from '../mfa/sign-in.ts';
import { clientMeta, protectedProcedure, publicProcedure, router } from '../trpc.ts';
import { throttled, tokenResponse } from './shapes.ts';

export const invalidCode = () =>
  new TRPCError({ code: 'UNAUTHORIZED', message: 'Invalid authentication code' });
const wrongPassword = () =>
  new TRPCError({ code: 'BAD_REQUEST', message: 'Current password is incorrect' });
const factorOff = () =>
  new TRPCError({ code: 'BAD_REQUEST', message: 'Two-factor authentication is off' });
const factorOn = () =>
  new TRPCError({ code: 'CONFLICT', message: 'Two-factor authentication is already on' });

/** Maps the failures every password-and-code step shares. */
function stepUpError(failure: { code: string; retryAfter?: number }): TRPCError {
  switch (failure.code) {
    case 'THROTTLED':
      return throttled(failure.retryAfter);
    case 'WRONG_PASSWORD':
      return wrongPassword();
    case 'INVALID_CODE':
      return invalidCode();
    case 'NOT_ENABLED':
      return factorOff();
    default:
      return factorOn();
  }
}

export const mfaRouter = router({
  status: protectedProcedure.query(({ ctx }) => mfaStatus(ctx.deps, ctx.user.id)),
  verify: publicProcedure.input(mfaVerifyInputSchema).mutation(async ({ ctx, input }) => {
    const result = await verifyChallenge(ctx.deps, input, clientMeta(ctx));
    if (result.ok) return tokenResponse(ctx, result.value);
    switch (result.code) {
      case 'THROTTLED':
        throw throttled(result.retryAfter);
      case 'INVALID_CODE':
        throw invalidCode();
      case 'CHALLENGE_INVALID':
        throw new TRPCError({
          code: 'UNAUTHORIZED',
          message: 'Sign-in expired, please start again',
        });
    }
  }),
  totp: router({
    setup: protectedProcedure.input(totpSetupInputSchema).mutation(async ({ ctx, input }) => {
      const result = await setUpTotp(ctx.deps, ctx.user, input.password, clientMeta(ctx));
      if (result.ok) return { secret: result.value.secret, otpauthUrl: result.value.otpauthUrl };
      throw stepUpError(result);
    }),
    enable: protectedProcedure.input(totpEnableInputSchema).mutation(async ({ ctx, input }) => {
      const current = { user: ctx.user, sessionId: ctx.sessionId };
      const result = await enableTotp(ctx.deps, current, input.code, clientMeta(ctx));
      if (result.ok) return { recoveryCodes: result.value.recoveryCodes };
      if (result.code === 'NOT_SET_UP') {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: 'Set up two-factor authentication first',
        });
      }
      throw stepUpError(result);
    }),
    disable: protectedProcedure.input(mfaStepUpInputSchema).mutation(async ({ ctx, input }) => {
      const result = await disableTotp(ctx.deps, ctx.user, input, clientMeta(ctx));
      if (result.ok) return { ok: true as const };
      throw stepUpError(result);
    }),
  }),
  recoveryCodes: router({
    regenerate: protectedProcedure.input(mfaStepUpInputSchema).mutation(async ({ ctx, input }) => {
      const result = await regenerateRecoveryCodes(ctx.deps, ctx.user, input, clientMeta(ctx));
      if (result.ok) return { recoveryCodes: result.value.recoveryCodes };
      throw stepUpError(result);
    }),
  }),
});
