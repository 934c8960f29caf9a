import { loginPasswordSchema, mfaCodeFormSchema } from '@latchkey/shared';
import { useState } from 'react';
import { useRegenerateRecoveryCodes, useTotpDisable } from '../hooks.ts';
import { StepUpForm } from './step-up-form.tsx';

const schema = mfaCodeFormSchema.extend({ password: loginPasswordSchema });

interface TotpManageProps {
  recoveryCodesLeft: number;
  onNewCodes: (codes: string[]) => void;
}

/** While the factor is on: how many recovery codes are left, turning it off, new codes. */
export function TotpManage({ recoveryCodesLeft, onNewCodes }: TotpManageProps) {
  const [action, setAction] = useState<'off' | 'codes' | null>(null);
  const disable = useTotpDisable();
  const regenerate = useRegenerateRecoveryCodes();
  const close = () => setAction(null);
  return (
    <>
      <p>
        On. Sign-in asks for a code from your authenticator app.{' '}
        {recoveryCodesLeft === 1
          ? '1 recovery code left.'
          : `${recoveryCodesLeft} recovery codes left.`}
      </p>
      {action === 'off' ? (
        <StepUpForm
          schema={schema}
          withCode
          submitLabel="Turn off"
          danger
          submit={(v) => disable.mutateAsync(v)}
          onCancel={close}
        />
      ) : null}
      {action === 'codes' ? (
        <StepUpForm
          schema={schema}
          withCode
          submitLabel="New recovery codes"
          submit={async (v) => onNewCodes((await regenerate.mutateAsync(v)).recoveryCodes)}
          onCancel={close}
        />
      ) : null}
      {action === null ? (
        <div className="actions">
          <button type="button" onClick={() => setAction('codes')}>
            New recovery codes
          </button>
          <button type="button" className="danger" onClick={() => setAction('off')}>
            Turn off
          </button>
        </div>
      ) : null}
    </>
  );
}
