import { scenario } from './harness.ts';
import {
  assert,
  expectAtLogin,
  expectCount,
  expectProfile,
  newUser,
  openSessions,
  registerUser,
  sessionItems,
  signIn,
} from './helpers.ts';

scenario('revoking another session signs that browser out', async (ctx) => {
  const user = newUser();
  const mine = await ctx.newPage();
  await registerUser(mine, ctx.baseUrl, user);
  const theirs = await ctx.newPage();
  await signIn(theirs, ctx.baseUrl, user);

  await openSessions(mine);
  const items = sessionItems(mine);
  await expectCount(items, 2);
  await expectCount(items.filter({ hasText: 'This device' }), 1);

  await items.filter({ hasNotText: 'This device' }).getByRole('button', { name: 'Revoke' }).click();
  await expectCount(items, 1);
  await expectCount(items.filter({ hasText: 'This device' }), 1);

  await theirs.reload();
  await expectAtLogin(theirs);

  // The revoking side is unaffected.
  await mine.reload();
  await mine.getByText('This device').waitFor();
});

scenario('changing the password ends the other sessions', async (ctx) => {
  const user = newUser();
  const newPassword = `${user.password}-renewed`;
  const mine = await ctx.newPage();
  await registerUser(mine, ctx.baseUrl, user);
  const theirs = await ctx.newPage();
  await signIn(theirs, ctx.baseUrl, user);

  await openSessions(mine);
  await expectCount(sessionItems(mine), 2);

  const current = mine.getByLabel('Current password');
  await mine.getByRole('button', { name: 'Change password' }).click();
  await mine.getByText('Password is required').waitFor();
  assert(
    await current.evaluate((element) => element === document.activeElement),
    'focus did not move to the empty current password field',
  );

  await current.fill(user.password);
  await mine.getByLabel('New password').fill(newPassword);
  await mine.getByRole('button', { name: 'Change password' }).click();
  await mine.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
  await expectCount(sessionItems(mine), 1);

  await theirs.reload();
  await expectAtLogin(theirs);
  await signIn(theirs, ctx.baseUrl, { ...user, password: newPassword });
  await expectProfile(theirs, user.username);
});
