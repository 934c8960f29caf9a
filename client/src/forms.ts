/** Field name → first message; absent means valid. */
export type FieldErrors = Partial<Record<string, string>>;

/** The part of a zod schema a form needs, so the client does not depend on zod directly. */
export interface FormSchema {
  safeParse(value: unknown):
    | { success: true }
    | {
        success: false;
        error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> };
      };
}

export function readForm(form: HTMLFormElement, fields: readonly string[]): Record<string, string> {
  const data = new FormData(form);
  return Object.fromEntries(
    fields.map((name) => {
      const value = data.get(name);
      return [name, typeof value === 'string' ? value : ''];
    }),
  );
}

/** The shared schema's verdict, keyed by field (the first message per field). */
export function validate(schema: FormSchema, values: Record<string, string>): FieldErrors {
  const result = schema.safeParse(values);
  if (result.success) return {};
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? '');
    errors[field] ??= issue.message;
  }
  return errors;
}

/** Moves focus to the first field, in form order, that has an error; false when there is none. */
export function focusFirstInvalid(
  form: HTMLFormElement,
  fields: readonly string[],
  errors: FieldErrors,
): boolean {
  const name = fields.find((field) => errors[field]);
  if (!name) return false;
  const element = form.elements.namedItem(name);
  if (element instanceof HTMLInputElement) element.focus();
  return true;
}

/** Keeps only errors for fields this form has; anything else belongs in the form's alert. */
export function pickFields(errors: FieldErrors, fields: readonly string[]): FieldErrors {
  return Object.fromEntries(fields.filter((f) => errors[f]).map((f) => [f, errors[f]]));
}
