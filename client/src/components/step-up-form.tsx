import type { FormSchema } from '../forms.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { FormAlert } from './status.tsx';

// A form without the code field reads it as '' and its schema ignores it.
const FIELDS = ['password', 'code'] as const;

interface StepUpFormProps {
  /** Says what the password unlocks. */
  prompt?: string;
  /** The shared schema of the procedure's input, or the part of it this form asks for. */
  schema: FormSchema;
  /** Also asks for a code from the authenticator app, or a recovery code. */
  withCode?: boolean;
  /** The button repeats the action's name. */
  submitLabel: string;
  danger?: boolean;
  submit: (values: { password: string; code: string }) => Promise<unknown>;
  onCancel: () => void;
}

/** The password once more (and a code, if asked) before a change to how the account signs in. */
export function StepUpForm(props: StepUpFormProps) {
  const { errors, alert, pending, handleSubmit } = useFormSubmit({
    fields: FIELDS,
    schema: () => props.schema,
    submit: props.submit,
  });
  return (
    <form className="form" noValidate onSubmit={handleSubmit} aria-busy={pending}>
      {props.prompt ? <p>{props.prompt}</p> : null}
      <FormAlert>{alert}</FormAlert>
      <FormField
        name="password"
        label="Password"
        type="password"
        autoComplete="current-password"
        error={errors.password}
      />
      {props.withCode ? (
        <FormField
          name="code"
          label="Authentication code"
          autoComplete="one-time-code"
          error={errors.code}
          hint="From your authenticator app, or one of your recovery codes."
        />
      ) : null}
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
