// The operator console in headless Chromium against a real wcsd with the
// line emulator sorting (run.sh sets it up and passes the URL and users).
// The tests run in order on one wcsd: log in, watch the line move, see a
// chute the PLC reports full and acknowledge its alarm, follow a sorted
// parcel to its trace and "why this chute", key in the code of a no-read on
// the video-coding screen, see a viewer refused, switch to Chinese. Every
// wait is bounded; screenshots are artefacts, not assertions.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (tests/console/run.sh sets it)`);
  return v;
};
const URL = env('WCS_CONSOLE_URL');
const OPERATOR = env('WCS_CONSOLE_OPERATOR');
const OPERATOR_PASSWORD = env('WCS_CONSOLE_OPERATOR_PASSWORD');
const VIEWER = env('WCS_CONSOLE_VIEWER');
const VIEWER_PASSWORD = env('WCS_CONSOLE_VIEWER_PASSWORD');
const SUPERVISOR = env('WCS_CONSOLE_SUPERVISOR');
const SUPERVISOR_PASSWORD = env('WCS_CONSOLE_SUPERVISOR_PASSWORD');
const ADMIN = env('WCS_CONSOLE_ADMIN');
const ADMIN_PASSWORD = env('WCS_CONSOLE_ADMIN_PASSWORD');
const ARTIFACTS = process.env.WCS_CONSOLE_ARTIFACTS || '.';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let browser;
let op; // the operator's page, shared by the tests in order
let viewer; // the viewer's page
const pages = [];
const scriptErrors = [];
const consoleLog = []; // the pages' console and failed requests, an artefact


async function newPage(width = 1366, height = 768) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => scriptErrors.push(e.message));
  page.on('console', (m) => consoleLog.push(`${new Date().toISOString()} ${m.type()}: ${m.text()}`));
  page.on('response', (r) => {
    if (r.status() >= 400) consoleLog.push(`${new Date().toISOString()} ${r.request().method()} ${r.url()}: ${r.status()}`);
  });
  pages.push(page);
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function login(page, user, password) {
  await page.goto(`${URL}/`);
  await page.getByTestId('login-user').fill(user);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-line').waitFor();
}

