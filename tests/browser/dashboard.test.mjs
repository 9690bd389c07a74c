// The coordinator dashboard in a real browser: Debian's chromium driven by playwright-core against
// a real vaka-server with the demo organisation, and a real device core (the vaka-device command
// line) that pulls what the coordinator wrote. Screenshots of the inbox, an entry and the report
// are saved to docs/screenshots/.
//
// Needs the workspace built (target/debug/vaka-server and vaka-device; VAKA_BIN_DIR overrides).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { here, bin, screenshots, PASSWORD, startServer } from './support.mjs';

const axeScript = join(here, 'node_modules', 'axe-core', 'axe.min.js');
const LOGIN = 'samordnare';

/** Runs the device command line on `db`. */
function device(db, ...args) {
  return execFileSync(join(bin, 'vaka-device'), ['--db', db, ...args], { encoding: 'utf8' });
}

/** The text of a PDF as poppler's pdftotext reads it (through the fonts' ToUnicode maps). */
function pdfText(bytes, dir, layout = false) {
  const file = join(dir, 'report.pdf');
  writeFileSync(file, bytes);
  return execFileSync('pdftotext', [...(layout ? ['-layout'] : []), file, '-'], { encoding: 'utf8' });
}

/** axe-core's serious and critical violations on the page as it is now. */
async function axeViolations(page) {
  await page.addScriptTag({ path: axeScript });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}

/** Whether the page fits its window's width (no horizontal scrolling). */
async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

