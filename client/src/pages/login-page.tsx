import { Link } from 'wouter';
import { CredentialsForm } from '../components/credentials-form.tsx';
import { useLogin } from '../hooks.ts';

// Loaded on demand: zod is a quarter of the page's code and not needed to show the form.
const loadSchema = () => import('@latchkey/shared').then((shared) => shared.loginInputSchema);

export default function LoginPage() {
  const login = useLogin();
  return (
    <main className="card">
      <title>Sign in · Latchkey</title>
      <h1>Sign in</h1>
      <CredentialsForm
        schema={loadSchema}
        submitLabel="Sign in"
        passwordAutoComplete="current-password"
        submit={(credentials) => login.mutateAsync(credentials)}
      />
      <p className="aside">
        New to Latchkey? <Link href="/register">Create an account</Link>
      </p>
    </main>
  );
}
