import { randomBytes } from 'node:crypto';
import type { Locator, Page } from 'playwright-core';

export interface User {
  username: string;
  password: string;
}

/** A unique user per scenario; the password is long and not on any common list. */
export function newUser(): User {
  const tag = randomBytes(5).toString('hex');
  return { username: `e2e-${tag}`, password: `correct-horse-battery-${tag}` };
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function pathOf(page: Page): string {
  return new URL(page.url()).pathname;
}

/** Polls until the locator matches exactly `count` elements. */
export async function expectCount(locator: Locator, count: number, timeoutMs = 10_000) {
  // Locators describe themselves through toString(), e.g. getByRole('listitem').
  const described = String(locator);
  const deadline = Date.now() + timeoutMs;
  let seen = await locator.count();
  while (seen !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} of ${described}, found ${seen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen = await locator.count();
  }
}

function signInButton(page: Page): Locator {
  return page.getByRole('button', { name: 'Sign in', exact: true });
}

function profileHeading(page: Page, username: string): Locator {
  return page.getByRole('heading', { level: 1, name: username, exact: true });
}

/** Waits for the profile of `username`, failing fast if the app lands on the sign-in form. */
export async function expectProfile(page: Page, username: string, timeoutMs = 10_000) {
  const heading = profileHeading(page, username);
  await heading.or(signInButton(page)).first().waitFor({ timeout: timeoutMs });
  if (!(await heading.isVisible())) {
    throw new Error(
      `expected the profile of ${username}, but ${pathOf(page)} shows the sign-in form`,
    );
  }
  assert(pathOf(page) === '/', `expected the profile at /, got ${pathOf(page)}`);
}

export async function expectAtLogin(page: Page, timeoutMs = 10_000) {
  await page.waitForURL((url) => url.pathname === '/login', { timeout: timeoutMs });
  await signInButton(page).waitFor({ timeout: timeoutMs });
}

async function fillCredentials(page: Page, user: User) {
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
}

/** After a form submit: the profile, or the form's alert as the failure. */
async function expectSignedInAfterSubmit(page: Page, user: User) {
  const heading = profileHeading(page, user.username);
  const alert = page.getByRole('alert');
  await heading.or(alert).first().waitFor({ timeout: 15_000 });
  if (await alert.isVisible()) throw new Error(`form alert: ${await alert.innerText()}`);
  await expectProfile(page, user.username);
}

/** Creates the account through /register, which signs in straight away. */
export async function registerUser(page: Page, baseUrl: string, user: User) {
  await page.goto(`${baseUrl}/register`);
  await fillCredentials(page, user);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expectSignedInAfterSubmit(page, user);
}

/** Submits the sign-in form (navigating to /login first when needed). */
export async function submitSignIn(page: Page, baseUrl: string, user: User) {
  if (pathOf(page) !== '/login') await page.goto(`${baseUrl}/login`);
  await fillCredentials(page, user);
  await signInButton(page).click();
}

export async function signIn(page: Page, baseUrl: string, user: User) {
  await submitSignIn(page, baseUrl, user);
  await expectSignedInAfterSubmit(page, user);
}

export function sessionItems(page: Page): Locator {
  return page.getByRole('list').getByRole('listitem');
}

/** Follows the profile's link to /sessions (a client-side navigation, no reload). */
export async function openSessions(page: Page) {
  await page.getByRole('link', { name: 'Sessions' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sessions' }).waitFor();
}

/** Follows the profile's link to /security. */
export async function openSecurity(page: Page) {
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('heading', { level: 1, name: 'Security' }).waitFor();
}

/** Signs out from the profile (following the breadcrumb back to it first). */
export async function signOut(page: Page) {
  if (pathOf(page) !== '/') await page.getByRole('link', { name: 'Profile' }).click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expectAtLogin(page);
}
