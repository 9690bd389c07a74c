// Tiers in a real browser (Debian's chromium, playwright-core) against a real `vaka-server demo`:
// the police liaison signs in and sees the situation report as aggregates only, and gets 404 on
// entry pages, the per-entry CSV and the inbox; the municipality's safety coordinator sees the
// combined report, whose counts equal the sum of the two associations' own reports; a share
// withdrawn disappears from it; small cells are suppressed and no published total undoes that.
// Saves docs/screenshots/liaison-report.png (phone width) and combined-report.png (desktop).
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

async function signedIn(login, viewport = { width: 1366, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await signInAt(page, server.url, login);
  return { context, page };
}

/** The "Händelser" key figure of an association's own report page. */
async function ownIncidents(page) {
  await page.goto(`${server.url}/report`);
  return Number(await page.locator('[data-kpi="Händelser"]').innerText());
}

/** The "Händelser" key figure of an aggregate report page. */
async function aggregateIncidents(page) {
  const row = page.locator('#key-figures tr', { has: page.locator('td', { hasText: /^Händelser$/ }) });
  return (await row.locator('td.num').first().innerText()).trim();
}

test('the police liaison sees aggregates only', async () => {
  const { context, page } = await signedIn('polis', { width: 390, height: 844 });
  assert.match(page.url(), /\/report$/, 'a liaison lands on the report');
  assert.match(await page.locator('#aggregate-note').innerText(), /Endast sammanställda tal/);
  assert.equal(await page.locator('a[href^="/entries/"]').count(), 0, 'no link to an entry');
  assert.equal(await page.locator('#grid svg rect').count() > 0, true, 'a grid map');
  assert.equal(await page.locator('circle').count(), 0, 'no exact point');
  await page.screenshot({ path: join(screenshots, 'liaison-report.png'), fullPage: false });
  const html = await page.content();
  assert.doesNotMatch(html, /Kalle|Bråk vid busshållplatsen/, 'no free text');

  for (const path of ['/inbox', '/people', '/areas', '/settings', '/audit']) {
    const response = await page.goto(`${server.url}${path}`);
    assert.equal(response.status(), 404, `${path} for a liaison`);
  }
  // An entry's page, as a coordinator would open it.
  const coordinator = await signedIn('samordnare');
  await coordinator.page.goto(`${server.url}/inbox`);
  const entry = await coordinator.page.locator('a[href^="/entries/"]').first().getAttribute('href');
  await coordinator.context.close();
  assert.equal((await page.goto(`${server.url}${entry}`)).status(), 404, 'an entry page for a liaison');
  const csv = await page.request.get(`${server.url}/report.csv`);
  assert.equal(csv.status(), 200);
  const text = await csv.text();
  assert.match(text, /^table,row,this_period,previous_period,change\n/, 'an aggregate CSV, not the per-entry one');
  assert.doesNotMatch(text, /[0-9a-f]{8}-[0-9a-f]{4}-7/, 'no entry id in it');
  await context.close();
});

test('the municipality sees the sum of what the associations share, until a share is withdrawn', async () => {
  const first = await signedIn('samordnare');
  const second = await signedIn('grannsamverkan');
  const a = await ownIncidents(first.page);
  const b = await ownIncidents(second.page);
  assert.ok(a > 0 && b > 0, `both associations have incidents (${a}, ${b})`);

  const municipality = await signedIn('kommun');
  await municipality.page.goto(`${server.url}/report`);
  await Promise.all([municipality.page.waitForNavigation(), municipality.page.click('#combined')]);
  assert.equal(await aggregateIncidents(municipality.page), String(a + b), 'combined = sum of the associations');
  const parts = await municipality.page.locator('section', { hasText: 'Per organisation' }).innerText();
  assert.match(parts, /Trygghetsnätverket Exempelstad/);
  assert.match(parts, /Grannsamverkan Exempelstad/);
  assert.match(await municipality.page.locator('#suppression-rule').innerText(), /1 och 2 visas som "<3"/);
  await municipality.page.screenshot({ path: join(screenshots, 'combined-report.png'), fullPage: true });
  // Every cell shown is 0, 3 or more, "<3" or hidden: never 1 or 2.
  const cells = await municipality.page.locator('section.aggregate td.num').allInnerTexts();
  for (const cell of cells) assert.ok(!['1', '2'].includes(cell.trim()), `a small count is shown: ${cell}`);

  // The second association's admin withdraws; it is gone from the combined report.
  await second.page.goto(`${server.url}/settings`);
  const sharing = second.page.locator('#sharing');
  assert.match(await sharing.innerText(), /Delas med/);
  await Promise.all([second.page.waitForNavigation(), sharing.locator('button', { hasText: 'Sluta dela' }).click()]);
  assert.doesNotMatch(await second.page.locator('#sharing').innerText(), /Delas med/);
  await municipality.page.reload();
  assert.equal(await aggregateIncidents(municipality.page), String(a), 'combined = the first association only');
  const after = await municipality.page.locator('section', { hasText: 'Per organisation' }).innerText();
  assert.doesNotMatch(after, /Grannsamverkan Exempelstad/);
  await second.context.close();
  await first.context.close();
  await municipality.context.close();
});
