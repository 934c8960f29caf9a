import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { scenario } from './harness.ts';
import {
  assert,
  expectCount,
  expectProfile,
  newUser,
  openSecurity,
  registerUser,
  signIn,
  signOut,
  submitSignIn,
} from './helpers.ts';

/** What an authenticator app shows for `secret`, `stepsAhead` 30 s steps from now. */
function codeFor(secret: string, stepsAhead = 0): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    timestamp: Date.now() + stepsAhead * 30_000,
  });
}

async function submitCode(
  page: Page,
  label: 'Authentication code' | 'Recovery code',
  code: string,
) {
  await page.getByLabel(label, { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
}

scenario(
  'two-factor: enrol, sign in with a code, a replay refused, a recovery code, turn it off',
  async ({ newContext, baseUrl }) => {
    const context = await newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
    const page = await context.newPage();
    const user = newUser();
    await registerUser(page, baseUrl, user);

    // Enrolment: password step-up, QR code drawn in the page, the secret as text, a code.
    await openSecurity(page);
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    const qr = page.getByRole('img', { name: 'QR code' });
    await qr.waitFor();
    const drawn = await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth);
    assert(typeof drawn === 'number' && drawn > 0, 'the QR code image did not render');
    const src = (await qr.getAttribute('src')) ?? '';
    assert(src.startsWith('data:image/svg+xml'), `the QR code came from ${src.slice(0, 40)}`);
    const secret = (await page.locator('.secret').innerText()).trim();
    assert(/^[A-Z2-7]{32}$/.test(secret), `unexpected secret text ${secret}`);
    await page.getByLabel('Authentication code', { exact: true }).fill(codeFor(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();

    // Ten recovery codes, once, with Copy and Download.
    const items = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await expectCount(items, 10);
    const codes = (await items.allInnerTexts()).map((t) => t.trim());
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert(copied.trim() === codes.join('\n'), 'Copy did not put the ten codes on the clipboard');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    assert(
      download.suggestedFilename() === 'latchkey-recovery-codes.txt',
      `downloaded ${download.suggestedFilename()}`,
    );
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByText('10 recovery codes left.').waitFor();
    await page.getByRole('button', { name: 'Turn off' }).waitFor();

    // Sign-in with a code (the next step's: the enrolment spent this one).
    await signOut(page);
    await submitSignIn(page, baseUrl, user);
    const code = codeFor(secret, 1);
    await submitCode(page, 'Authentication code', code);
    await expectProfile(page, user.username);

    // The same code again is a replay.
    await signOut(page);
    await submitSignIn(page, baseUrl, user);
    await submitCode(page, 'Authentication code', code);
    await page.getByRole('alert').filter({ hasText: 'Invalid authentication code' }).waitFor();
    assert(new URL(page.url()).pathname === '/login', 'a replayed code left /login');

    // A recovery code, typed in capitals.
    await page.getByRole('button', { name: 'Use a recovery code' }).click();
    await submitCode(page, 'Recovery code', (codes[0] ?? '').toUpperCase());
    await expectProfile(page, user.username);

    // Turning it off takes the password and a code (here another recovery code).
    await openSecurity(page);
    await page.getByText('9 recovery codes left.').waitFor();
    await page.getByRole('button', { name: 'Turn off' }).click();
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByLabel('Authentication code', { exact: true }).fill(codes[1] ?? '');
    await page.getByRole('button', { name: 'Turn off' }).click();
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).waitFor();

    // Back to password-only sign-in.
    await signOut(page);
    await signIn(page, baseUrl, user);
  },
);
