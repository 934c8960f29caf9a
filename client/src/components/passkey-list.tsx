import { describeError } from '../errors.ts';
import { useAddPasskey, usePasskeys } from '../hooks.ts';
import { describePasskeyError, isCeremonyCancelled } from '../webauthn.ts';
import { PasskeyItem } from './passkey-item.tsx';
import { FormAlert, Loading } from './status.tsx';

/** What became of the last `Add a passkey`: a calm word for a closed dialog, an alert for a failure. */
function AddOutcome({ add }: { add: ReturnType<typeof useAddPasskey> }) {
  if (add.isError && !isCeremonyCancelled(add.error)) {
    return <FormAlert>{describePasskeyError(add.error)}</FormAlert>;
  }
  return (
    <p role="status" className={add.isSuccess ? 'success' : 'hint'}>
      {add.isSuccess ? `Added “${add.data.name}”.` : null}
      {add.isError ? 'No passkey was added.' : null}
    </p>
  );
}

/** The account's passkeys and the way to add one. */
export function PasskeyList() {
  const passkeys = usePasskeys();
  const add = useAddPasskey();
  switch (passkeys.status) {
    case 'pending':
      return <Loading />;
    case 'error':
      return <FormAlert>{describeError(passkeys.error).message}</FormAlert>;
    case 'success':
      return (
        <>
          {passkeys.data.length === 0 ? (
            <p>None yet. A passkey signs you in with this device’s screen lock, no password.</p>
          ) : (
            <ul className="sessions" aria-label="Passkeys">
              {passkeys.data.map((passkey) => (
                <PasskeyItem key={passkey.id} passkey={passkey} />
              ))}
            </ul>
          )}
          <div className="actions">
            <button
              type="button"
              className="primary"
              disabled={add.isPending}
              onClick={() => add.mutate()}
            >
              Add a passkey
            </button>
          </div>
          <AddOutcome add={add} />
        </>
      );
  }
}
