import type { Page } from 'playwright-core';
import { scenario } from './harness.ts';
import {
  assert,
  expectCount,
  expectProfile,
  newUser,
  openSecurity,
  pathOf,
  registerUser,
  signOut,
  type User,
} from './helpers.ts';
import {
  amrOf,
  isPasskeyLogin,
  recordCredentialRequests,
  VirtualAuthenticator,
  waitForRequests,
} from './webauthn.ts';

const pending = (mediation: string) => (r: { mediation: string; outcome: string }) =>
  r.mediation === mediation && r.outcome === 'pending';

function passkeyItems(page: Page) {
  return page.getByRole('list', { name: 'Passkeys' }).getByRole('listitem');
}

/** A new account with one passkey, added on /security; the page stays there. */
async function userWithPasskey(page: Page, baseUrl: string) {
  const user = newUser();
  await recordCredentialRequests(page);
  await registerUser(page, baseUrl, user);
  const authenticator = await VirtualAuthenticator.attach(page);
  await openSecurity(page);
  await page.getByText('None yet.').waitFor();
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expectCount(passkeyItems(page), 1);
  await page.getByRole('status').filter({ hasText: 'Added “' }).waitFor();
  const stored = await authenticator.credentials();
  assert(stored.length === 1, `the authenticator holds ${stored.length} credentials`);
  assert(stored[0]?.isResidentCredential === true, 'the passkey is not discoverable');
  assert(stored[0]?.rpId === 'localhost', `the RP ID is ${stored[0]?.rpId}`);
  return { user, authenticator };
}

/** Signs out with the authenticator silent, so /login's autofill request waits for the user. */
async function signOutToWaitingAutofill(page: Page, authenticator: VirtualAuthenticator) {
  await authenticator.setPresence(false);
  await signOut(page);
  await waitForRequests(
    page,
    (rs) => rs.some(pending('conditional')),
    'a waiting autofill request',
  );
}

async function expectPasskeySignIn(page: Page, user: User, signingIn: Promise<unknown>) {
  const [response] = await Promise.all([page.waitForResponse(isPasskeyLogin), signingIn]);
  await expectProfile(page, user.username);
  const amr = await amrOf(response);
  assert(JSON.stringify(amr) === '["hwk","user"]', `the access token's amr is ${String(amr)}`);
}

scenario(
  'passkeys: add on /security, rename, sign in with the button (amr hwk, user)',
  async ({ newPage, baseUrl }) => {
    const page = await newPage();
    const { user, authenticator } = await userWithPasskey(page, baseUrl);
    const item = passkeyItems(page).first();
    await item.getByText('Not used yet').waitFor();

    // The same device again: the browser refuses it (excludeCredentials), the page says why.
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'already holds one of your passkeys' })
      .waitFor();
    await expectCount(passkeyItems(page), 1);

    // Rename in place: the shared rule refuses an empty name, a good one shows in the list.
    await item.getByRole('button', { name: 'Rename' }).click();
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('   ');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Enter a name').waitFor();
    assert((await name.getAttribute('aria-invalid')) === 'true', 'an empty name was not refused');
    await name.fill('  Work laptop ');
    await page.getByRole('button', { name: 'Save' }).click();
    await item.getByText('Work laptop', { exact: true }).waitFor();
    await item.getByRole('button', { name: 'Rename' }).waitFor();

    // The button's modal ceremony replaces the waiting autofill request and signs in.
    await signOutToWaitingAutofill(page, authenticator);
    const field = page.getByLabel('Username', { exact: true });
    assert(
      (await field.getAttribute('autocomplete')) === 'username webauthn',
      'the username field does not take part in passkey autofill',
    );
    await authenticator.setPresence(true);
    const button = page.getByRole('button', { name: 'Sign in with a passkey' });
    await expectPasskeySignIn(page, user, button.click());
    const requests = await waitForRequests(
      page,
      (rs) => rs.some((r) => r.mediation === 'none' && r.outcome === 'resolved'),
      'a resolved modal request',
    );
    assert(
      requests
        .filter((r) => r.mediation === 'conditional')
        .every((r) => r.outcome === 'AbortError'),
      `the autofill request was not aborted for the modal one: ${JSON.stringify(requests)}`,
    );

    await openSecurity(page);
    await passkeyItems(page).first().getByText('Last used').waitFor();
  },
);

scenario(
  'passkeys: autofill (conditional mediation) renews its challenge, stops off /login, signs in',
  async ({ newPage, baseUrl }) => {
    const page = await newPage();
    await page.clock.install();
    const { user, authenticator } = await userWithPasskey(page, baseUrl);
    await signOutToWaitingAutofill(page, authenticator);

    // Before the 5-minute challenge expires the request starts over with a new one.
    const options = page.waitForRequest((r) => r.url().endsWith('/trpc/passkeys.loginOptions'));
    await page.clock.fastForward('04:01');
    await options;
    await waitForRequests(
      page,
      (rs) => rs[0]?.outcome === 'AbortError' && rs.filter(pending('conditional')).length === 1,
      'the first autofill request replaced by a second',
    );

    // Leaving /login ends the waiting request.
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Create account' }).waitFor();
    await waitForRequests(
      page,
      (rs) => !rs.some((r) => r.outcome === 'pending'),
      'no request left waiting on /register',
    );

    // Back on /login with the user present: the autofill request alone signs in, no button.
    await authenticator.setPresence(true);
    await expectPasskeySignIn(page, user, page.getByRole('link', { name: 'Sign in' }).click());
    const requests = await waitForRequests(
      page,
      (rs) => rs.some((r) => r.outcome === 'resolved'),
      'a resolved request',
    );
    const resolved = requests.filter((r) => r.outcome === 'resolved');
    assert(
      resolved.length === 1 && resolved[0]?.mediation === 'conditional',
      `expected the sign-in from the autofill request: ${JSON.stringify(requests)}`,
    );
  },
);

scenario(
  'passkeys: removing one takes the password; a removed passkey no longer signs in',
  async ({ newPage, baseUrl }) => {
    const page = await newPage();
    const { user, authenticator } = await userWithPasskey(page, baseUrl);

    const item = passkeyItems(page).first();
    await item.getByRole('button', { name: 'Remove' }).click();
    const password = page.getByLabel('Password', { exact: true });
    await password.fill(`${user.password}-wrong`);
    await item.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('alert').filter({ hasText: 'Current password is incorrect' }).waitFor();
    await expectCount(passkeyItems(page), 1);

    await password.fill(user.password);
    await item.getByRole('button', { name: 'Remove' }).click();
    await page.getByText('None yet.').waitFor();
    await expectCount(passkeyItems(page), 0);

    // The authenticator still holds the credential; the server no longer knows it.
    assert((await authenticator.credentials()).length === 1, 'the credential left the device');
    await signOutToWaitingAutofill(page, authenticator);
    await authenticator.setPresence(true);
    // The refusal is about the passkey, not an expired session: nothing tries the refresh cookie.
    let refreshes = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/trpc/refresh')) refreshes += 1;
    });
    const [response] = await Promise.all([
      page.waitForResponse(isPasskeyLogin),
      page.getByRole('button', { name: 'Sign in with a passkey' }).click(),
    ]);
    assert(response.status() === 401, `passkeys.login answered ${response.status()}`);
    await page.getByRole('alert').filter({ hasText: 'Passkey not recognised' }).waitFor();
    assert(pathOf(page) === '/login', `a refused passkey left /login for ${pathOf(page)}`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    assert(refreshes === 0, `a refused passkey was taken for an expired session (${refreshes})`);
  },
);
