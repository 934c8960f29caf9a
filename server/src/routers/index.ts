import { router } from '../trpc.ts';
import { accountRouter, meProcedure, sessionsRouter } from './account.router.ts';
import { authProcedures } from './auth.router.ts';

export const appRouter = router({
  ...authProcedures,
  me: meProcedure,
  sessions: sessionsRouter,
  account: accountRouter,
});

export type AppRouter = typeof appRouter;
