// Privacy on the dashboard in a real browser (Debian's chromium, playwright-core) against a real
// `vaka-server demo`: the demo entry whose description holds a name and a phone number is marked
// in the inbox and warned about on its page; a coordinator redacts it and the history says so;
// an admin sets the retention period and the demo's old entries are purged. Saves
// docs/screenshots/privacy-entry.png (the warning on the entry page, phone width) and
// docs/screenshots/settings.png.
//
// Needs the workspace built (target/debug/vaka-server; VAKA_BIN_DIR overrides).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { screenshots, startServer, signIn as signInAt } from './support.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  mkdirSync(screenshots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

function signIn(page, login) {
  return signInAt(page, server.url, login);
}

test('an entry with a name in its text is marked, warned about and redacted', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page, 'samordnare');
  await page.goto(`${server.url}/inbox`);
  const marked = page.locator('tr', { has: page.locator('.badge.pii') });
  assert.equal(await marked.count(), 1, 'exactly the demo entry with a name is marked');
  assert.match(await marked.innerText(), /Kalle Svensson/);
  await Promise.all([page.waitForNavigation(), marked.locator('a').first().click()]);

  const warning = page.locator('#pii');
  assert.ok(await warning.isVisible(), 'the entry page warns');
  assert.match(await warning.innerText(), /Telefonnummer/);
  await page.screenshot({ path: join(screenshots, 'privacy-entry.png'), fullPage: false });
  await page.locator('#redact summary', { hasText: 'Beskrivning' }).click();

  const form = page.locator('#redact form', { has: page.locator('input[name=field][value=description]') });
  await form.locator('textarea').fill('En ungdom hotade en annan ungdom vid stationen.');
  await form.locator('input[name=confirm]').check();
  await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').click()]);

  const html = await page.content();
  assert.ok(!html.includes('Svensson'), 'the name is gone from the page and its history');
  assert.ok(!html.includes('070-123'), 'the number too');
  assert.equal(await page.locator('#pii').count(), 0, 'no warning any more');
  assert.match(await page.locator('#history').innerText(), /Beskrivning redigerades av Sara Lind/);
  await page.goto(`${server.url}/inbox`);
  assert.equal(await page.locator('.badge.pii').count(), 0, 'the mark is gone from the inbox');
  await context.close();
});

test('an admin sets the retention period and the old demo entries are purged', async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await signIn(page, 'admin');
  const period = () => {
    const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    return `from=${day(-60)}&to=${day(0)}&sort=occurred&dir=asc`;
  };
  await page.goto(`${server.url}/inbox?${period()}`);
  assert.match(await page.content(), /Gammal händelse/, 'the old entries are there before');

  await page.goto(`${server.url}/settings`);
  assert.match(await page.locator("#retention").innerText(), /ska 0 poster gallras nu/, "nothing is due at 730 days");
  await page.fill('#retention_days', '30');
  await page.check('input[name=confirm]');
  await Promise.all([page.waitForNavigation(), page.click('#retention button[type=submit]')]);
  assert.match(await page.locator('[role=status]').innerText(), /Sparat|Sparad/);
  assert.match(await page.locator('#retention').innerText(), /Senaste gallring/);
  await page.screenshot({ path: join(screenshots, 'settings.png'), fullPage: true });

  await page.goto(`${server.url}/inbox?${period()}`);
  assert.doesNotMatch(await page.content(), /Gammal händelse/, 'purged from the inbox');
  await page.goto(`${server.url}/report?${period()}`);
  assert.match(await page.locator('#purged').innerText(), /enligt gallringstiden \(30 dagar\)/);

  // A coordinator who is not an admin does not get the settings page.
  const other = await browser.newContext();
  const coordinator = await other.newPage();
  await signIn(coordinator, 'samordnare');
  const response = await coordinator.goto(`${server.url}/settings`);
  assert.equal(response.status(), 404);
  await other.close();
  await context.close();
});
