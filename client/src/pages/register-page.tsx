import { registerInputSchema } from '@latchkey/shared';
import { passwordMinLength } from '../policy.ts';
import { Link, useLocation } from 'wouter';
import { CredentialsForm, type Credentials } from '../components/credentials-form.tsx';
import { useLogin, useRegister } from '../hooks.ts';

const schema = registerInputSchema(passwordMinLength);

export default function RegisterPage() {
  const register = useRegister();
  const login = useLogin();
  const [, navigate] = useLocation();

  async function createAndSignIn(credentials: Credentials) {
    await register.mutateAsync(credentials);
    // The account exists now; if signing in fails here the sign-in page can still finish the job.
    await login.mutateAsync(credentials).catch(() => navigate('/login'));
  }

  return (
    <main className="card">
      <title>Create account · Latchkey</title>
      <h1>Create account</h1>
      <CredentialsForm
        schema={() => schema}
        submitLabel="Create account"
        passwordAutoComplete="new-password"
        passwordHint={`At least ${passwordMinLength} characters. A long phrase is easiest to remember.`}
        submit={createAndSignIn}
      />
      <p className="aside">
        Already have an account? <Link href="/login">Sign in</Link>
      </p>
    </main>
  );
}
