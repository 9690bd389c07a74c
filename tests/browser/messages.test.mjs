// Messages to the walkers in a real browser: a coordinator sends a message to the whole demo
// organisation from the dashboard (a wrong end time first, shown beside the field with what was
// typed kept), a real device core (the vaka-device command line) syncs, shows it and marks it
// read, and the messages page counts the phone that received it and the phone that read it.
//
// Needs the workspace built (target/debug/vaka-server and vaka-device; VAKA_BIN_DIR overrides).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { bin, signIn, startServer } from './support.mjs';

const TEXT = 'Polisinsats vid stationen ikväll – undvik gångtunneln';

/** Runs the device command line on `db`. */
function device(db, ...args) {
  return execFileSync(join(bin, 'vaka-device'), ['--db', db, ...args], { encoding: 'utf8' });
}

/** `YYYY-MM-DDTHH:MM` in Swedish time, `hours` from now, as the end-time field takes it. */
function swedishIn(hours) {
  const at = new Date(Date.now() + hours * 3_600_000);
  const parts = Object.fromEntries(new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Europe/Stockholm', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

describe('messages to the walkers', () => {
  let server, browser, page;

  before(async () => {
    server = await startServer();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'sv-SE' });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    server?.stop();
  });

  test('a message sent from the dashboard reaches a phone, and its received and read counts show', async () => {
    await signIn(page, server.url, 'samordnare');
    await page.click('nav a[href="/messages"]');
    await page.waitForSelector('h1:has-text("Meddelanden")');

    // An end time in the past is refused beside the field; the text stays.
    await page.fill('#message-text', TEXT);
    await page.selectOption('#message-audience', 'org');
    await page.fill('#message-ends', swedishIn(-2));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/messages"] button[type=submit]')]);
    assert.match(await page.textContent('#message-ends-error'), /redan passerat/);
    assert.equal(await page.inputValue('#message-text'), TEXT);

    await page.fill('#message-ends', swedishIn(6));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/messages"] button[type=submit]')]);
    assert.match(await page.textContent('p.ok'), /Meddelandet är skickat/);
    const row = page.locator('#messages-active tr', { hasText: TEXT });
    assert.equal(await row.getAttribute('data-message') !== null, true);
    assert.equal(await row.locator('[data-received]').textContent(), '0');

    // A walker's phone syncs: it shows the message, then marks it read and syncs again.
    const code = server.banner.match(/--code (\S+)/)[1];
    const db = join(server.data, 'phone.sqlite3');
    device(db, 'enroll', '--server', server.url, '--code', code, '--name', 'Testtelefon');
    const synced = device(db, 'sync');
    assert.match(synced, /new message\(s\) from the coordinators/);
    assert.ok(synced.includes(TEXT), synced);
    const id = device(db, 'messages').match(/message (\S+) \(unread/)[1];
    device(db, 'messages', '--read', id);
    device(db, 'sync');
    assert.match(device(db, 'messages'), /\(read,/);

    await page.goto(`${server.url}/messages`);
    const counted = page.locator(`tr[data-message="${id}"]`);
    assert.equal(await counted.locator('[data-received]').textContent(), '1');
    assert.equal(await counted.locator('[data-read]').textContent(), '1');

    // Ended now: it moves to the ended list, and the phone stops showing it.
    await Promise.all([page.waitForNavigation(), counted.locator('button[type=submit]').click()]);
    assert.match(await page.textContent('p.ok'), /avslutat/);
    assert.equal(await page.locator(`#messages-ended tr[data-message="${id}"]`).count(), 1);
    device(db, 'sync');
    assert.match(device(db, 'messages'), /No messages\./);
  });
});
