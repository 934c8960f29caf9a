import { changePasswordInputSchema } from '@latchkey/shared';
import { passwordMinLength } from '../policy.ts';
import { useState } from 'react';
import { useChangePassword, useMe } from '../hooks.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { FormAlert } from './status.tsx';

const FIELDS = ['currentPassword', 'newPassword'] as const;
const schema = changePasswordInputSchema(passwordMinLength);

export function ChangePasswordForm() {
  const me = useMe();
  const changePassword = useChangePassword();
  const [changed, setChanged] = useState(false);
  const { errors, alert, pending, handleSubmit } = useFormSubmit({
    fields: FIELDS,
    schema: () => schema,
    submit: (values) => {
      setChanged(false);
      return changePassword.mutateAsync(values);
    },
    onSuccess: (form) => {
      form.reset();
      setChanged(true);
    },
  });

  return (
    <form className="form" noValidate onSubmit={handleSubmit} aria-busy={pending}>
      {/* Lets password managers file the new password under the right account. */}
      <input
        type="text"
        name="username"
        autoComplete="username"
        value={me.data?.username ?? ''}
        readOnly
        hidden
      />
      <FormAlert>{alert}</FormAlert>
      <FormField
        name="currentPassword"
        label="Current password"
        type="password"
        autoComplete="current-password"
        error={errors.currentPassword}
      />
      <FormField
        name="newPassword"
        label="New password"
        type="password"
        autoComplete="new-password"
        error={errors.newPassword}
        hint={`At least ${passwordMinLength} characters.`}
      />
      <button type="submit" className="primary" disabled={pending}>
        Change password
      </button>
      <p role="status" className="success">
        {changed ? 'Password changed. Every other session has been signed out.' : null}
      </p>
    </form>
  );
}
