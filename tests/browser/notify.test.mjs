// Notifications on the dashboard in a real browser (Debian's chromium, playwright-core) against a
// real `vaka-server demo` that may post to loopback (--webhooks-allow-private): an admin adds a
// webhook (its secret shown once), a rule refused beside its field with what was typed kept, then
// a rule for acute incidents; a real device core (the vaka-device command line) logs one; the
// delivery log shows the receiver's 410 and the endpoint disabled; "Skicka igen" delivers it.
// Saves docs/screenshots/notifications.png and notifications-log.png.
//
// Needs the workspace built (target/debug/vaka-server and vaka-device; VAKA_BIN_DIR overrides).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { bin, here, screenshots, startServer, signIn } from './support.mjs';

const axeScript = join(here, 'node_modules', 'axe-core', 'axe.min.js');

let server;
let browser;
let receiver;
const received = [];
let answer = 410;

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body), status: answer });
      res.writeHead(answer).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  server = await startServer(['--webhooks-allow-private']);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  mkdirSync(screenshots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.stop();
  receiver?.close();
});

async function axeViolations(page) {
  await page.addScriptTag({ path: axeScript });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Reloads `page` until `check` passes or the deadline does. */
async function eventually(page, check, what) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await page.reload();
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('an admin sets up a webhook and a rule, and the delivery log shows every attempt', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, server.url, 'admin');
  await page.click('nav a[href="/notifications"]');
  assert.match(await page.locator('h1').innerText(), /Aviseringar/);

  // The webhook: its secret is shown once.
  const hook = `http://127.0.0.1:${receiver.address().port}/vaka`;
  await page.fill('#webhook_url', hook);
  await Promise.all([page.waitForNavigation(), page.click('#webhooks button[type=submit]')]);
  const secret = await page.locator('#webhook_secret').innerText();
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]+$/);
  await page.goto(`${server.url}/notifications`);
  assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');

  // A rule without a target is refused beside the field, with what was typed kept.
  await page.fill('#rule_name', 'Akuta händelser');
  await page.check('input[name=severity][value="4"]');
  await Promise.all([page.waitForNavigation(), page.click('#new-rule button[type=submit]')]);
  assert.match(await page.locator('#rule_emails_error').innerText(), /minst en e-postadress/);
  assert.equal(await page.inputValue('#rule_name'), 'Akuta händelser');
  assert.ok(await page.isChecked('input[name=severity][value="4"]'));

  await page.fill('#rule_emails', 'inte en adress');
  await Promise.all([page.waitForNavigation(), page.click('#new-rule button[type=submit]')]);
  assert.match(await page.locator('#rule_emails_error').innerText(), /inte en e-postadress/);

  await page.fill('#rule_emails', 'trygghet@kommun.example');
  await page.check('input[name=webhook]');
  await Promise.all([page.waitForNavigation(), page.click('#new-rule button[type=submit]')]);
  assert.match(await page.locator('[role=status]').innerText(), /Regeln är tillagd/);
  const rules = await page.locator('#rules').innerText();
  assert.match(rules, /Akuta händelser/);
  assert.match(rules, /allvarlighet 4/);
  assert.match(rules, /trygghet@kommun.example/);
  assert.deepEqual(await axeViolations(page), []);
  await page.screenshot({ path: join(screenshots, 'notifications.png'), fullPage: true });

  // A phone logs an acute incident and a minor one.
  const code = server.banner.match(/--code (\S+)/)[1];
  const db = join(server.data, 'phone.sqlite3');
  const device = (...args) => execFileSync(join(bin, 'vaka-device'), ['--db', db, ...args], { encoding: 'utf8' });
  device('enroll', '--server', server.url, '--code', code, '--name', 'Testtelefon');
  device('incident', '--category', 'violence_threat', '--severity', '4', '--description', 'Kalle slog till en person vid stationen.');
  device('incident', '--category', 'alcohol', '--severity', '1', '--description', 'Flaskor vid bänken.');
  device('sync');

  // The receiver answers 410: the endpoint is disabled, the log says so.
  await page.goto(`${server.url}/notifications/log`);
  await eventually(page, async () => (await page.locator('tr[data-delivery]').count()) === 2
    && (await page.locator('.badge[data-status=disabled]').count()) === 1, 'the webhook delivery disabled');
  const log = await page.locator('table').innerText();
  assert.match(log, /Akuta händelser/);
  assert.match(log, /Våld eller hot/);
  assert.match(log, /410/);
  assert.doesNotMatch(log, /Kalle|Flaskor/, 'no free text in the log');
  assert.equal(received.length, 1, 'one post, for the acute incident only');
  assert.equal(received[0].body.data.severity, 4);
  assert.ok(received[0].headers['webhook-signature'].startsWith('v1,'));
  assert.doesNotMatch(JSON.stringify(received[0].body), /Kalle/);
  await page.goto(`${server.url}/notifications`);
  assert.match(await page.locator('#webhooks').innerText(), /Avstängd sedan/);

  // Sent again once the receiver is back: delivered, the endpoint active again.
  answer = 200;
  await page.goto(`${server.url}/notifications/log`);
  const again = page.locator('tr', { has: page.locator('.badge[data-status=disabled]') }).locator('button');
  await Promise.all([page.waitForNavigation(), again.click()]);
  assert.match(await page.locator('[role=status]').innerText(), /Utskicket görs om/);
  await eventually(page, async () => (await page.locator('.badge[data-status=delivered]').count()) === 1, 'delivered');
  assert.equal(received.length, 2);
  assert.equal(received[1].headers['webhook-id'], received[0].headers['webhook-id'], 'the same message');
  assert.deepEqual(await axeViolations(page), []);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(screenshots, 'notifications-log.png'), fullPage: true });

  // Not for coordinators.
  const other = await browser.newContext();
  const coordinator = await other.newPage();
  await signIn(coordinator, server.url, 'samordnare');
  assert.equal((await coordinator.goto(`${server.url}/notifications`)).status(), 404);
  assert.equal((await coordinator.goto(`${server.url}/notifications/log`)).status(), 404);
  await other.close();
  await context.close();
});
