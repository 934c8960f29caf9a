import type { CDPSession, Page, Response } from 'playwright-core';

/**
 * Chromium's virtual authenticator for one page (DevTools protocol, WebAuthn domain): a platform
 * authenticator with discoverable credentials and user verification, like a phone or laptop.
 */
export class VirtualAuthenticator {
  private constructor(
    private readonly cdp: CDPSession,
    private readonly id: string,
  ) {}

  static async attach(page: Page): Promise<VirtualAuthenticator> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return new VirtualAuthenticator(cdp, authenticatorId);
  }

  async credentials() {
    const { credentials } = await this.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: this.id,
    });
    return credentials;
  }

  /**
   * Whether the user answers. Chromium's virtual authenticator answers a request by itself the
   * moment it arrives while this is on, a conditional one included (it shows no autofill list);
   * a request made while it is off waits for good, even if it is turned on later.
   */
  async setPresence(enabled: boolean): Promise<void> {
    await this.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: this.id,
      enabled,
    });
  }
}

export interface CredentialRequest {
  /** `conditional` for the autofill request, `none` for a modal one. */
  mediation: string;
  /** `pending`, `resolved`, or the name of the error it ended with (e.g. `AbortError`). */
  outcome: string;
}

/**
 * Records every `navigator.credentials.get` of the page's documents from now on: its mediation
 * and how it ended. It only watches; the browser's own implementation answers.
 */
export async function recordCredentialRequests(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const requests: { mediation: string; outcome: string }[] = [];
    Object.defineProperty(window, '__credentialRequests', { value: requests });
    const get = navigator.credentials.get.bind(navigator.credentials);
    navigator.credentials.get = (options) => {
      const request = { mediation: options?.mediation ?? 'none', outcome: 'pending' };
      requests.push(request);
      return get(options).then(
        (credential) => {
          request.outcome = 'resolved';
          return credential;
        },
        (error: unknown) => {
          request.outcome = error instanceof Error ? error.name : 'rejected';
          throw error;
        },
      );
    };
  });
}

export function credentialRequests(page: Page): Promise<CredentialRequest[]> {
  return page.evaluate(() => Reflect.get(window, '__credentialRequests') as CredentialRequest[]);
}

/** Polls until the recorded requests satisfy `check`; fails with what was seen. */
export async function waitForRequests(
  page: Page,
  check: (requests: CredentialRequest[]) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<CredentialRequest[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const requests = await credentialRequests(page);
    if (check(requests)) return requests;
    if (Date.now() > deadline) {
      throw new Error(`expected ${what}; credential requests: ${JSON.stringify(requests)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The `amr` claim of the access token in a passkeys.login answer. */
export async function amrOf(response: Response): Promise<unknown> {
  const body = (await response.json()) as { result?: { data?: { accessToken?: string } } };
  const payload = body.result?.data?.accessToken?.split('.')[1];
  if (!payload) throw new Error(`passkeys.login answered ${response.status()} without a token`);
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { amr?: unknown }).amr;
}

export function isPasskeyLogin(response: Response): boolean {
  return new URL(response.url()).pathname === '/trpc/passkeys.login';
}
