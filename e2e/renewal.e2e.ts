import type { Route } from 'playwright-core';
import { scenario } from './harness.ts';
import { assert, expectAtLogin, newUser, openSessions, pathOf, registerUser } from './helpers.ts';

/** The server's answer to an access token it no longer accepts, as tRPC sends it. */
function refuse(route: Route, path: string) {
  return route.fulfill({
    status: 401,
    contentType: 'application/json',
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    body: JSON.stringify({
      error: {
        code: -32001,
        message: 'Could not validate credentials',
        data: { code: 'UNAUTHORIZED', httpStatus: 401, path },
      },
    }),
  });
}

scenario('a refused access token is renewed once, else the tab signs out', async (ctx) => {
  const page = await ctx.newPage();
  await registerUser(page, ctx.baseUrl, newUser());

  let refreshes = 0;
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/trpc/refresh') refreshes += 1;
  });
  let refused = 0;
  await page.route('**/trpc/sessions.list*', async (route) => {
    if (refused > 0) return route.continue();
    refused += 1;
    return refuse(route, 'sessions.list');
  });

  await openSessions(page);
  await page.getByText('This device').waitFor();
  assert(refused === 1, `sessions.list was refused ${refused} times`);
  assert(refreshes === 1, `expected one refresh before the retry, saw ${refreshes}`);

  // When the refresh cookie is refused too, there is nothing left to try: back to sign-in.
  await page.route('**/trpc/refresh', (route) => refuse(route, 'refresh'));
  await page.route('**/trpc/account.changePassword', (route) =>
    refuse(route, 'account.changePassword'),
  );
  await page.getByLabel('Current password').fill('correct-horse-battery-staple-1');
  await page.getByLabel('New password').fill('correct-horse-battery-staple-2');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expectAtLogin(page);
  assert(pathOf(page) === '/login', 'still signed in after the refresh was refused');
});
