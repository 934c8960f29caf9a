import { useId } from 'react';

interface FormFieldProps {
  name: string;
  label: string;
  type?: 'text' | 'password';
  autoComplete: string;
  error?: string | undefined;
  hint?: string;
  inputMode?: 'text' | 'numeric';
  defaultValue?: string;
}

/** A labelled input whose error and hint are announced with it. */
export function FormField({
  name,
  label,
  type = 'text',
  autoComplete,
  error,
  hint,
  inputMode,
  defaultValue,
}: FormFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        type={type}
        autoComplete={autoComplete}
        inputMode={inputMode}
        defaultValue={defaultValue}
        autoCapitalize="none"
        autoCorrect="off"
        spellCheck={false}
        required
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
      />
      {hint ? (
        <p id={hintId} className="hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
