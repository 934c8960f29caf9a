import { useState, type FormEvent } from 'react';
import {
  focusFirstInvalid,
  pickFields,
  readForm,
  validate,
  type FieldErrors,
  type FormSchema,
} from './forms.ts';
import { describeError } from './errors.ts';

interface FormSubmitOptions<F extends string> {
  /** Input names in the order they appear, so focus lands on the first invalid one. */
  fields: readonly F[];
  /** May load the schema on demand, keeping zod out of the first page's code. */
  schema: () => FormSchema | Promise<FormSchema>;
  submit: (values: Record<F, string>) => Promise<unknown>;
  onSuccess?: (form: HTMLFormElement) => void;
}

/**
 * Validates with the shared schema on submit, sends, and maps the server's answer back onto the
 * fields (or one alert), focusing the first field that needs attention.
 */
export function useFormSubmit<F extends string>(options: FormSubmitOptions<F>) {
  const { fields, schema, submit, onSuccess } = options;
  const [errors, setErrors] = useState<FieldErrors>({});
  const [alert, setAlert] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function run(form: HTMLFormElement) {
    const values = readForm(form, fields) as Record<F, string>;
    setAlert(null);
    setPending(true);
    try {
      const invalid = validate(await schema(), values);
      setErrors(invalid);
      if (focusFirstInvalid(form, fields, invalid)) return;
      await submit(values);
      onSuccess?.(form);
    } catch (error) {
      const { message, fieldErrors } = describeError(error);
      const onFields = pickFields(fieldErrors, fields);
      setErrors(onFields);
      if (!focusFirstInvalid(form, fields, onFields)) setAlert(message);
    } finally {
      setPending(false);
    }
  }

  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!pending) void run(event.currentTarget);
  }

  return { errors, alert, pending, handleSubmit };
}
