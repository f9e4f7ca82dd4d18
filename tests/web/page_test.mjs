// The web client in a real browser (Debian's chromium, headless, driven by playwright-core
// pinned in tools/browser), against a live matchd with PostgreSQL and --auth keys, started by
// web_client_e2e_test. Two traders, alice and bob, each in a browser context of their own (so
// each has its own sessionStorage), trade with each other through the page's forms and watch
// the results arrive through its streams.
//
//   MATCHD_URL=http://127.0.0.1:PORT MATCHD_KEY_ALICE=mk_... MATCHD_KEY_BOB=mk_... \
//     node --test tests/web/page_test.mjs
//
// Optional: MATCHD_CHROMIUM (default /usr/bin/chromium), MATCHD_SCREENSHOT (a PNG path: the
// page once it shows a trade everywhere, for the README).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// playwright-core lives in tools/browser (npm ci there), not next to this file.
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tools/browser/package.json'));
const { chromium } = require('playwright-core');

const base = process.env.MATCHD_URL;
const keys = { alice: process.env.MATCHD_KEY_ALICE, bob: process.env.MATCHD_KEY_BOB };
assert.ok(base && keys.alice && keys.bob, 'MATCHD_URL, MATCHD_KEY_ALICE and MATCHD_KEY_BOB are needed');

const WAIT = { timeout: 15_000 };
let browser;
const consoleErrors = [];
// While set, the browser's own log line for a request the server refused with this status is
// expected (a step that provokes the refusal on purpose), not an error of the page.
let refusalExpected = null;
const pages = {};

async function open(name, { watch = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  if (watch) {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      if (refusalExpected && m.text().includes(`status of ${refusalExpected}`)) return;
      consoleErrors.push(`${name}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${name}: ${e.message}`));
  }
  await page.goto(`${base}/`);
  await page.waitForSelector('#connection[data-state="live"]', WAIT);
  return page;
}

// Enters the key and client as a person would: typing, then leaving the field.
async function signIn(page, key, client) {
  await page.fill('#key', key);
  await page.fill('#client', client);
  await page.press('#client', 'Tab');
  await page.waitForSelector('#connection[data-state="live"]', WAIT);
}

async function place(page, { side, type = 'limit', tif = 'gtc', price, quantity }) {
  await page.check(`input[name="side"][value="${side}"]`);
  await page.selectOption('#type', type);
  await page.selectOption('#tif', tif);
  if (price !== undefined) await page.fill('#price', price);
  await page.fill('#quantity', quantity);
  await page.click('#place');
}

