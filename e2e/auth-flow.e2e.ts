import { scenario } from './harness.ts';
import {
  assert,
  expectAtLogin,
  expectProfile,
  newUser,
  pathOf,
  registerUser,
  signIn,
  submitSignIn,
} from './helpers.ts';

scenario(
  'register, sign out, sign in again; wrong password alerts',
  async ({ newPage, baseUrl }) => {
    const page = await newPage();
    const user = newUser();

    await registerUser(page, baseUrl, user);
    await page.getByText('Member since').waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectAtLogin(page);

    await page.goto(`${baseUrl}/`);
    await expectAtLogin(page);

    await submitSignIn(page, baseUrl, { ...user, password: `${user.password}-wrong` });
    await page.getByRole('alert').filter({ hasText: 'Incorrect username or password' }).waitFor();
    assert(pathOf(page) === '/login', `a failed sign-in left /login for ${pathOf(page)}`);

    await signIn(page, baseUrl, user);
  },
);

scenario('signed-out visitors to / and /sessions go to /login', async ({ newPage, baseUrl }) => {
  const page = await newPage();
  for (const path of ['/', '/sessions']) {
    await page.goto(`${baseUrl}${path}`);
    await expectAtLogin(page);
  }
});

scenario(
  'forms validate with the shared rules and focus the field',
  async ({ newPage, baseUrl }) => {
    const page = await newPage();
    await page.goto(`${baseUrl}/register`);
    await page.getByLabel('Username', { exact: true }).fill(newUser().username);
    await page.getByLabel('Password', { exact: true }).fill('too-short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Password must be at least 15 characters').waitFor();
    const password = page.getByLabel('Password', { exact: true });
    assert((await password.getAttribute('aria-invalid')) === 'true', 'password not marked invalid');
    assert(
      await password.evaluate((element) => element === document.activeElement),
      'focus did not move to the invalid password field',
    );
    assert(pathOf(page) === '/register', 'an invalid form was submitted');
  },
);

scenario('a reload on the profile stays signed in', async ({ newPage, baseUrl }) => {
  const page = await newPage();
  const user = newUser();
  await registerUser(page, baseUrl, user);

  await page.reload();
  await expectProfile(page, user.username);
  await page.goto(`${baseUrl}/sessions`);
  await page.getByText('This device').waitFor();

  const stored = await page.evaluate(() => ({
    local: localStorage.length,
    session: sessionStorage.length,
    cookie: document.cookie,
  }));
  assert(stored.local === 0 && stored.session === 0, 'something was put in web storage');
  assert(!stored.cookie.includes('latchkey'), 'the refresh cookie is readable by scripts');
});
