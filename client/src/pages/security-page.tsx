import { useState } from 'react';
import { Link } from 'wouter';
import { PasskeyList } from '../components/passkey-list.tsx';
import { RecoveryCodes } from '../components/recovery-codes.tsx';
import { FormAlert, Loading } from '../components/status.tsx';
import { TotpManage } from '../components/totp-manage.tsx';
import { TotpSetup } from '../components/totp-setup.tsx';
import { describeError } from '../errors.ts';
import { useMfaStatus, useRefetchMfaStatus } from '../hooks.ts';

function TwoFactor() {
  const status = useMfaStatus();
  const refetchStatus = useRefetchMfaStatus();
  // Codes just issued stay on screen until dismissed, whatever the status query does meanwhile.
  const [codes, setCodes] = useState<string[] | null>(null);
  if (codes !== null) {
    return (
      <RecoveryCodes
        codes={codes}
        onDone={() => {
          setCodes(null);
          void refetchStatus();
        }}
      />
    );
  }
  switch (status.status) {
    case 'pending':
      return <Loading />;
    case 'error':
      return <FormAlert>{describeError(status.error).message}</FormAlert>;
    case 'success':
      return status.data.totp ? (
        <TotpManage recoveryCodesLeft={status.data.recoveryCodesLeft} onNewCodes={setCodes} />
      ) : (
        <>
          <p>Off. Add a code from an authenticator app to every sign-in.</p>
          <TotpSetup onEnabled={setCodes} />
        </>
      );
  }
}

export default function SecurityPage() {
  return (
    <main className="card wide">
      <title>Security · Latchkey</title>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link href="/">Profile</Link>
      </nav>
      <h1>Security</h1>
      <section aria-labelledby="two-factor-heading" className="section">
        <h2 id="two-factor-heading">Two-factor authentication</h2>
        <TwoFactor />
      </section>
      <section aria-labelledby="passkeys-heading" className="section">
        <h2 id="passkeys-heading">Passkeys</h2>
        <PasskeyList />
      </section>
    </main>
  );
}
