import { Link } from 'wouter';

export default function NotFoundPage() {
  return (
    <main className="card">
      <title>Not found · Latchkey</title>
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <p className="aside">
        <Link href="/">Go to your profile</Link>
      </p>
    </main>
  );
}
