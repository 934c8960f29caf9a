import { router } from '../trpc.ts';
import { accountRouter, meProcedure, sessionsRouter } from './account.router.ts';
import { authProcedures } from './auth.router.ts';
import { mfaRouter } from './mfa.router.ts';
import { passkeysRouter } from './passkeys.router.ts';

export const appRouter = router({
  ...authProcedures,
  me: meProcedure,
  sessions: sessionsRouter,
  account: accountRouter,
  mfa: mfaRouter,
  passkeys: passkeysRouter,
});

export type AppRouter = typeof appRouter;
