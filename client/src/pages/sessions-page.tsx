import { Link } from 'wouter';
import { ChangePasswordForm } from '../components/change-password-form.tsx';
import { SessionList } from '../components/session-list.tsx';
import { FormAlert } from '../components/status.tsx';
import { useSignOut } from '../hooks.ts';
import { describeError } from '../errors.ts';

export default function SessionsPage() {
  const signOut = useSignOut();
  return (
    <main className="card wide">
      <title>Sessions · Latchkey</title>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link href="/">Profile</Link>
      </nav>
      <h1>Sessions</h1>
      <p>Everywhere your account is signed in. Revoke anything you do not recognise.</p>
      <SessionList />
      <div className="actions">
        <button
          type="button"
          className="danger"
          onClick={() => signOut.mutate({ everywhere: true })}
          disabled={signOut.isPending}
        >
          Sign out everywhere
        </button>
      </div>
      {signOut.error ? <FormAlert>{describeError(signOut.error).message}</FormAlert> : null}
      <section aria-labelledby="password-heading" className="section">
        <h2 id="password-heading">Password</h2>
        <p>Changing it signs out every other session.</p>
        <ChangePasswordForm />
      </section>
    </main>
  );
}