async function signIn(page, url, password = PASSWORD) {
  await page.goto(`${url}/login`);
  await page.fill('input[name=login]', LOGIN);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

describe('coordinator dashboard', () => {
  let server, browser, context, page, db;

  before(async () => {
    mkdirSync(screenshots, { recursive: true });
    server = await startServer();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'sv-SE' });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    server?.stop();
  });

  test('a wrong password is refused', async () => {
    await signIn(page, server.url, 'fel lösenord');
    await page.waitForSelector('.error');
    assert.match(await page.textContent('.error'), /Fel användarnamn eller lösenord/);
    assert.match(page.url(), /\/login$/);
  });

  test('signing in opens the inbox, newest first, with counts', async () => {
    // The demo phone enrols and logs two incidents, one after the other, as a walker would.
    const code = server.banner.match(/--code (\S+)/)[1];
    db = join(server.data, 'phone.sqlite3');
    device(db, 'enroll', '--server', server.url, '--code', code, '--name', 'Testtelefon');
    device(db, 'incident', '--category', 'alcohol', '--severity', '1', '--description', 'Först: flaskor vid bänken.');
    device(db, 'incident', '--category', 'alcohol', '--severity', '1', '--description', 'Sedan: glas på perrongen.');
    device(db, 'sync');

    await signIn(page, server.url);
    await page.waitForURL(/\/inbox$/);
    const total = Number(await page.textContent('[data-testid=total]'));
    assert.ok(total > 20, `the demo has entries (${total})`);
    const rows = page.locator('#inbox tbody tr');
    assert.ok(await rows.count() > 10);
    // Newest event first: the later incident, then the earlier one, then the rest, which happened before them.
    const description = async (i) => (await rows.nth(i).locator('td').nth(6).textContent()).trim();
    assert.equal(await description(0), 'Sedan: glas på perrongen.');
    assert.equal(await description(1), 'Först: flaskor vid bänken.');
    const occurred = [];
    for (let i = 0; i < await rows.count(); i++) {
      occurred.push((await rows.nth(i).locator('td').nth(0).textContent()).trim());
    }
    assert.deepEqual(occurred, [...occurred].sort().reverse(), 'event times run from newest to oldest');
    // Sorted by severity, the acute ones come first; the heading says how the page is sorted.
    await page.click('th a[data-sort=severity]');
    await page.waitForURL(/sort=severity/);
    assert.equal(await page.getAttribute('th:has(a[data-sort=severity])', 'aria-sort'), 'descending');
    assert.equal((await page.locator('#inbox tbody tr').first().locator('td').nth(4).textContent()).trim(), 'Akut');
    await page.goto(`${server.url}/inbox`);
    await page.screenshot({ path: join(screenshots, 'inbox.png'), fullPage: false });
  });

  test('the inbox filters by kind and severity', async () => {
    await page.selectOption('select[name=kind]', 'incident');
    await page.selectOption('select[name=severity]', '4');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/severity=4/);
    const rows = page.locator('#inbox tbody tr');
    const n = await rows.count();
    assert.ok(n >= 1, 'the demo has acute incidents');
    for (let i = 0; i < n; i++) {
      assert.equal((await rows.nth(i).locator('td').nth(4).textContent()).trim(), 'Akut', 'severity in words');
      assert.equal((await rows.nth(i).locator('td').nth(2).textContent()).trim(), 'Händelse');
    }
    assert.equal(Number(await page.textContent('[data-testid=total]')), n);
  });

  test('an entry is reviewed, commented and its conflict settled; the phone pulls the comment', async () => {
    // The demo phone (enrolled above) logs an incident, as a walker would.
    device(db, 'incident', '--category', 'disturbance', '--severity', '2', '--description', 'Stök vid kiosken, lugnade sig.');
    device(db, 'sync');

    // The conflict the demo left is one click from the inbox.
    await page.goto(`${server.url}/inbox`);
    await page.click('a[href*="conflicts=1"]');
    await page.click('#inbox tbody tr a');
    await page.waitForSelector('#conflicts');
    await page.screenshot({ path: join(screenshots, 'entry.png'), fullPage: true });
    // The coordinator keeps the value that lost: it becomes the entry's value on the server and
    // on the phone.
    const conflictEntry = page.url();
    const kept = (await page.textContent('#conflicts .conflict > div:has(button[data-choice=winner]) p')).trim();
    const chosen = (await page.textContent('#conflicts .conflict > div:has(button[data-choice=loser]) p')).trim();
    assert.notEqual(kept, chosen);
    assert.ok((await page.textContent('dl.fields')).includes(kept), 'the winner shows before settling');
    await page.click('#conflicts button[data-choice=loser]');
    await page.waitForSelector('.ok');
    assert.ok(await page.locator('#conflicts .badge', { hasText: 'Avgjord' }).count() >= 1);
    // The settled card says which value was kept, by whom and when, and no longer calls the
    // value that lost "Gällande värde".
    assert.match(await page.textContent('#conflicts .settled'), /^Avgjord av Sara Lind \d{4}-\d{2}-\d{2} \d{2}:\d{2}: värdet från .+ behölls\.$/);
    assert.equal(await page.locator('#conflicts [data-side=loser] strong').first().textContent(), 'Behölls');
    assert.doesNotMatch(await page.textContent('#conflicts'), /[0-9a-f]{8}-[0-9a-f]{4}-|\{"|_id\b/);
    await page.goto(conflictEntry);
    const fields = await page.textContent('dl.fields');
    assert.ok(fields.includes(chosen) && !fields.includes(kept), `the server keeps the chosen value: ${fields}`);
    device(db, 'sync');
    const onPhone = device(db, 'list');
    assert.ok(onPhone.includes(chosen.slice(0, 60)), `the phone keeps the chosen value: ${onPhone}`);
    assert.ok(!onPhone.includes(kept.slice(0, 60)), `the phone no longer shows the other value: ${onPhone}`);

    // The phone's incident: status, comment.
    await page.goto(`${server.url}/inbox?from=&author=`);
    await page.click('#inbox tbody tr >> nth=0 >> a');
    assert.match(await page.textContent('dl.fields'), /Stök vid kiosken/);
    const phoneEntry = page.url();
    assert.equal(await page.isChecked('input[name=forwarded_to][value=police]'), false);
    await page.selectOption('select[name=review_status]', 'needs_info');
    await page.check('input[name=forwarded_to][value=police]');
    await page.click('#review button[type=submit]');
    await page.waitForSelector('.ok');
    // Saved: a fresh load of the entry shows the status and the tick.
    await page.goto(phoneEntry);
    assert.equal(await page.inputValue('select[name=review_status]'), 'needs_info');
    assert.equal(await page.isChecked('input[name=forwarded_to][value=police]'), true, 'forwarded to the police is saved');
    // A comment of blanks: the same page, the message beside the field, in Swedish.
    await page.fill('textarea[name=body]', '   ');
    await page.click('#comments button[type=submit]');
    assert.match(await page.textContent('#comment-body-error'), /Skriv något i kommentaren/);
    assert.equal(await page.getAttribute('#comment-body', 'aria-invalid'), 'true');
    assert.ok(await page.locator('#history').count() === 1, 'the whole entry page, not an error page');
    // Duplicates are chosen from a list of likely ones, never typed.
    assert.equal(await page.locator('select#duplicate_of option').first().textContent(), 'Ingen (inte en dubblett)');
    device(db, 'incident', '--category', 'disturbance', '--severity', '2', '--description', 'Samma stök vid kiosken, från en annan vandrare.');
    device(db, 'sync');
    await page.goto(phoneEntry);
    const offered = page.locator('select#duplicate_of option', { hasText: 'Samma stök vid kiosken' });
    assert.equal(await offered.count(), 1, 'the other report of the same event is offered');
    const duplicateId = await offered.getAttribute('value');
    await page.selectOption('select#duplicate_of', duplicateId);
    await page.click('#review button[type=submit]');
    await page.waitForSelector('.ok');
    await page.goto(phoneEntry);
    assert.equal(await page.inputValue('select#duplicate_of'), duplicateId, 'the chosen duplicate is saved');
    assert.match(await page.textContent('dl.fields'), /Dubblett av/);
    await page.fill('textarea[name=body]', 'Tack! Var det samma grupp som i fredags?');
    await page.click('#comments button[type=submit]');
    await page.waitForSelector('.comment');
    assert.match(await page.textContent('#comments'), /samma grupp som i fredags/);
    assert.match(await page.textContent('#history'), /Status: Behöver mer information/);
    assert.doesNotMatch(await page.textContent('#history'), /needs_info|[0-9a-f]{8}-[0-9a-f]{4}-|\{"|UTC/);

    device(db, 'sync');
    const listed = device(db, 'list');
    assert.match(listed, /comment: Tack! Var det samma grupp som i fredags\?/);
  });

  test('the situation report and its PDF, CSV and GeoJSON agree with each other', async () => {
    await page.goto(`${server.url}/report`);
    await page.fill('textarea[name=summary]', 'Lugna två veckor i stort; oro kring stationsområdet fredagskvällar.');
    await page.click('section.card button[type=submit]');
    await page.waitForSelector('#summary-saved');
    assert.match(await page.textContent('#summary-saved'), /sparad/);
    await page.screenshot({ path: join(screenshots, 'report.png'), fullPage: true });
    const kpi = async (label) => Number(await page.textContent(`b[data-kpi="${label}"]`));
    const incidents = await kpi('Händelser');
    const observations = await kpi('Iakttagelser');
    const patrols = await kpi('Patruller');
    assert.ok(incidents > 0 && patrols > 0);

    const csvResponse = await page.request.get(server.url + await page.getAttribute('#csv', 'href'));
    assert.equal(csvResponse.status(), 200);
    const lines = (await csvResponse.text()).trim().split('\r\n');
    assert.match(lines[0], /^id,kind,occurred_at/);
    const kinds = lines.slice(1).map((l) => l.split(',')[1]);
    assert.equal(kinds.filter((k) => k === 'incident').length, incidents);
    assert.equal(kinds.filter((k) => k === 'observation').length, observations);
    assert.equal(kinds.filter((k) => k === 'patrol').length, patrols);

    const geo = await (await page.request.get(server.url + await page.getAttribute('#geojson', 'href'))).json();
    assert.equal(geo.type, 'FeatureCollection');
    const areaIncidents = geo.features.filter((f) => f.properties.feature === 'area').reduce((s, f) => s + f.properties.incidents, 0);
    assert.equal(geo.properties.incidents, incidents);
    assert.equal(areaIncidents + geo.properties.incidents_without_area, incidents, 'the areas hold every incident');
    assert.ok(geo.features.some((f) => f.geometry.type === 'Point'));

    const pdf = await page.request.get(server.url + await page.getAttribute('#pdf', 'href'));
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    const body = await pdf.body();
    assert.equal(body.subarray(0, 5).toString(), '%PDF-');
    const shown = pdfText(body, server.data);
    for (const heading of ['Lägesbild', 'Sammanfattning', 'Nyckeltal', 'Per område', 'Karta över händelser och iakttagelser', 'Polis', 'Allvarligaste händelserna']) {
      assert.ok(shown.includes(heading), `the PDF has the heading ${heading}`);
    }
    assert.ok(shown.includes('Lugna två veckor i stort; oro kring stationsområdet fredagskvällar.'), 'and the summary');
    assert.match(shown, /Framtagen \d{4}-\d\d-\d\d \d\d:\d\d av Sara Lind/, 'who produced it and when');
    assert.match(shown, /Sida 1 av \d/, 'page numbers');
    const laidOut = pdfText(body, server.data, true);
    assert.equal(Number(laidOut.match(/^\s*Händelser\s+(\d+)/m)[1]), incidents, 'the same number of incidents');
    // Every change is a +, a true minus sign or ±0, never a "?" standing in for a character.
    const changes = [...laidOut.matchAll(/(?<![\w-])([+−±?])(\d+)\b/g)].map((m) => m[1]);
    assert.ok(changes.includes('−'), `a decrease prints with a minus sign: ${changes.join(' ')}`);
    assert.ok(!changes.includes('?'), 'no "?" in a number');
    assert.ok(!/\?\d/.test(laidOut), 'no "?" before a digit anywhere');
    assert.ok(!/\d\.\d/.test(laidOut.replace(/\d{4}-\d\d-\d\d/g, '')), 'decimals with a comma, not a point');
    // Every page as an image, for a person to look at.
    const pages = join(server.data, 'page');
    execFileSync('pdftoppm', ['-png', '-r', '60', join(server.data, 'report.pdf'), pages]);
  });

  test('an impossible report period is refused with the reason, never replaced', async () => {
    const response = await page.goto(`${server.url}/report?from=2026-11-20&to=2026-11-01`);
    assert.equal(response.status(), 400);
    assert.match(await page.textContent('.error'), /Perioden slutar innan den börjar/);
    assert.equal(await page.inputValue('input[name=from]'), '2026-11-20', 'what was typed is kept');
    const tooLong = await page.goto(`${server.url}/report?from=2024-01-01&to=2026-01-01`);
    assert.equal(tooLong.status(), 400);
    assert.match(await page.textContent('.error'), /högst 366 dagar/);
    const inbox = await page.goto(`${server.url}/inbox?from=2026-11-20&to=2026-11-01`);
    assert.equal(inbox.status(), 400);
    assert.match(await page.textContent('.error'), /Perioden slutar innan den börjar/);
  });

  test('a coordinator adds a volunteer, an error stays beside its field, and the QR code names the server', async () => {
    await page.goto(`${server.url}/people`);
    await page.click('#add-member button[type=submit]');
    await page.waitForSelector('#new-name-error');
    assert.match(await page.textContent('#new-name-error'), /Skriv ett namn/);
    assert.equal(await page.getAttribute('#new-name', 'aria-invalid'), 'true');
    await page.fill('#new-name', 'Nora Nyberg');
    await page.fill('#new-group', 'Nattvandrarna');
    await page.click('#add-member button[type=submit]');
    await page.waitForSelector('.ok');
    const row = page.locator('#people tbody tr', { hasText: 'Nora Nyberg' });
    assert.match(await row.textContent(), /Volontär/);
    assert.match(await row.textContent(), /Nattvandrarna/);
    await row.locator('button', { hasText: 'Skapa registreringskod' }).click();
    await page.waitForSelector('#enrolment-code');
    const code = (await page.textContent('#enrolment-code')).trim();
    const link = await page.getAttribute('.qr', 'data-link');
    assert.equal(link, `vaka:enroll?server=${encodeURIComponent(server.url)}&code=${code}`);
    // The phone enrols with what the QR code holds.
    const params = new URLSearchParams(link.slice('vaka:enroll?'.length));
    const phone = join(server.data, 'nora.sqlite3');
    device(phone, 'enroll', '--server', params.get('server'), '--code', params.get('code'), '--name', 'Noras telefon');
    await page.goto(`${server.url}/people`);
    assert.match(await page.locator('#people tbody tr', { hasText: 'Nora Nyberg' }).textContent(), /Noras telefon/);
    // Revoking without the ticked confirmation is refused.
    const csrf = await page.getAttribute('input[name=csrf]', 'value');
    const deviceForm = page.locator('#people tbody tr', { hasText: 'Nora Nyberg' }).locator('form[action$="/revoke"]');
    const action = await deviceForm.getAttribute('action');
    const refused = await page.request.post(`${server.url}${action}`, { form: { csrf }, maxRedirects: 0 });
    assert.equal(refused.status(), 400);
    await page.goto(`${server.url}/people`);
    assert.match(await page.locator('#people tbody tr', { hasText: 'Nora Nyberg' }).textContent(), /Aktiv/);
  });

  test('areas: a SWEREF 99 TM file becomes the right area, bad files are refused beside the field, rename and remove', async () => {
    await page.goto(`${server.url}/areas`);
    // A square of 200 m around Stockholm's city hall (59.3275 N 18.0546 E is N 6580506 E 673785).
    const ring = [[673685, 6580406], [673885, 6580406], [673885, 6580606], [673685, 6580606], [673685, 6580406]];
    const file = (crs, props = '{}') => JSON.stringify({
      type: 'FeatureCollection',
      ...(crs ? { crs: { type: 'name', properties: { name: crs } } } : {}),
      features: [{ type: 'Feature', properties: JSON.parse(props), geometry: { type: 'Polygon', coordinates: [ring] } }],
    });
    // Another named CRS: refused with its name, beside the field, the typed name kept.
    await page.fill('#area-name', 'Stadshuset');
    await page.fill('#geojson', file('urn:ogc:def:crs:EPSG::3021'));
    await page.click('form[action="/areas"] button[type=submit]');
    assert.match(await page.textContent('#geojson-error'), /EPSG::3021.*SWEREF 99 TM/);
    assert.equal(await page.inputValue('#area-name'), 'Stadshuset');
    assert.equal(await page.getAttribute('#geojson', 'aria-invalid'), 'true');
    // No name typed and none in the file: said beside the name.
    await page.fill('#area-name', '');
    await page.fill('#geojson', file('EPSG:3006'));
    await page.click('form[action="/areas"] button[type=submit]');
    assert.match(await page.textContent('#area-name-error'), /inget namn/);
    // An open ring.
    await page.fill('#geojson', JSON.stringify({ type: 'Polygon', coordinates: [ring.slice(0, 4)] }));
    await page.fill('#area-name', 'Öppen');
    await page.click('form[action="/areas"] button[type=submit]');
    assert.match(await page.textContent('#geojson-error'), /slutar inte där den börjar/);
    // The SWEREF 99 TM file with its name in the properties lands on the city hall.
    await page.fill('#area-name', '');
    await page.fill('#geojson', file('urn:ogc:def:crs:EPSG::3006', '{"namn": "Stadshuset"}'));
    await page.click('form[action="/areas"] button[type=submit]');
    await page.waitForSelector('.ok');
    const row = page.locator('#area-list .area', { hasText: 'Stadshuset' });
    const extent = (await row.locator('.extent').textContent()).trim();
    const [lat0, lat1, lon0, lon1] = extent.match(/\d+,\d+/g).map((n) => Number(n.replace(',', '.')));
    assert.ok(lat0 < 59.3275 && 59.3275 < lat1 && lon0 < 18.0546 && 18.0546 < lon1, `the city hall inside ${extent}`);
    assert.ok(lat1 - lat0 < 0.0025 && lon1 - lon0 < 0.0045, `about 200 m across: ${extent}`);
    // Rename: an empty name is refused beside the field, a good one is saved.
    await row.locator('input[name=name]').fill(' ');
    await row.locator('button', { hasText: 'Byt namn' }).click();
    assert.match(await page.textContent('#area-list .field-error'), /Skriv ett namn/);
    await page.locator('#area-list .area', { hasText: 'Stadshuset' }).locator('input[name=name]').fill('Stadshusparken');
    await page.locator('#area-list .area', { hasText: 'Stadshuset' }).locator('button', { hasText: 'Byt namn' }).click();
    await page.waitForSelector('.ok');
    assert.equal(await page.locator('#area-list input[value="Stadshusparken"]').count(), 1);
    // No entry points at it: removed for good.
    await page.click('button[data-remove="Stadshusparken"]');
    await page.waitForSelector('.ok');
    assert.match(await page.textContent('.ok'), /togs bort/);
    assert.equal(await page.locator('#area-list input[value="Stadshusparken"]').count(), 0);
    // An area entries point at is archived: kept, marked, no longer a choice in the inbox.
    const used = page.locator('#area-list .area').filter({ hasNotText: 'Poster i området: 0' }).first();
    const name = await used.getAttribute('data-area');
    await used.locator('button[data-remove]').click();
    await page.waitForSelector('.ok');
    assert.match(await page.textContent('.ok'), /arkiverades/);
    assert.match(await page.locator(`#area-list .area[data-area="${name}"]`).textContent(), /Arkiverat/);
    await page.goto(`${server.url}/inbox`);
    assert.equal(await page.locator('select[name=area] option', { hasText: name }).count(), 0, 'archived areas are no choice');
  });

  test('every page fits a phone 390 px wide and a 1366 px desktop, with screenshots', async () => {
    await page.goto(`${server.url}/inbox`);
    const entry = await page.getAttribute('#inbox tbody tr a', 'href');
    const pages = [['inbox', '/inbox'], ['entry', entry], ['report', '/report'], ['people', '/people'], ['areas', '/areas']];
    for (const [width, height, suffix] of [[390, 844, '-phone'], [1366, 900, '-desktop']]) {
      await page.setViewportSize({ width, height });
      for (const [name, path] of pages) {
        await page.goto(`${server.url}${path}`);
        assert.ok(await fitsWidth(page), `${path} fits ${width} px without scrolling sideways`);
        await page.screenshot({ path: join(screenshots, `${name}${suffix}.png`), fullPage: false });
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('axe-core finds no serious or critical violation on any dashboard page', async () => {
    await page.goto(`${server.url}/inbox`);
    const entry = await page.getAttribute('#inbox tbody tr a', 'href');
    const found = [];
    for (const path of ['/inbox', entry, '/report', '/people', '/areas', '/messages', '/report?from=2026-11-20&to=2026-11-01']) {
      await page.goto(`${server.url}${path}`);
      for (const v of await axeViolations(page)) found.push(`${path}: ${v}`);
    }
    await page.context().clearCookies();
    await page.goto(`${server.url}/login`);
    for (const v of await axeViolations(page)) found.push(`/login: ${v}`);
    await signIn(page, server.url);
    await page.goto(`${server.url}/report`);
    assert.deepEqual(found, []);
  });

  test('English is selectable', async () => {
    await page.click('a.lang');
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), 'Situation report');
    await page.click('a.lang');
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), 'Lägesbild');
  });

  test('a form without its CSRF token and another organisation\'s entry are refused', async () => {
    const entry = await (async () => {
      await page.goto(`${server.url}/inbox`);
      return page.getAttribute('#inbox tbody tr >> nth=0 >> a', 'href');
    })();
    const noToken = await page.request.post(`${server.url}${entry}/comments`, { form: { body: 'utan token' }, maxRedirects: 0 });
    assert.equal(noToken.status(), 403);

    // Another organisation with an entry of its own, made with the admin command line.
    const cli = (...args) => execFileSync(join(bin, 'vaka-server'), args, { encoding: 'utf8', env: { ...process.env, ...server.storeEnv } }).trim();
    const org = cli('org', 'create', '--name', 'Annan förening');
    const member = cli('user', 'create', '--org', org, '--name', 'Främling', '--role', 'volunteer');
    const code = cli('enroll-code', '--member', member);
    const db = join(server.data, 'other.sqlite3');
    device(db, 'enroll', '--server', server.url, '--code', code);
    const logged = device(db, 'incident', '--category', 'theft_burglary', '--severity', '3', '--description', 'Annan organisations händelse.');
    device(db, 'sync');
    const id = logged.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)[0];
    const foreign = await page.goto(`${server.url}/entries/${id}`);
    assert.equal(foreign.status(), 404);
    // The report's CSV lists this organisation's newest entry and not the other's.
    const ownId = entry.split('/').pop();
    const csvResponse = await page.request.get(`${server.url}/report.csv`);
    assert.equal(csvResponse.status(), 200);
    assert.match(csvResponse.headers()['content-type'], /^text\/csv/);
    const csv = await csvResponse.text();
    assert.match(csv, /^id,kind,occurred_at/);
    assert.ok(csv.includes(ownId), `the CSV lists the organisation's own entry ${ownId}`);
    assert.ok(!csv.includes(id), 'the CSV does not list the other organisation\'s entry');
  });

  test('signing out ends the session', async () => {
    await page.goto(`${server.url}/inbox`);
    await page.click('header form button');
    await page.waitForURL(/\/login$/);
    const response = await page.goto(`${server.url}/inbox`);
    assert.match(page.url(), /\/login/);
    assert.equal(response.status(), 200);
  });
});

describe('session expiry', () => {
  test('an expired session sends the coordinator back to sign in', async () => {
    const server = await startServer(['--session-ttl-secs', '1']);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await signIn(page, server.url);
      await page.waitForURL(/\/inbox$/);
      await new Promise((r) => setTimeout(r, 1500));
      await page.goto(`${server.url}/inbox`);
      assert.match(page.url(), /\/login\?expired=1$/);
      assert.match(await page.textContent('.error'), /gått ut/);
    } finally {
      await browser.close();
      server.stop();
    }
  });
});
