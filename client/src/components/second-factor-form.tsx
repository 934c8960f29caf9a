import { useState } from 'react';
import { useVerifySecondFactor } from '../hooks.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { FormAlert } from './status.tsx';

const FIELDS = ['code'] as const;
// Loaded on demand, like the sign-in form's: zod stays out of the first page's code.
const loadSchema = () => import('@latchkey/shared').then((shared) => shared.mfaCodeFormSchema);

interface SecondFactorFormProps {
  mfaToken: string;
  /** Back to the password (a spent or expired mfaToken needs a new one). */
  onRestart: () => void;
}

/** The sign-in's second step: a code from the authenticator app, or a recovery code. */
export function SecondFactorForm({ mfaToken, onRestart }: SecondFactorFormProps) {
  const verify = useVerifySecondFactor();
  const [recovery, setRecovery] = useState(false);
  const { errors, alert, pending, handleSubmit } = useFormSubmit({
    fields: FIELDS,
    schema: loadSchema,
    submit: (values) => verify.mutateAsync({ mfaToken, code: values.code }),
  });
  return (
    <>
      <p>
        {recovery
          ? 'Enter one of the recovery codes you saved. Each works once.'
          : 'Enter the 6-digit code from your authenticator app.'}
      </p>
      <form
        key={recovery ? 'recovery' : 'totp'}
        className="form"
        noValidate
        onSubmit={handleSubmit}
        aria-busy={pending}
      >
        <FormAlert>{alert}</FormAlert>
        <FormField
          name="code"
          label={recovery ? 'Recovery code' : 'Authentication code'}
          autoComplete={recovery ? 'off' : 'one-time-code'}
          inputMode={recovery ? 'text' : 'numeric'}
          error={errors.code}
        />
        <button type="submit" className="primary" disabled={pending}>
          Verify
        </button>
      </form>
      <div className="actions">
        <button type="button" onClick={() => setRecovery(!recovery)}>
          {recovery ? 'Use an authentication code' : 'Use a recovery code'}
        </button>
        <button type="button" onClick={onRestart}>
          Start again
        </button>
      </div>
    </>
  );
}
