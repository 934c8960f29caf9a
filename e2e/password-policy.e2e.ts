import { scenario } from './harness.ts';
import { assert, newUser, openSessions, pathOf, registerUser } from './helpers.ts';

scenario('a guessable password is refused with the server’s reason', async (ctx) => {
  const page = await ctx.newPage();
  await page.goto(`${ctx.baseUrl}/register`);
  await page.getByLabel('Username', { exact: true }).fill(newUser().username);
  await page.getByLabel('Password', { exact: true }).fill('password1234567');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: 'This is a common password with digits added' })
    .waitFor();
  assert(pathOf(page) === '/register', `a refused registration left /register for ${pathOf(page)}`);

  const user = newUser();
  await registerUser(page, ctx.baseUrl, user);
  await openSessions(page);
  await page.getByLabel('Current password').fill(user.password);
  await page.getByLabel('New password').fill('qwertyuiopasdfgh');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: 'Keyboard rows like qwerty are easy to guess' })
    .waitFor();
  const changed = await page.getByRole('status').filter({ hasText: 'Password changed' }).count();
  assert(changed === 0, 'a refused password was reported as changed');
});
