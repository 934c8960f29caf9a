import {
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  WebAuthnAbortService,
} from '@simplewebauthn/browser';
import { useEffect, useRef, useState } from 'react';
import { trpcClient } from './trpc.ts';
import { describePasskeyError, isCeremonyCancelled } from './webauthn.ts';

/** The server's challenges live 5 minutes: a waiting autofill request takes a new one before. */
const AUTOFILL_RENEW_MS = 4 * 60_000;

/**
 * One passkey sign-in: a fresh challenge, the browser's ceremony, the server's verdict. On success
 * the transport starts the session exactly as for a password sign-in, and the app leaves /login.
 * Returns without asking the browser when `isCurrent()` turned false while the challenge came.
 */
async function signInWithPasskey(autofill: boolean, isCurrent: () => boolean): Promise<void> {
  const { challengeId, options } = await trpcClient.passkeys.loginOptions.mutate();
  if (!isCurrent()) return;
  const response = await startAuthentication({
    optionsJSON: options,
    useBrowserAutofill: autofill,
  });
  await trpcClient.passkeys.login.mutate({ challengeId, response });
}

/**
 * The sign-in page's passkey ceremonies, one at a time as browsers require. Where the browser
 * offers passkeys in the username field's autofill (conditional mediation), a request waits there
 * from the start, renewed before its challenge expires. The button's modal ceremony replaces it
 * (starting one aborts the other) and autofill resumes when the modal one ends without a session.
 */
class PasskeyCeremonies {
  private generation = 0;
  private renewal: ReturnType<typeof setTimeout> | undefined;
  private autofill = false;
  private stopped = false;

  constructor(private readonly report: (message: string) => void) {}

  async offerAutofill(): Promise<void> {
    this.autofill = await browserSupportsWebAuthnAutofill().catch(() => false);
    // A modal ceremony begun meanwhile goes on; autofill follows when it ends.
    if (this.generation === 0) this.listen();
  }

  /** The button's ceremony; resolves once it ended, whatever the outcome (reported, not thrown). */
  async signIn(): Promise<void> {
    const isCurrent = this.begin();
    try {
      await signInWithPasskey(false, isCurrent);
      return;
    } catch (error) {
      if (isCurrent() && !isCeremonyCancelled(error)) this.report(describePasskeyError(error));
    }
    if (isCurrent()) this.listen();
  }

  /** Leaving the page: nothing may keep waiting on the browser or the timer. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.renewal);
    WebAuthnAbortService.cancelCeremony();
  }

  /** Supersedes any ceremony under way; the answer tells a ceremony whether it is still the one. */
  private begin(): () => boolean {
    clearTimeout(this.renewal);
    const generation = ++this.generation;
    return () => !this.stopped && generation === this.generation;
  }

  private listen(): void {
    if (!this.autofill || this.stopped) return;
    const isCurrent = this.begin();
    // Also the way back after a browser's own timeout or a passkey the server refused: never
    // sooner, so an authenticator that answers by itself cannot make a loop of refusals.
    this.renewal = setTimeout(() => this.listen(), AUTOFILL_RENEW_MS);
    signInWithPasskey(true, isCurrent).catch((error: unknown) => {
      if (isCurrent() && !isCeremonyCancelled(error)) this.report(describePasskeyError(error));
    });
  }
}

/** Passkey sign-in for /login: autofill while mounted, and `signIn` for the button. */
export function usePasskeySignIn() {
  const [alert, setAlert] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const ceremonies = useRef<PasskeyCeremonies | null>(null);

  useEffect(() => {
    const current = new PasskeyCeremonies(setAlert);
    ceremonies.current = current;
    void current.offerAutofill();
    return () => current.stop();
  }, []);

  async function signIn() {
    if (!ceremonies.current || pending) return;
    setAlert(null);
    setPending(true);
    try {
      await ceremonies.current.signIn();
    } finally {
      setPending(false);
    }
  }

  return { alert, pending, signIn };
}
