import { startRegistration } from '@simplewebauthn/browser';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { trpc, trpcClient } from './trpc.ts';

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

export function useVerifySecondFactor() {
  return useMutation(trpc.mfa.verify.mutationOptions());
}

export function useMfaStatus() {
  return useQuery(trpc.mfa.status.queryOptions());
}

function useRefetchMfaStatus() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: trpc.mfa.status.queryKey() });
}

export function useTotpSetup() {
  return useMutation(trpc.mfa.totp.setup.mutationOptions());
}

/** Turning the factor on ends every other session: the session list changes too. */
export function useTotpEnable() {
  const refetchSessions = useRefetchSessions();
  return useMutation(trpc.mfa.totp.enable.mutationOptions({ onSuccess: refetchSessions }));
}

export function useTotpDisable() {
  const refetchStatus = useRefetchMfaStatus();
  return useMutation(trpc.mfa.totp.disable.mutationOptions({ onSettled: refetchStatus }));
}

export function useRegenerateRecoveryCodes() {
  const refetchStatus = useRefetchMfaStatus();
  return useMutation(
    trpc.mfa.recoveryCodes.regenerate.mutationOptions({ onSettled: refetchStatus }),
  );
}

export { useRefetchMfaStatus };

export function useChangePassword() {
  const refetchSessions = useRefetchSessions();
  return useMutation(trpc.account.changePassword.mutationOptions({ onSuccess: refetchSessions }));
}

export function usePasskeys() {
  return useQuery(trpc.passkeys.list.queryOptions());
}

/** The list and the factor count in mfa.status both change with every passkey change. */
function useRefetchPasskeys() {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.passkeys.list.queryKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.mfa.status.queryKey() }),
    ]);
}

/**
 * Registration: the server's options, the browser's ceremony, the server's verification. Rejects
 * with the browser's error when the ceremony fails or is cancelled (see webauthn.ts).
 */
export function useAddPasskey() {
  const refetchPasskeys = useRefetchPasskeys();
  return useMutation({
    mutationFn: async () => {
      const optionsJSON = await trpcClient.passkeys.registerOptions.mutate();
      const response = await startRegistration({ optionsJSON });
      return trpcClient.passkeys.register.mutate({ response });
    },
    onSettled: refetchPasskeys,
  });
}

export function useRenamePasskey() {
  const refetchPasskeys = useRefetchPasskeys();
  return useMutation(trpc.passkeys.rename.mutationOptions({ onSettled: refetchPasskeys }));
}

export function useRemovePasskey() {
  const refetchPasskeys = useRefetchPasskeys();
  return useMutation(trpc.passkeys.remove.mutationOptions({ onSettled: refetchPasskeys }));
}