// Waits until the element's text matches re; returns the text.
async function textMatching(locator, re, timeout = 15000) {
  await locator.first().waitFor({ timeout });
  const end = Date.now() + timeout;
  for (;;) {
    const text = await locator.first().textContent();
    if (re.test(text)) return text;
    if (Date.now() > end) assert.fail(`text ${JSON.stringify(text)} never matched ${re}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A request to wcsd from a page's session: GET, or POST body with its CSRF
// token. Returns {status, body}.
async function apiFrom(page, url, body) {
  return page.evaluate(async ([u, b]) => {
    const init = { headers: { Accept: 'application/json' } };
    if (b) {
      const s = await (await fetch('/v1/session')).json();
      init.method = 'POST';
      init.headers['Content-Type'] = 'application/json';
      init.headers['X-CSRF-Token'] = s.csrf;
      init.body = JSON.stringify(b);
    }
    const r = await fetch(u, init);
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [url, body ?? null]);
}

// Asks wcsd for no-read id until pick(noread) is true (bounded); returns it.
async function noreadUntil(page, id, pick, timeout = 15000) {
  const end = Date.now() + timeout;
  for (;;) {
    const r = await apiFrom(page, `/v1/noreads/${id}`);
    if (r.status === 200 && pick(r.body.noread)) return r.body.noread;
    if (Date.now() > end) assert.fail(`no-read ${id} never as expected: ${JSON.stringify(r)}`);
    await sleep(300);
  }
}

before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

// test() whose failure leaves a picture of every page as it was.
function check(name, opts, fn) {
  test(name, opts, async () => {
    try {
      await fn();
    } catch (e) {
      const file = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
      for (const [i, p] of pages.entries()) {
        await p.screenshot({ path: path.join(ARTIFACTS, `FAILED-${file}-${i}.png`) }).catch(() => {});
      }
      throw e;
    }
  });
}

after(async () => {
  fs.writeFileSync(path.join(ARTIFACTS, 'browser-console.log'), `${consoleLog.join('\n')}\n`);
  if (browser) await browser.close();
});

check('an operator logs in (and a wrong password is refused)', { timeout: 60000 }, async () => {
  op = await newPage();
  await op.goto(`${URL}/`);
  await op.getByTestId('login-user').fill(OPERATOR);
  await op.getByTestId('login-password').fill(`${OPERATOR_PASSWORD}-wrong`);
  await op.getByTestId('login-submit').click();
  await textMatching(op.getByTestId('login-error'), /\S/);
  await shot(op, '01-login-refused');
  await op.getByTestId('login-password').fill(OPERATOR_PASSWORD);
  await op.getByTestId('login-submit').click();
  await op.getByTestId('nav-line').waitFor();
  assert.equal(await op.getByTestId('session-user').textContent(), OPERATOR);
  assert.equal(await op.getByTestId('session-role').textContent(), 'operator');
  assert.equal(await op.getByTestId('nav-users').count(), 0, 'an operator has no Users screen');
});

check('the line view follows the emulator: chute loads change', { timeout: 60000 }, async () => {
  await op.getByTestId('nav-line').click();
  await op.getByTestId('chute-CH001').waitFor({ timeout: 20000 });
  const loads = () => op.evaluate(() => [...document.querySelectorAll('[data-testid^="chute-"]')]
    .map((e) => `${e.dataset.testid}=${e.dataset.load}`).join(' '));
  const before = await loads();
  await op.waitForFunction((was) => [...document.querySelectorAll('[data-testid^="chute-"]')]
    .map((e) => `${e.dataset.testid}=${e.dataset.load}`).join(' ') !== was, before, { timeout: 30000 });
  assert.notEqual(await loads(), before);
  // The line's node: this wcsd holds its lease, and no takeover happened.
  await textMatching(op.getByTestId('node-role'), /WCS01 active since \d\d:\d\d/);
  assert.equal((await op.getByTestId('last-takeover').locator('.value').textContent()).trim(), '–');
  await shot(op, '02-line');
});

let fullChute = '';

check('a chute the PLC reports FULL is shown full, alarmed, and the operator acknowledges it',
  { timeout: 120000 }, async () => {
    const full = op.locator('[data-testid^="chute-CH"][data-state="full"]').first();
    await full.waitFor({ timeout: 75000 });
    fullChute = (await full.getAttribute('data-testid')).slice('chute-'.length);
    await shot(op, '03-line-chute-full');

    await op.getByTestId('nav-alarms').click();
    const row = op.locator(`[data-testid="alarm-row"][data-kind="chute_full"][data-subject="${fullChute}"]`).first();
    await row.waitFor({ timeout: 20000 });
    await textMatching(op.getByTestId('alarm-badge'), /^[1-9]\d*$/);
    await row.getByTestId('alarm-ack').click();
    const acked = await textMatching(row.getByTestId('alarm-acked-by'), new RegExp(OPERATOR));
    assert.match(acked, new RegExp(OPERATOR));
    await shot(op, '04-alarm-acknowledged');
  });

let code = '';

check('the full chute\'s panel lists its parcels, and the operator closes its bag', { timeout: 60000 }, async () => {
  assert.ok(fullChute, 'a full chute from the test before');
  await op.getByTestId('nav-line').click();
  await op.getByTestId(`chute-${fullChute}`).click();
  const panel = op.getByTestId('chute-panel');
  const link = panel.locator('a[href^="#/parcels/"]').first();
  await link.waitFor({ timeout: 15000 });
  code = (await link.textContent()).trim();
  assert.ok(code.length > 0, 'a parcel code in the chute\'s recent parcels');
  await panel.getByTestId('close-bag').click();
  await op.getByTestId('confirm-yes').click();
  await op.locator('[data-testid="action-result"].ok').waitFor({ timeout: 15000 });
  // The bag's label, as the link the result offers serves it: a PDF.
  const href = await op.locator('[data-testid="action-result"] [data-testid="bag-label-link"]').getAttribute('href');
  const label = await op.evaluate(async (h) => {
    const r = await fetch(h);
    return { status: r.status, type: r.headers.get('content-type'), head: new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5)) };
  }, href);
  assert.deepEqual(label, { status: 200, type: 'application/pdf', head: '%PDF-' });
  await shot(op, '05-chute-bag-closed');
});

check('a sorted parcel\'s search shows its trace and why this chute', { timeout: 60000 }, async () => {
  assert.ok(code, 'a parcel code from the test before');
  await op.getByTestId('nav-parcels').click();
  await op.getByTestId('parcel-search').fill(code);
  await op.getByTestId('parcel-search-submit').click();
  const trace = op.getByTestId('parcel-trace');
  await trace.waitFor({ timeout: 15000 });
  assert.match(await trace.textContent(), new RegExp(code));
  assert.ok(await op.getByTestId('trace-event').count() > 0, 'the trace has events');
  const why = op.getByTestId('why-block');
  await why.waitFor();
  assert.ok(await why.locator('[data-testid^="why-chute-"]').count() > 0, 'why names the route\'s chutes');
  // Where it was sent, and its route's chutes as they were then, the one it went to marked.
  const then = op.getByTestId('decided-then');
  await then.waitFor();
  assert.equal(await then.locator('[data-testid^="then-chute-"][data-chosen="true"]').count(), 1);
  await op.evaluate(() => window.scrollTo(0, 0));
  await shot(op, '06-parcel-trace');

  await op.getByTestId('keyin-code').fill(code);
  await op.getByTestId('keyin-submit').click();
  await op.locator('[data-testid="keyin-result"].ok').waitFor();
});

check('a parcel in the no-read chute: found by its tracking number, and why it went there', { timeout: 90000 }, async () => {
  await op.getByTestId('nav-line').click();
  const panel = op.getByTestId('chute-panel');
  // The emulator's unreadable labels reach SP-NOREAD within the first minute.
  const end = Date.now() + 60000;
  let link;
  for (;;) {
    await op.getByTestId('chute-SP-NOREAD').click();
    link = panel.getByTestId('recent-tracking').first();
    if (await link.waitFor({ timeout: 5000 }).then(() => true, () => false)) break;
    if (Date.now() > end) assert.fail('no code-less parcel in SP-NOREAD\'s recent parcels');
    await op.getByTestId('chute-panel-close').click();
    await new Promise((r) => setTimeout(r, 2000));
  }
  await link.click();
  const trace = op.getByTestId('parcel-trace');
  await trace.waitFor({ timeout: 15000 });
  const decided = op.locator('[data-testid="decided-item"][data-reason="NOREAD__"]').first();
  await decided.waitFor({ timeout: 15000 });
  assert.match(await decided.textContent(), /SP-NOREAD/);
  assert.match(await decided.textContent(), /no code read/);
  assert.match(await decided.textContent(), /nothing read at SCAN01/);
  await op.evaluate(() => window.scrollTo(0, 0));
  await shot(op, '06b-noread-parcel');
});

check('video coding: the oldest no-read, a wrong check digit refused, a code keyed, the next marked unreadable',
  { timeout: 120000 }, async () => {
    // The emulator's no-reads are recorded as pending no-reads (no cameras: cause no_camera, no images).
    const end = Date.now() + 75000;
    for (;;) {
      const q = await apiFrom(op, '/v1/noreads?state=pending&limit=1');
      assert.equal(q.status, 200);
      if (q.body.pending >= 2) break;
      if (Date.now() > end) assert.fail(`fewer than two pending no-reads: ${JSON.stringify(q.body)}`);
      await sleep(1000);
    }
    // The tab says how many wait, whatever screen is open (the line document's count).
    const badge = Number(await textMatching(op.getByTestId('noread-badge'), /^[1-9]\d*$/));
    assert.ok(badge >= 1, `badge ${badge}`);
    await op.getByTestId('nav-videocoding').click();
    const tracking = op.getByTestId('videocoding-tracking');
    await tracking.waitFor();
    // The screen shows the queue's head: the oldest pending one (nobody else keys them).
    const first = (await apiFrom(op, '/v1/noreads?state=pending&limit=1')).body.noreads[0];
    assert.equal((await tracking.textContent()).trim(), first.tracking);
    assert.equal(first.cause, 'no_camera');
    assert.deepEqual(first.images, []);
    const pending = Number(await textMatching(op.getByTestId('videocoding-pending'), /^[1-9]\d*$/));
    assert.ok(pending >= 2, `pending ${pending}`);
    assert.equal(await op.getByTestId('videocoding-cause').getAttribute('data-cause'), 'no_camera');
    await op.getByTestId('videocoding-noimages').waitFor();
    assert.equal(await op.getByTestId('videocoding-image').count(), 0);
    assert.equal(await op.getByTestId('videocoding-location').textContent(), first.location);

    // A wrong check digit (typed in lower case, shown and sent upper case; Enter keys it in).
    const code = op.getByTestId('videocoding-code');
    assert.equal(await code.evaluate((e) => document.activeElement === e), true, 'the code input has the focus');
    await code.fill('rr123456786cn');
    assert.equal(await code.inputValue(), 'RR123456786CN');
    await code.press('Enter');
    await textMatching(op.getByTestId('videocoding-error'), /RR123456786CN.*check digit/);
    assert.equal((await noreadUntil(op, first.id, () => true)).state, 'pending');
    assert.equal((await tracking.textContent()).trim(), first.tracking);
    await shot(op, '06c-videocoding-refused');

    // A valid S10 code: keyed by the operator, and the screen moves on to the next.
    await code.fill('RR123456785CN');
    await op.getByTestId('videocoding-key').click();
    const keyed = await noreadUntil(op, first.id, (n) => n.state !== 'pending');
    assert.equal(keyed.state, 'keyed');
    assert.equal(keyed.code, 'RR123456785CN');
    assert.equal(keyed.keyed_by, OPERATOR);
    assert.ok(keyed.keyed_at > 0);
    await textMatching(op.getByTestId('videocoding-done'), /RR123456785CN/);
    assert.equal((await op.getByTestId('videocoding-error').textContent()), '');
    await op.waitForFunction((was) => {
      const e = document.querySelector('[data-testid="videocoding-tracking"]');
      return e && e.textContent.trim() !== was;
    }, first.tracking, { timeout: 15000 });
    const row = op.locator(`[data-testid="videocoding-recent-row"][data-id="${first.id}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), new RegExp(`RR123456785CN.*${OPERATOR}`));
    await shot(op, '06d-videocoding-keyed');

    // The next one (the queue's new head) marked unreadable.
    const next = (await apiFrom(op, '/v1/noreads?state=pending&limit=1')).body.noreads[0];
    assert.notEqual(next.id, first.id);
    assert.equal((await tracking.textContent()).trim(), next.tracking);
    await op.getByTestId('videocoding-unreadable').click();
    const marked = await noreadUntil(op, next.id, (n) => n.state !== 'pending');
    assert.equal(marked.state, 'unreadable');
    assert.equal(marked.code, null);
    assert.equal(marked.keyed_by, OPERATOR);
    await textMatching(op.getByTestId('videocoding-done'), new RegExp(`${next.tracking}.*unreadable`));

    // Keyed once only: a second key of the same no-read is a conflict.
    const again = await apiFrom(op, `/v1/noreads/${first.id}/key`, { code: 'RR123456785CN' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'conflict');
  });

check('a viewer cannot close a bag: the button is disabled and a forced POST is 403', { timeout: 60000 }, async () => {
  viewer = await newPage(1280, 800);
  await login(viewer, VIEWER, VIEWER_PASSWORD);
  await viewer.getByTestId('chute-CH001').click();
  const button = viewer.getByTestId('chute-panel').getByTestId('close-bag');
  await button.waitFor();
  assert.equal(await button.isDisabled(), true);
  const status = await viewer.evaluate(async () => {
    const s = await (await fetch('/v1/session')).json();
    const r = await fetch('/v1/chutes/CH001/close-bag', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf }, body: '{}',
    });
    return r.status;
  });
  assert.equal(status, 403);
  await shot(viewer, '07-viewer-chute-panel');
});

check('switching to Chinese changes the text and survives a reload', { timeout: 60000 }, async () => {
  await viewer.getByTestId('lang-zh').click();
  await textMatching(viewer.getByTestId('nav-line'), /分拣线/);
  assert.equal(await viewer.evaluate(() => document.documentElement.lang), 'zh-CN');
  await viewer.reload();
  await textMatching(viewer.getByTestId('nav-line'), /分拣线/);
  await textMatching(viewer.getByTestId('nav-alarms'), /报警/);
  await shot(viewer, '08-line-zh');
  await viewer.getByTestId('lang-en').click();
  await textMatching(viewer.getByTestId('nav-line'), /^Line/);
});

check('a viewer sees video coding read-only: no usable buttons, and a forced key is 403', { timeout: 60000 }, async () => {
  await viewer.getByTestId('nav-videocoding').click();
  await viewer.getByTestId('videocoding-readonly').waitFor();
  await viewer.locator('[data-testid="videocoding-tracking"], [data-testid="videocoding-empty"]').first().waitFor();
  await textMatching(viewer.getByTestId('videocoding-pending'), /^\d+$/);
  assert.equal(await viewer.getByTestId('videocoding-key').isDisabled(), true);
  assert.equal(await viewer.getByTestId('videocoding-unreadable').isDisabled(), true);
  assert.equal(await viewer.getByTestId('videocoding-code').isDisabled(), true);
  const q = await apiFrom(viewer, '/v1/noreads?state=all&limit=1');
  assert.equal(q.status, 200);
  const forced = await apiFrom(viewer, `/v1/noreads/${q.body.noreads[0].id}/key`, { unreadable: true });
  assert.equal(forced.status, 403);
  await shot(viewer, '08b-viewer-videocoding');
});

check('a supervisor puts the closed bag into a new dispatch and closes it', { timeout: 60000 }, async () => {
  const sup = await newPage();
  await login(sup, SUPERVISOR, SUPERVISOR_PASSWORD);
  await sup.getByTestId('nav-bags').click();
  const bag = sup.getByTestId('bag-row').first();
  await bag.waitFor();
  const route = (await bag.locator('td').nth(2).textContent()).trim();
  const form = sup.getByTestId('dispatch-form');
  await form.locator('input[name="route"]').fill(route);
  await form.locator('select[name="transport"]').selectOption('rail');
  await form.locator('input[name="departure"]').fill('2030-01-02T18:00');
  await form.locator('input[name="carrier"]').fill('RZD Logistics');
  await form.locator('button[type="submit"]').click();
  await sup.locator('[data-testid="action-result"].ok').waitFor();
  const dispatch = sup.locator('[data-testid="dispatch"][data-state="open"]').first();
  await dispatch.locator('input[type="checkbox"]').first().check();
  await dispatch.getByTestId('dispatch-add').click();
  await sup.getByTestId('confirm-yes').click();
  await sup.locator('[data-testid="bag-row"] td:last-child:not(:empty)').first().waitFor();
  await sup.locator('[data-testid="dispatch"][data-state="open"]').first().getByTestId('dispatch-close').click();
  await sup.getByTestId('confirm-yes').click();
  const closed = sup.locator('[data-testid="dispatch"][data-state="closed"], [data-testid="dispatch"][data-state="submitted"]')
    .first();
  await closed.waitFor();
  assert.match(await closed.textContent(), /RZD Logistics/);
  await shot(sup, '09-dispatch-closed');
});

check('an admin adds a user and disables it', { timeout: 60000 }, async () => {
  const adm = await newPage();
  await login(adm, ADMIN, ADMIN_PASSWORD);
  await adm.getByTestId('nav-users').click();
  const form = adm.getByTestId('user-form');
  await form.locator('input[name="name"]').fill('temp1');
  await form.locator('select[name="role"]').selectOption('viewer');
  await form.locator('input[name="password"]').fill('a long enough password 1');
  await form.locator('button[type="submit"]').click();
  await adm.locator('[data-testid="action-result"].ok').waitFor();
  await adm.getByTestId('user-disable-temp1').click();
  await adm.getByTestId('confirm-yes').click();
  await adm.getByTestId('user-enable-temp1').waitFor();
  await shot(adm, '10-users');
});

check('every screen renders without a script error', { timeout: 90000 }, async () => {
  for (const screen of ['figures', 'alarms', 'videocoding', 'customs', 'bags', 'plans', 'audit', 'parcels', 'line']) {
    await op.getByTestId(`nav-${screen}`).click();
    await op.waitForFunction(() => {
      const main = document.getElementById('screen');
      return main.textContent.trim().length > 0 && !main.querySelector('.calm:only-child');
    }, null, { timeout: 10000 }).catch(() => {});
    await op.waitForTimeout(300); // let a last answer draw before the picture
    await shot(op, `screen-${screen}`);
  }
  assert.deepEqual(scriptErrors, []);
});
