import { usePasskeySignIn } from '../passkey-sign-in.ts';
import { FormAlert } from './status.tsx';

/** `Sign in with a passkey`, and the passkey autofill of the username field above it. */
export function PasskeySignIn() {
  const { alert, pending, signIn } = usePasskeySignIn();
  return (
    <div className="passkey-sign-in">
      <FormAlert>{alert}</FormAlert>
      <button type="button" disabled={pending} onClick={() => void signIn()}>
        Sign in with a passkey
      </button>
    </div>
  );
}
