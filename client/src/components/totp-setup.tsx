import { mfaCodeFormSchema, totpSetupInputSchema } from '@latchkey/shared';
import { useState } from 'react';
import { useTotpEnable, useTotpSetup } from '../hooks.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { QrCode } from './qr-code.tsx';
import { FormAlert } from './status.tsx';

const PASSWORD_FIELDS = ['password'] as const;
const CODE_FIELDS = ['code'] as const;

/** Set-up: the password, then the QR code and secret, then a code that turns it on. */
export function TotpSetup({ onEnabled }: { onEnabled: (recoveryCodes: string[]) => void }) {
  const [open, setOpen] = useState(false);
  const setup = useTotpSetup();
  const enable = useTotpEnable();
  const passwordForm = useFormSubmit({
    fields: PASSWORD_FIELDS,
    schema: () => totpSetupInputSchema,
    submit: (values) => setup.mutateAsync(values),
  });
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
      <form
        className="form"
        noValidate
        onSubmit={passwordForm.handleSubmit}
        aria-busy={passwordForm.pending}
      >
        <p>Confirm it is you.</p>
        <FormAlert>{passwordForm.alert}</FormAlert>
        <FormField
          name="password"
          label="Password"
          type="password"
          autoComplete="current-password"
          error={passwordForm.errors.password}
        />
        <div className="actions">
          <button type="submit" className="primary" disabled={passwordForm.pending}>
            Continue
          </button>
          <button type="button" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </div>
      </form>
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
