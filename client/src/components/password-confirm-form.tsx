import type { FormSchema } from '../forms.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { FormAlert } from './status.tsx';

const FIELDS = ['password'] as const;

interface PasswordConfirmFormProps {
  /** Says what the password unlocks. */
  prompt: string;
  /** The shared schema of the procedure's input, or the `password` part of it. */
  schema: FormSchema;
  submitLabel: string;
  danger?: boolean;
  submit: (password: string) => Promise<unknown>;
  onCancel: () => void;
}

/** The password once more before a change to how the account signs in. */
export function PasswordConfirmForm(props: PasswordConfirmFormProps) {
  const { errors, alert, pending, handleSubmit } = useFormSubmit({
    fields: FIELDS,
    schema: () => props.schema,
    submit: (values) => props.submit(values.password),
  });
  return (
    <form className="form" noValidate onSubmit={handleSubmit} aria-busy={pending}>
      <p>{props.prompt}</p>
      <FormAlert>{alert}</FormAlert>
      <FormField
        name="password"
        label="Password"
        type="password"
        autoComplete="current-password"
        error={errors.password}
      />
      <div className="actions">
        <button type="submit" className={props.danger ? 'danger' : 'primary'} disabled={pending}>
          {props.submitLabel}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
