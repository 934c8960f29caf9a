import type { AppRouter } from '@latchkey/server';
import { passkeyRemoveInputSchema, passkeyRenameInputSchema } from '@latchkey/shared';
import type { inferRouterOutputs } from '@trpc/server';
import { useId, useState } from 'react';
import { formatDateTime } from '../format.ts';
import { useRemovePasskey, useRenamePasskey } from '../hooks.ts';
import { useFormSubmit } from '../use-form-submit.ts';
import { FormField } from './form-field.tsx';
import { StepUpForm } from './step-up-form.tsx';
import { FormAlert } from './status.tsx';

export type Passkey = inferRouterOutputs<AppRouter>['passkeys']['list'][number];

const RENAME_FIELDS = ['name'] as const;
const renameSchema = passkeyRenameInputSchema.pick({ name: true });
const removeSchema = passkeyRemoveInputSchema.pick({ password: true });

function RenameForm({ passkey, onDone }: { passkey: Passkey; onDone: () => void }) {
  const rename = useRenamePasskey();
  const { errors, alert, pending, handleSubmit } = useFormSubmit({
    fields: RENAME_FIELDS,
    schema: () => renameSchema,
    submit: (values) => rename.mutateAsync({ id: passkey.id, name: values.name }),
    onSuccess: onDone,
  });
  return (
    <form className="form" noValidate onSubmit={handleSubmit} aria-busy={pending}>
      <FormAlert>{alert}</FormAlert>
      <FormField
        name="name"
        label="Name"
        autoComplete="off"
        defaultValue={passkey.name}
        error={errors.name}
        hint="Up to 64 characters, such as the device or password manager that holds it."
      />
      <div className="actions">
        <button type="submit" className="primary" disabled={pending}>
          Save
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** One passkey with its dates; renaming and removing open in place. */
export function PasskeyItem({ passkey }: { passkey: Passkey }) {
  const [action, setAction] = useState<'rename' | 'remove' | null>(null);
  const remove = useRemovePasskey();
  const close = () => setAction(null);
  const labelId = useId();
  return (
    <li className="session">
      <div>
        <p id={labelId} className="device">
          {passkey.name}
        </p>
        <p className="meta">
          Added {formatDateTime(passkey.createdAt)} ·{' '}
          {passkey.lastUsedAt ? `Last used ${formatDateTime(passkey.lastUsedAt)}` : 'Not used yet'}
        </p>
      </div>
      {action === null ? (
        <div className="actions">
          <button type="button" aria-describedby={labelId} onClick={() => setAction('rename')}>
            Rename
          </button>
          <button
            type="button"
            className="danger"
            aria-describedby={labelId}
            onClick={() => setAction('remove')}
          >
            Remove
          </button>
        </div>
      ) : null}
      {action === 'rename' ? <RenameForm passkey={passkey} onDone={close} /> : null}
      {action === 'remove' ? (
        <StepUpForm
          prompt={`Remove “${passkey.name}”? It will no longer sign you in. Enter your password to confirm.`}
          schema={removeSchema}
          submitLabel="Remove"
          danger
          submit={({ password }) => remove.mutateAsync({ id: passkey.id, password })}
          onCancel={close}
        />
      ) : null}
    </li>
  );
}
