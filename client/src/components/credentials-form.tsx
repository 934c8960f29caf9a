import type { FormSchema } from '../forms.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { FormAlert } from './status.tsx';

const FIELDS = ['username', 'password'] as const;

export interface Credentials {
  username: string;
  password: string;
}

interface CredentialsFormProps {
  schema: () => FormSchema | Promise<FormSchema>;
  submitLabel: string;
  passwordAutoComplete: 'current-password' | 'new-password';
  /** `username webauthn` lets the browser offer passkeys in the field's autofill. */
  usernameAutoComplete?: 'username' | 'username webauthn';
  passwordHint?: string;
  submit: (credentials: Credentials) => Promise<unknown>;
}

/** The username + password form behind both sign-in and registration. */
export function CredentialsForm(props: CredentialsFormProps) {
  const { errors, alert, pending, handleSubmit } = useFormSubmit({
    fields: FIELDS,
    schema: props.schema,
    submit: props.submit,
  });
  return (
    <form
      className="form"
      noValidate
      onSubmit={handleSubmit}
      // Fetch the validation code while the visitor types rather than when they submit.
      onFocus={() => void props.schema()}
      aria-busy={pending}
    >
      <FormAlert>{alert}</FormAlert>
      <FormField
        name="username"
        label="Username"
        autoComplete={props.usernameAutoComplete ?? 'username'}
        error={errors.username}
      />
      <FormField
        name="password"
        label="Password"
        type="password"
        autoComplete={props.passwordAutoComplete}
        error={errors.password}
        {...(props.passwordHint ? { hint: props.passwordHint } : {})}
      />
      <button type="submit" className="primary" disabled={pending}>
        {props.submitLabel}
      </button>
    </form>
  );
}
