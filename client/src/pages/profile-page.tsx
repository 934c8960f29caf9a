import { Link } from 'wouter';
import { FormAlert, Loading } from '../components/status.tsx';
import { formatDate } from '../format.ts';
import { useMe, useSignOut } from '../hooks.ts';
import { describeError } from '../errors.ts';

export default function ProfilePage() {
  const me = useMe();
  const signOut = useSignOut();

  switch (me.status) {
    case 'pending':
      return <Loading />;
    case 'error':
      return (
        <main className="card">
          <FormAlert>{describeError(me.error).message}</FormAlert>
        </main>
      );
    case 'success':
      return (
        <main className="card">
          <title>Profile · Latchkey</title>
          <p className="eyebrow">Signed in as</p>
          <h1 className="username">{me.data.username}</h1>
          <p>
            Member since <time dateTime={me.data.createdAt}>{formatDate(me.data.createdAt)}</time>
          </p>
          <div className="actions">
            <Link href="/sessions" className="button">
              Sessions
            </Link>
            <Link href="/security" className="button">
              Security
            </Link>
            <button type="button" onClick={() => signOut.mutate({})} disabled={signOut.isPending}>
              Sign out
            </button>
          </div>
        </main>
      );
  }
}
