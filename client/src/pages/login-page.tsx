import { useState } from 'react';
import { Link } from 'wouter';
import { CredentialsForm } from '../components/credentials-form.tsx';
import { PasskeySignIn } from '../components/passkey-sign-in.tsx';
import { SecondFactorForm } from '../components/second-factor-form.tsx';
import { useLogin } from '../hooks.ts';

// Loaded on demand: zod is a quarter of the page's code and not needed to show the form.
const loadSchema = () => import('@latchkey/shared').then((shared) => shared.loginInputSchema);

export default function LoginPage() {
  const login = useLogin();
  // Set when the password verified for a user with a second factor.
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  return (
    <main className="card">
      <title>Sign in · Latchkey</title>
      <h1>Sign in</h1>
      {mfaToken === null ? (
        <>
          <CredentialsForm
            schema={loadSchema}
            submitLabel="Sign in"
            passwordAutoComplete="current-password"
            usernameAutoComplete="username webauthn"
            submit={async (credentials) => {
              const answer = await login.mutateAsync(credentials);
              if ('mfaRequired' in answer) setMfaToken(answer.mfaToken);
            }}
          />
          <PasskeySignIn />
        </>
      ) : (
        <SecondFactorForm mfaToken={mfaToken} onRestart={() => setMfaToken(null)} />
      )}
      <p className="aside">
        New to Latchkey? <Link href="/register">Create an account</Link>
      </p>
    </main>
  );
}
