import { mfaCodeFormSchema, totpSetupInputSchema } from '@latchkey/shared';
import { useState } from 'react';
import { useTotpEnable, useTotpSetup } from '../hooks.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { StepUpForm } from './step-up-form.tsx';
import { QrCode } from './qr-code.tsx';
import { FormAlert } from './status.tsx';

const CODE_FIELDS = ['code'] as const;

/** Set-up: the password, then the QR code and secret, then a code that turns it on. */
export function TotpSetup({ onEnabled }: { onEnabled: (recoveryCodes: string[]) => void }) {
  const [open, setOpen] = useState(false);
  const setup = useTotpSetup();
  const enable = useTotpEnable();
  const codeForm = useFormSubmit({
    fields: CODE_FIELDS,
    schema: () => mfaCodeFormSchema,
    submit: async (values) => onEnabled((await enable.mutateAsync(values)).recoveryCodes),
  });
  if (!open) {
    return (
      <button type="button" className="primary" onClick={() => setOpen(true)}>
        Set up two-factor authentication
      </button>
    );
  }
  if (!setup.data) {
    return (
      <StepUpForm
        prompt="Confirm it is you."
        schema={totpSetupInputSchema}
        submitLabel="Continue"
        submit={({ password }) => setup.mutateAsync({ password })}
        onCancel={() => setOpen(false)}
      />
    );
  }
  return (
    <form className="form" noValidate onSubmit={codeForm.handleSubmit} aria-busy={codeForm.pending}>
      <p>Scan this with your authenticator app, or type the key into it.</p>
      <QrCode text={setup.data.otpauthUrl} />
      <p>
        Key: <code className="secret">{setup.data.secret}</code>
      </p>
      <FormAlert>{codeForm.alert}</FormAlert>
      <FormField
        name="code"
        label="Authentication code"
        autoComplete="one-time-code"
        inputMode="numeric"
        error={codeForm.errors.code}
      />
      <button type="submit" className="primary" disabled={codeForm.pending}>
        Turn on
      </button>
    </form>
  );
}
