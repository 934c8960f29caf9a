import {
  passkeyLoginInputSchema,
  passkeyRegisterInputSchema,
  passkeyRemoveInputSchema,
  passkeyRenameInputSchema,
} from '@latchkey/shared';
import { PASSWORD_WORK } from '../auth/password-work.ts';
import { listPasskeys, type PasskeySummary } from '../passkeys/passkey.repository.ts';
import {
  registerPasskey,
  registrationOptions,
  removeUserPasskey,
  renameUserPasskey,
} from '../passkeys/passkey.service.ts';
import { signInOptions, signInWithPasskey } from '../passkeys/sign-in.ts';
import { trpcFailure } from '../public-errors.ts';
import { clientMeta, protectedProcedure, publicProcedure, router } from '../trpc.ts';
import { tokenResponse } from './shapes.ts';

/** A passkey as the API shows it: never its key, counter or owner. */
const publicPasskey = (passkey: PasskeySummary) => ({
  id: passkey.id,
  name: passkey.name,
  createdAt: passkey.createdAt.toISOString(),
  lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
});

export const passkeysRouter = router({
  registerOptions: protectedProcedure.mutation(({ ctx }) =>
    registrationOptions(ctx.deps, ctx.user),
  ),
  register: protectedProcedure
    .input(passkeyRegisterInputSchema)
    .mutation(async ({ ctx, input }) => {
      const result = await registerPasskey(ctx.deps, ctx.user, input, clientMeta(ctx));
      if (result.ok) return publicPasskey(result.value);
      throw trpcFailure(result.code);
    }),
  list: protectedProcedure.query(async ({ ctx }) =>
    (await listPasskeys(ctx.deps.db, ctx.user.id)).map(publicPasskey),
  ),
  rename: protectedProcedure.input(passkeyRenameInputSchema).mutation(async ({ ctx, input }) => {
    const result = await renameUserPasskey(ctx.deps, ctx.user, input, clientMeta(ctx));
    if (result.ok) return { ok: true as const };
    throw trpcFailure(result.code);
  }),
  remove: protectedProcedure
    .meta(PASSWORD_WORK)
    .input(passkeyRemoveInputSchema)
    .mutation(async ({ ctx, input }) => {
      const result = await removeUserPasskey(ctx.deps, ctx.user, input, clientMeta(ctx));
      if (result.ok) return { ok: true as const };
      throw trpcFailure(result.code, result);
    }),
  loginOptions: publicProcedure.mutation(async ({ ctx }) => {
    const result = await signInOptions(ctx.deps, clientMeta(ctx));
    if (result.ok) return result.value;
    throw trpcFailure(result.code, result);
  }),
  login: publicProcedure.input(passkeyLoginInputSchema).mutation(async ({ ctx, input }) => {
    const result = await signInWithPasskey(ctx.deps, input, clientMeta(ctx));
    if (result.ok) return tokenResponse(ctx, result.value);
    throw trpcFailure(result.code, result);
  }),
});
