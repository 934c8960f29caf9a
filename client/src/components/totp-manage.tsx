import { loginPasswordSchema, mfaCodeFormSchema } from '@latchkey/shared';
import { useState } from 'react';
import { useRegenerateRecoveryCodes, useTotpDisable } from '../hooks.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { FormAlert } from './status.tsx';

const schema = mfaCodeFormSchema.extend({ password: loginPasswordSchema });
const FIELDS = ['password', 'code'] as const;

interface StepUpFormProps {
  label: 'Turn off' | 'New recovery codes';
  submit: (values: { password: string; code: string }) => Promise<unknown>;
  onCancel: () => void;
}

/** The password and a code before the factor changes; the button repeats the action's name. */
function StepUpForm({ label, submit, onCancel }: StepUpFormProps) {
  const { errors, alert, pending, handleSubmit } = useFormSubmit({
    fields: FIELDS,
    schema: () => schema,
    submit,
  });
  return (
    <form className="form" noValidate onSubmit={handleSubmit} aria-busy={pending}>
      <FormAlert>{alert}</FormAlert>
      <FormField
        name="password"
        label="Password"
        type="password"
        autoComplete="current-password"
        error={errors.password}
      />
      <FormField
        name="code"
        label="Authentication code"
        autoComplete="one-time-code"
        error={errors.code}
        hint="From your authenticator app, or one of your recovery codes."
      />
      <div className="actions">
        <button
          type="submit"
          className={label === 'Turn off' ? 'danger' : 'primary'}
          disabled={pending}
        >
          {label}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

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
        <StepUpForm label="Turn off" submit={(v) => disable.mutateAsync(v)} onCancel={close} />
      ) : null}
      {action === 'codes' ? (
        <StepUpForm
          label="New recovery codes"
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
