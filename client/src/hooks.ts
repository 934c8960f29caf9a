import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { trpc } from './trpc.ts';

export function useMe() {
  return useQuery(trpc.me.queryOptions());
}

export function useSessions() {
  return useQuery(trpc.sessions.list.queryOptions());
}

export function useLogin() {
  return useMutation(trpc.login.mutationOptions());
}

export function useRegister() {
  return useMutation(trpc.register.mutationOptions());
}

/** Ends this session (or all of them); the transport signs every tab of this browser out. */
export function useSignOut() {
  return useMutation(trpc.logout.mutationOptions());
}

function useRefetchSessions() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: trpc.sessions.list.queryKey() });
}

export function useRevokeSession() {
  const refetchSessions = useRefetchSessions();
  return useMutation(trpc.sessions.revoke.mutationOptions({ onSettled: refetchSessions }));
}

export function useChangePassword() {
  const refetchSessions = useRefetchSessions();
  return useMutation(trpc.account.changePassword.mutationOptions({ onSuccess: refetchSessions }));
}