async function api(method, route, key, body) {
  const r = await fetch(`${base}${route}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, json: await r.json() };
}

// The rows of the book and the tape, where their panels and the chart sit on the page, and
// where the panels below them start.
function shapeOf(page) {
  return page.evaluate(() => {
    const box = (selector) => {
      const r = document.querySelector(selector).getBoundingClientRect();
      return [r.top + window.scrollY, r.height];
    };
    const rows = (id) => document.getElementById(id).rows.length;
    return {
      rows: { asks: rows('asks'), bids: rows('bids'), tape: rows('tape') },
      boxes: [box('section.book'), box('section.trades'), box('#chart'), box('section.mine')[0]],
    };
  });
}

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.MATCHD_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
  });
});

after(async () => {
  await browser?.close();
});

test('the page loads, lists the instruments and goes live', async () => {
  pages.alice = await open('alice');
  const symbols = await pages.alice.$$eval('#instrument option', (os) => os.map((o) => o.value));
  assert.ok(symbols.includes('BTC-USD'), `instruments: ${symbols}`);
  assert.equal(await pages.alice.textContent('#connection'), 'live');
  // The chart library loaded and drew its canvas.
  await pages.alice.waitForSelector('#chart canvas', WAIT);
  // The book and the tape have their rows from the start, empty: the page keeps this shape
  // when orders and trades arrive (checked again once they have).
  pages.shape = await shapeOf(pages.alice);
  assert.deepEqual(pages.shape.rows, { asks: 15, bids: 15, tape: 20 });
});

test('an order placed in the form appears in the book and in my orders', async () => {
  const page = pages.alice;
  await signIn(page, keys.alice, 'alice');
  await place(page, { side: 'buy', price: '100.00', quantity: '1' });
  await page.waitForSelector('#order-result:has-text("open")', WAIT);
  await page.waitForSelector('#bids tr[data-price="100.00"]', WAIT);
  const row = page.locator('#orders tr').filter({ hasText: '100.00' });
  await row.first().waitFor(WAIT);
  assert.match(await row.first().textContent(), /buy.*100\.00.*1\.00000000.*open/);
});

test("a crossing order from a second key shows a trade, a candle and a position change", async () => {
  pages.bob = await open('bob');
  await signIn(pages.bob, keys.bob, 'bob');
  await place(pages.bob, { side: 'sell', price: '100.00', quantity: '0.4' });
  await pages.bob.waitForSelector('#order-result:has-text("filled")', WAIT);

  const alice = pages.alice;
  // The tape, newest first.
  await alice.waitForSelector('#tape tr:first-child >> text=100.00', WAIT);
  assert.match(await alice.textContent('#tape tr:first-child'), /100\.00\s*0\.40000000/);
  assert.deepEqual(await shapeOf(alice), pages.shape, 'the book and the tape kept their rows and places');
  // A candle on the chart, from the candles stream.
  await alice.waitForFunction(() => window.matchdChart?.series?.data().length > 0, null, WAIT);
  const bar = await alice.evaluate(() => window.matchdChart.series.data().at(-1));
  assert.equal(bar.close, 100);
  // Alice's position, from the positions stream: long 0.4 at 100.
  const position = alice.locator('#positions tr[data-instrument="BTC-USD"]');
  await position.waitFor(WAIT);
  await alice.waitForFunction(
    () => document.querySelector('#positions tr[data-instrument="BTC-USD"] td:nth-child(2)')?.textContent === '0.40000000',
    null, WAIT);
  assert.match(await position.textContent(), /0\.40000000\s*100\.00\s*100\.00/);
  // Her order, partly filled, still rests with 0.6 left.
  await alice.waitForSelector('#orders tr:has-text("partially_filled")', WAIT);
  await alice.waitForSelector('#bids tr[data-price="100.00"] >> text=0.60000000', WAIT);
});

test('the interval switch reloads the chart at that interval and keeps it live', async () => {
  const page = pages.alice;
  await page.click('[data-interval="5m"]');
  await page.waitForSelector('[data-interval="5m"].active', WAIT);
  // History from GET /candles at 5m: the bucket of the trade, closing at 100.
  await page.waitForFunction(() => window.matchdChart.series.data().length > 0, null, WAIT);
  assert.equal((await page.evaluate(() => window.matchdChart.series.data().at(-1))).close, 100);
  await page.click('[data-interval="1m"]');
  await page.waitForSelector('[data-interval="1m"].active', WAIT);
  await page.waitForSelector('#connection[data-state="live"]', WAIT);
});

test('cancel removes the order from my orders and from the book', async () => {
  const page = pages.alice;
  const id = await page.getAttribute('#orders tr:has-text("100.00")', 'data-order');
  await page.click('#orders tr:has-text("100.00") button.cancel');
  await page.waitForSelector(`#orders tr[data-order="${id}"]`, { state: 'detached', ...WAIT });
  await page.waitForSelector('#bids tr[data-price="100.00"]', { state: 'detached', ...WAIT });
  const r = await api('GET', `/orders/${encodeURIComponent(id)}`, keys.alice);
  assert.equal(r.json.order.status, 'cancelled');
});

test('amend changes a resting order in place', async () => {
  const page = pages.alice;
  await place(page, { side: 'buy', price: '99.00', quantity: '2' });
  await page.waitForSelector('#bids tr[data-price="99.00"]', WAIT);
  await page.click('#orders tr:has-text("99.00") button.amend');
  await page.fill('input[aria-label="new price"]', '98.50');
  await page.click('#orders button.save');
  await page.waitForSelector('#bids tr[data-price="98.50"]', WAIT);
  await page.waitForSelector('#bids tr[data-price="99.00"]', { state: 'detached', ...WAIT });
  await page.waitForSelector('#orders tr:has-text("98.50")', WAIT);
});

