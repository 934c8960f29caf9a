import { scenario } from './harness.ts';
import { expectAtLogin, expectProfile, newUser, registerUser } from './helpers.ts';

scenario('two tabs reloading at the same moment both stay signed in', async (ctx) => {
  const browser = await ctx.newContext();
  const user = newUser();
  const first = await browser.newPage();
  await registerUser(first, ctx.baseUrl, user);
  const second = await browser.newPage();
  await second.goto(`${ctx.baseUrl}/`);
  await expectProfile(second, user.username);

  for (let round = 0; round < 3; round += 1) {
    await Promise.all([first.reload(), second.reload()]);
    await Promise.all([expectProfile(first, user.username), expectProfile(second, user.username)]);
  }

  // Concurrent refreshes must not have been taken for token theft and revoked the session.
  const third = await browser.newPage();
  await third.goto(`${ctx.baseUrl}/`);
  await expectProfile(third, user.username);
});

scenario('signing out in one tab signs the other tab out', async (ctx) => {
  const browser = await ctx.newContext();
  const user = newUser();
  const first = await browser.newPage();
  await registerUser(first, ctx.baseUrl, user);
  const second = await browser.newPage();
  await second.goto(`${ctx.baseUrl}/`);
  await expectProfile(second, user.username);

  await first.getByRole('button', { name: 'Sign out' }).click();
  await expectAtLogin(first);
  // No interaction with the second tab: it has to hear about it on its own.
  await expectAtLogin(second, 5_000);
});
