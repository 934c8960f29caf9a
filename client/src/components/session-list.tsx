import { formatDateTime, describeUserAgent } from '../format.ts';
import { useRevokeSession, useSessions, useSignOut } from '../hooks.ts';
import { describeError } from '../errors.ts';
import { FormAlert, Loading } from './status.tsx';

export function SessionList() {
  const sessions = useSessions();
  const revoke = useRevokeSession();
  const signOut = useSignOut();

  switch (sessions.status) {
    case 'pending':
      return <Loading />;
    case 'error':
      return <FormAlert>{describeError(sessions.error).message}</FormAlert>;
    case 'success': {
      // This device first, then the most recently active.
      const ordered = [...sessions.data].sort(
        (a, b) => Number(b.current) - Number(a.current) || b.lastUsedAt.localeCompare(a.lastUsedAt),
      );
      return (
        <>
          {revoke.error ? <FormAlert>{describeError(revoke.error).message}</FormAlert> : null}
          <ul className="sessions">
            {ordered.map((session) => {
              const labelId = `session-${session.id}`;
              const busy = revoke.isPending && revoke.variables.id === session.id;
              return (
                <li key={session.id} className="session">
                  <div>
                    <p id={labelId} className="device" title={session.userAgent ?? undefined}>
                      {describeUserAgent(session.userAgent)}
                      {session.current ? <span className="badge">This device</span> : null}
                    </p>
                    <p className="meta">
                      Started {formatDateTime(session.createdAt)} · Last active{' '}
                      {formatDateTime(session.lastUsedAt)}
                    </p>
                  </div>
                  <button
                    type="button"
                    aria-describedby={labelId}
                    disabled={busy || signOut.isPending}
                    // Ending this device's own session is signing out, which also clears the cookie.
                    onClick={() =>
                      session.current ? signOut.mutate({}) : revoke.mutate({ id: session.id })
                    }
                  >
                    Revoke
                  </button>
                </li>
              );
            })}
          </ul>
        </>
      );
    }
  }
}
