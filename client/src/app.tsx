import { lazy, Suspense, type ReactNode } from 'react';
import { Redirect, Route, Switch } from 'wouter';
import { useAuthStatus } from './auth-status.ts';
import { Loading } from './components/status.tsx';

// Each route is its own chunk, so a visitor downloads only the page in front of them.
const LoginPage = lazy(() => import('./pages/login-page.tsx'));
const RegisterPage = lazy(() => import('./pages/register-page.tsx'));
const ProfilePage = lazy(() => import('./pages/profile-page.tsx'));
const SessionsPage = lazy(() => import('./pages/sessions-page.tsx'));
const SecurityPage = lazy(() => import('./pages/security-page.tsx'));
const NotFoundPage = lazy(() => import('./pages/not-found-page.tsx'));

function SignedInOnly({ children }: { children: ReactNode }) {
  const status = useAuthStatus();
  if (status === 'restoring') return <Loading />;
  if (status === 'signed-out') return <Redirect to="/login" replace />;
  return children;
}

function SignedOutOnly({ children }: { children: ReactNode }) {
  const status = useAuthStatus();
  if (status === 'restoring') return <Loading />;
  if (status === 'signed-in') return <Redirect to="/" replace />;
  return children;
}

export function App() {
  return (
    <>
      <header className="site-header">
        <span className="brand">Latchkey</span>
      </header>
      <Suspense fallback={<Loading />}>
        <Switch>
          <Route path="/login">
            <SignedOutOnly>
              <LoginPage />
            </SignedOutOnly>
          </Route>
          <Route path="/register">
            <SignedOutOnly>
              <RegisterPage />
            </SignedOutOnly>
          </Route>
          <Route path="/">
            <SignedInOnly>
              <ProfilePage />
            </SignedInOnly>
          </Route>
          <Route path="/sessions">
            <SignedInOnly>
              <SessionsPage />
            </SignedInOnly>
          </Route>
          <Route path="/security">
            <SignedInOnly>
              <SecurityPage />
            </SignedInOnly>
          </Route>
          <Route>
            <NotFoundPage />
          </Route>
        </Switch>
      </Suspense>
    </>
  );
}