test('the history form shows the trades and the statistics of a range', async () => {
  const page = pages.alice;
  const now = Date.now();
  const utc = (ms) => new Date(ms).toISOString().slice(0, 19);
  await page.fill('#history-start', utc(now - 10 * 60_000));
  await page.fill('#history-end', utc(now + 60_000));
  // The tables trail the acknowledgements by the journal applier's lag: ask until it shows.
  await assert.doesNotReject(async () => {
    for (let i = 0; i < 50; i++) {
      await page.click('#history-form button[type="submit"]');
      await page.waitForTimeout(200);
      if ((await page.locator('#history-trades tr').count()) > 0) return;
    }
    throw new Error('no trades in the history table');
  });
  assert.match(await page.textContent('#history-trades tr:first-child'), /100\.00\s*0\.40000000\s*sell/);
  assert.match(await page.textContent('#history-stats tr[data-stat="trades"]'), /trades\s*1/);
  assert.match(await page.textContent('#history-stats tr[data-stat="VWAP"]'), /100\.00/);
  if (process.env.MATCHD_SCREENSHOT) {
    await page.screenshot({ path: process.env.MATCHD_SCREENSHOT, fullPage: true });
  }
  // A range that ends before it starts is refused next to the field.
  refusalExpected = 400;
  try {
    await page.fill('#history-end', utc(now - 20 * 60_000));
    await page.click('#history-form button[type="submit"]');
    await page.waitForSelector('.field-error[data-for="start"]:has-text("invalid_parameter")', WAIT);
  } finally {
    refusalExpected = null;
  }
});

test('a wrong key shows the 401 next to the key field', async () => {
  // Not watched for console errors: the browser logs the refused request as one.
  const page = await open('stranger', { watch: false });
  await signIn(page, 'mk_this_is_not_a_key_of_this_venue', 'alice');
  await place(page, { side: 'buy', price: '90.00', quantity: '1' });
  await page.waitForSelector('.field-error[data-for="key"]:has-text("401")', WAIT);
  await page.context().close();
});

test('a dropped stream shows the reconnecting state and recovers', async () => {
  const page = pages.alice;
  await page.evaluate(() => window.matchdStream.ws.close());
  await page.waitForSelector('#connection[data-state="reconnecting"]', WAIT);
  await page.waitForSelector('#connection[data-state="live"]', WAIT);
  // Live again: a new order of bob's reaches alice's book.
  await place(pages.bob, { side: 'sell', price: '101.50', quantity: '0.1' });
  await page.waitForSelector('#asks tr[data-price="101.50"]', WAIT);
});

test('a market order from the form takes the book, IOC', async () => {
  const page = pages.alice;
  await page.selectOption('#type', 'market');
  assert.equal(await page.isDisabled('#price'), true);
  assert.equal(await page.inputValue('#tif'), 'ioc');
  await page.check('input[name="side"][value="buy"]');
  await page.fill('#quantity', '0.1');
  await page.click('#place');
  await page.waitForSelector('#order-result:has-text("filled")', WAIT);
  await page.waitForSelector('#tape tr:first-child >> text=101.50', WAIT);
  await page.waitForSelector('#asks tr[data-price="101.50"]', { state: 'detached', ...WAIT });
  await page.selectOption('#type', 'limit');
});

test('an error shown and then cleared leaves the page as it was', async () => {
  // Not watched for console errors: the browser logs the refused request as one.
  const page = await open('shape', { watch: false });
  await signIn(page, keys.alice, 'alice');
  const shape = await shapeOf(page);
  await place(page, { side: 'buy', price: '99.505', quantity: '1' });
  await page.waitForSelector('.field-error[data-for="price"]:has-text("invalid_price_tick")', WAIT);
  await place(page, { side: 'buy', price: '99.50', quantity: '1' });
  await page.waitForSelector('#order-result:has-text("open")', WAIT);
  assert.equal(await page.textContent('.field-error[data-for="price"]'), '');
  assert.deepEqual(await shapeOf(page), shape, 'the panels are where and as large as before the error');
  await page.context().close();
});

test('no console errors on the traders\' pages', async () => {
  assert.deepEqual(consoleErrors, []);
});
