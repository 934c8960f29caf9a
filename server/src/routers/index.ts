import { router } from '../trpc.ts';
import { accountRouter, meProcedure, sessionsRouter } from './account.router.ts';
import { authProcedures } from './auth.router.ts';
import { mfaRouter } from './mfa.router.ts';

export const appRouter = router({
  ...authProcedures,
  me: meProcedure,
  sessions: sessionsRouter,
  account: accountRouter,
  mfa: mfaRouter,
});

export type AppRouter = typeof appRouter;
