// End-to-end test of the dashboard against a running `oms serve --demo` (or the split
// deployment's `--role ingress --demo`; scripts/e2e.sh starts either), in Debian's
// Chromium driven by playwright-core.
//
//   OMS_URL=http://127.0.0.1:8080 npm run e2e        (OMS_URL defaults to that)
//
// Env: OMS_URL (server base URL, serving the built dashboard at /), OMS_E2E_SYMBOL (default:
// the first trading instrument), CHROMIUM_PATH (default /usr/bin/chromium),
// OMS_UPDATE_SCREENSHOT=1 (copy the final screenshot to docs/dashboard.png),
// OMS_E2E_HEADED=1 (show the browser; needs a display).
//
// Walk: sign in with the first demo account → place a resting limit buy (joining the third
// bid level) → see it in Open orders and in the book → amend it (price and quantity) →
// cancel it → place a buy that crosses resting sells (the server's demo liquidity, or a
// post-only sell placed over REST with the second demo account's key) → see the fill in
// Trade history and the position change. Screenshots of every step go to e2e/artifacts/.
// Any failure exits 1 with a message saying which step and why. Selectors are the roles,
// aria-labels and data-testid attributes the components define.

import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE_URL = (process.env.OMS_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS_DIR = fileURLToPath(new URL('./artifacts/', import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
/** Longest wait for one expected change on screen. */
const STEP_TIMEOUT_MS = 15_000;
/** Longest wait for one HTTP answer. */
const HTTP_TIMEOUT_MS = 10_000;
const VIEWPORT = { width: 1280, height: 800 };

// ---- exact decimals (no floats for prices or quantities, here too) ---------------------------
const FX_SCALE = 18;
const FX_ONE = 10n ** BigInt(FX_SCALE);

function fx(text) {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(String(text).trim());
  if (match === null || (match[3] ?? '').length > FX_SCALE) throw new Error(`not a decimal: ${text}`);
  const units = BigInt(match[2]) * FX_ONE + BigInt((match[3] ?? '').padEnd(FX_SCALE, '0') || '0');
  return match[1] === '-' ? -units : units;
}

/** Canonical text: no trailing zeros ("50000.10" → "50000.1"). */
function fxText(units) {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const fraction = (magnitude % FX_ONE).toString().padStart(FX_SCALE, '0').replace(/0+$/, '');
  const text = fraction === '' ? `${magnitude / FX_ONE}` : `${magnitude / FX_ONE}.${fraction}`;
  return negative ? `-${text}` : text;
}

const canonical = (text) => fxText(fx(text));
const fxMul = (a, b) => (a * b) / FX_ONE;
const fxDiv = (a, b) => (a * FX_ONE) / b;
const floorTo = (value, step) => (value / step) * step;
const ceilTo = (value, step) => ((value + step - 1n) / step) * step;
const fxMax = (a, b) => (a > b ? a : b);

// ---- reporting --------------------------------------------------------------------------------
class StepFailure extends Error {}
let page = null;
let stepNumber = 0;
const pageErrors = [];

function log(message) {
  process.stdout.write(`${message}\n`);
}

async function screenshot(name) {
  if (page === null) return;
  await page.screenshot({ path: `${ARTIFACTS_DIR}${name}.png`, fullPage: false }).catch(() => undefined);
}

async function step(title, action) {
  stepNumber += 1;
  const label = `${String(stepNumber).padStart(2, '0')} ${title}`;
  const started = Date.now();
  try {
    const result = await action();
    await screenshot(`${String(stepNumber).padStart(2, '0')}-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`);
    log(`  ok   ${label} (${Date.now() - started} ms)`);
    return result;
  } catch (error) {
    log(`  FAIL ${label} (${Date.now() - started} ms)`);
    throw new StepFailure(`step "${title}" failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// ---- REST (for setting up and cross-checking; the UI does the trading) ------------------------
async function http(method, path, { key, body, expect = [200, 201] } = {}) {
  const headers = { Accept: 'application/json' };
  if (key !== undefined) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['Idempotency-Key'] = `e2e-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  let response;
  try {
    response = await fetch(`${BASE_URL}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(
      `${method} ${path}: cannot reach ${BASE_URL} (${error.cause?.code ?? error.message}). Is the server running?`,
    );
  }
  const text = await response.text();
  let json = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!expect.includes(response.status)) {
    const problem =
      json !== null && typeof json === 'object'
        ? `${json.code ?? ''}: ${json.detail ?? json.title ?? ''}`
        : text.slice(0, 200);
    throw new Error(`${method} ${path} answered ${response.status} (${problem})`);
  }
  return { status: response.status, json };
}

async function positionQuantity(key, symbol) {
  const { json } = await http('GET', '/api/risk/positions', { key });
  const position = (json.positions ?? []).find((p) => p.symbol === symbol);
  return position === undefined ? '0' : canonical(position.quantity);
}

async function openOrderCount(key) {
  const { json } = await http('GET', '/api/orders?status=open&limit=500', { key });
  return (json.orders ?? []).length;
}

// ---- page helpers -----------------------------------------------------------------------------
async function waitFor(description, predicate, arg) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: STEP_TIMEOUT_MS, polling: 100 });
  } catch {
    throw new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for ${description}`);
  }
}

/** Text of the order entry feedback once it names an order (or reports an error). */
async function awaitOrderFeedback(previousOrderId) {
  await waitFor(
    'the order entry to report the outcome',
    (previous) => {
      const element = document.querySelector('[data-testid="order-feedback"]');
      if (element === null) return false;
      const kind = element.getAttribute('data-kind');
      return kind === 'error' || (kind !== '' && element.getAttribute('data-order-id') !== previous);
    },
    previousOrderId,
  );
  const feedback = page.getByTestId('order-feedback');
  return {
    kind: await feedback.getAttribute('data-kind'),
    orderId: await feedback.getAttribute('data-order-id'),
    status: await feedback.getAttribute('data-status'),
    filled: await feedback.getAttribute('data-filled'),
    text: (await feedback.textContent()) ?? '',
  };
}

async function fillOrderForm({ side, type, price, quantity, timeInForce }) {
  const form = page.getByRole('form', { name: 'Order entry' });
  await form.getByRole('radio', { name: side === 'buy' ? 'Buy' : 'Sell' }).check();
  await form.getByRole('combobox', { name: 'Order type' }).selectOption(type);
  await form.getByRole('textbox', { name: 'Limit price' }).fill(price);
  await form.getByRole('textbox', { name: 'Quantity' }).fill(quantity);
  await form.getByRole('combobox', { name: 'Time in force' }).selectOption(timeInForce);
  const postOnly = form.getByRole('checkbox', { name: 'Post only' });
  if (await postOnly.isChecked()) await postOnly.uncheck();
  const reduceOnly = form.getByRole('checkbox', { name: 'Reduce only' });
  if (await reduceOnly.isChecked()) await reduceOnly.uncheck();
}

async function openTab(testId) {
  await page.getByTestId(testId).click();
}

/** Quantity at a price level of the displayed book ("0" when the level is absent). */
async function bookQuantity(side, price) {
  const row = page.locator(`[data-testid="book-row"][data-side="${side}"][data-price="${canonical(price)}"]`);
  return (await row.count()) === 0 ? '0' : canonical((await row.first().getAttribute('data-quantity')) ?? '0');
}

async function waitForBookLevel(side, price, predicateName, bound) {
  // predicateName: 'atLeast' (level ≥ bound) or 'below' (level absent or < bound); bound canonical.
  await waitFor(
    `the ${side} level ${price} in the book to be ${predicateName === 'atLeast' ? 'at least' : 'below'} ${bound}`,
    ([s, p, mode, limit]) => {
      const row = document.querySelector(`[data-testid="book-row"][data-side="${s}"][data-price="${p}"]`);
      const toUnits = (text) => {
        const [i, f = ''] = text.split('.');
        return BigInt(i) * 10n ** 18n + BigInt(f.padEnd(18, '0') || '0');
      };
      const quantity = row === null ? 0n : toUnits(row.getAttribute('data-quantity') ?? '0');
      return mode === 'atLeast' ? quantity >= toUnits(limit) : quantity < toUnits(limit);
    },
    [side, canonical(price), predicateName, bound],
  );
}

// ---- the walk ---------------------------------------------------------------------------------
async function main() {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  log(`e2e against ${BASE_URL}`);

  const setup = await step('Read demo accounts and instruments', async () => {
    const { json: accounts } = await http('GET', '/api/demo/accounts', { expect: [200] }).catch((error) => {
      const hint = / answered 40[34] /.test(error.message)
        ? ' — the server must run in demo mode (oms serve --demo)'
        : '';
      throw new Error(`${error.message}${hint}`);
    });
    if (!Array.isArray(accounts) || accounts.length === 0) throw new Error('GET /api/demo/accounts listed no account');
    const { json: instruments } = await http('GET', '/api/instruments');
    const wanted = process.env.OMS_E2E_SYMBOL;
    const instrument = wanted
      ? instruments.find((i) => i.symbol === wanted)
      : instruments.find((i) => i.status === 'trading');
    if (instrument === undefined) throw new Error(wanted ? `no instrument ${wanted}` : 'no instrument is trading');
    const { json: book } = await http(
      'GET',
      `/api/market-data/orderbook/${encodeURIComponent(instrument.symbol)}?depth=50`,
    );
    const { json: prices } = await http('GET', `/api/market-data/prices/${encodeURIComponent(instrument.symbol)}`);
    const bestBid = book.bids[0]?.[0] ?? null;
    const bestAsk = book.asks[0]?.[0] ?? null;
    const reference = bestBid ?? bestAsk ?? prices.last ?? process.env.OMS_E2E_PRICE ?? null;
    if (reference === null) {
      throw new Error(`${instrument.symbol} has no bid, ask or last price to place near; set OMS_E2E_PRICE`);
    }
    const tick = fx(instrument.tickSize);
    const lot = fx(instrument.lotSize);
    // Four of the demo bot's level spacings under its fifth bid, plus a tick (or a few ticks
    // under the best bid): it rests, shows within the ladder's visible depth (14 levels),
    // sits off the bot's price grid (so the level is ours alone even while the bot requotes
    // every 500 ms), and stays near the market for any price collar. The bot's taker sweeps
    // reach 3 levels under its drifting mid; one tick above the fifth level was hit once the
    // mid had fallen 2 steps, which happened between placing and cancelling in a CI run. Now
    // the mid must fall about 6 steps in the second or two the walk spends there.
    let restPrice;
    if (book.bids.length >= 5) {
      const spacing = fx(book.bids[3][0]) - fx(book.bids[4][0]);
      restPrice = fx(book.bids[4][0]) - 4n * (spacing > 0n ? spacing : tick) + tick;
    } else if (bestBid !== null) restPrice = fx(bestBid) - 3n * tick;
    else if (bestAsk !== null) restPrice = fx(bestAsk) - 10n * tick;
    else restPrice = floorTo(fxMul(fx(reference), fx('0.995')), tick);
    if (restPrice - 2n * tick <= 0n) throw new Error(`no room for a resting buy under ${reference}`);
    const minQuantity = ceilTo(fx(instrument.minQuantity), lot);
    const forNotional = ceilTo(fxDiv(fxMul(fx(instrument.minNotional), fx('1.2')), restPrice), lot);
    const quantity = fxMax(minQuantity, forNotional);
    log(
      `       ${instrument.symbol}: bid ${bestBid ?? '—'} ask ${bestAsk ?? '—'} last ${prices.last ?? '—'}; ` +
        `resting buy ${fxText(quantity)} @ ${fxText(restPrice)}; ${accounts.length} demo account(s)`,
    );
    return { accounts, instrument, tick, lot, restPrice, quantity, reference: fx(reference) };
  });
  const { accounts, instrument, tick, lot, restPrice, quantity } = setup;
  const symbol = instrument.symbol;
  const trader = accounts[0];
  const counterparty = accounts.find((a) => a.accountId !== trader.accountId) ?? null;

  const browser = await chromium
    .launch({
      executablePath: CHROMIUM_PATH,
      headless: process.env.OMS_E2E_HEADED !== '1',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ].filter((flag) => flag !== '--headless' || process.env.OMS_E2E_HEADED !== '1'),
    })
    .catch((error) => {
      throw new StepFailure(
        `cannot start Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium): ${error.message}`,
      );
    });

  try {
    const context = await browser.newContext({ viewport: VIEWPORT });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') log(`       browser console error: ${message.text()}`);
    });

    await step('Sign in with the first demo account', async () => {
      await page.goto(`${BASE_URL}/`, { waitUntil: 'domcontentloaded' });
      const first = page.getByTestId('demo-account').first();
      await first.waitFor({ timeout: STEP_TIMEOUT_MS });
      const shownId = await first.getAttribute('data-account-id');
      if (shownId !== trader.accountId)
        throw new Error(`first demo account on screen is ${shownId}, the API lists ${trader.accountId} first`);
      await first.click();
      await waitFor(
        `account ${trader.accountId} in the top bar`,
        (id) => document.querySelector('[data-testid="account-id"]')?.getAttribute('data-account-id') === id,
        trader.accountId,
      );
    });

    await step('Both WebSockets are live', async () => {
      await waitFor(
        'market data and orders connections to be open',
        () =>
          document.querySelector('[data-testid="connection-market"]')?.getAttribute('data-phase') === 'open' &&
          document.querySelector('[data-testid="connection-orders"]')?.getAttribute('data-phase') === 'open',
      );
    });

    await step(`Select ${symbol} and see its book`, async () => {
      await page.getByRole('combobox', { name: 'Instrument' }).selectOption(symbol);
      await waitFor(
        `the ${symbol} order book to be live`,
        () => document.querySelector('[data-testid="order-book"]')?.getAttribute('data-phase') === 'live',
      );
    });

    // Checked first, then placed: the same order both times.
    const restingBuy = {
      side: 'buy',
      type: 'limit',
      price: fxText(restPrice),
      quantity: fxText(quantity),
      timeInForce: 'GTC',
    };
    await step('Check an order with the server, placing nothing', async () => {
      const openBefore = await openOrderCount(trader.apiKey);
      await fillOrderForm(restingBuy);
      await page.getByTestId('check-order').click();
      await waitFor('the pre-trade check to answer', () =>
        ['check-passed', 'check-failed', 'error'].includes(
          document.querySelector('[data-testid="order-feedback"]')?.getAttribute('data-kind') ?? '',
        ),
      );
      const feedback = page.getByTestId('order-feedback');
      const kind = await feedback.getAttribute('data-kind');
      if (kind !== 'check-passed') {
        throw new Error(`expected the check to pass, the dashboard says: ${(await feedback.textContent()) ?? ''}`);
      }
      // The check was answered after the engine decided it: a placed order would be listed now.
      const openAfter = await openOrderCount(trader.apiKey);
      if (openAfter !== openBefore) throw new Error(`the check placed an order (${openBefore} → ${openAfter} open)`);
    });

    const levelBefore = await bookQuantity('bid', fxText(restPrice));
    const placed = await step('Place a resting limit buy', async () => {
      await fillOrderForm(restingBuy);
      const notional = await page.getByTestId('estimated-notional').getAttribute('data-value');
      if (notional === null || notional === '' || canonical(notional) !== fxText(fxMul(restPrice, quantity))) {
        throw new Error(`the form shows notional ${notional}, expected ${fxText(fxMul(restPrice, quantity))}`);
      }
      await page.getByTestId('place-order').click();
      const outcome = await awaitOrderFeedback('');
      if (outcome.kind !== 'ok' || outcome.status !== 'ACCEPTED') {
        throw new Error(`expected an accepted order, the dashboard says: ${outcome.text}`);
      }
      return outcome;
    });
    const orderId = placed.orderId;

    await step('See it in Open orders', async () => {
      await openTab('tab-open');
      const row = page.locator(`[data-testid="open-order-row"][data-order-id="${orderId}"]`);
      await row.waitFor({ timeout: STEP_TIMEOUT_MS });
      const shownPrice = canonical((await row.getAttribute('data-price')) ?? '0');
      if (shownPrice !== fxText(restPrice))
        throw new Error(`open order shows price ${shownPrice}, expected ${fxText(restPrice)}`);
    });

    await step('See it in the book', async () => {
      await waitForBookLevel('bid', fxText(restPrice), 'atLeast', fxText(fx(levelBefore) + quantity));
    });

    const amendedPrice = restPrice - 2n * tick;
    const amendedQuantity = quantity + fxMax(lot, ceilTo(fx(instrument.minQuantity), lot));
    await step('Amend its price and quantity', async () => {
      await page.getByRole('button', { name: `Amend order ${orderId}`, exact: true }).click();
      await page
        .getByRole('textbox', { name: `New price for order ${orderId}`, exact: true })
        .fill(fxText(amendedPrice));
      await page
        .getByRole('textbox', { name: `New quantity for order ${orderId}`, exact: true })
        .fill(fxText(amendedQuantity));
      await page.getByRole('button', { name: `Save amendment for order ${orderId}`, exact: true }).click();
      await waitFor(
        `order ${orderId} to show price ${fxText(amendedPrice)} and quantity ${fxText(amendedQuantity)}`,
        ([id, price, qty]) => {
          const row = document.querySelector(`[data-testid="open-order-row"][data-order-id="${id}"]`);
          const trim = (t) => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
          return (
            row !== null &&
            trim(row.getAttribute('data-price') ?? '') === price &&
            trim(row.getAttribute('data-quantity') ?? '') === qty
          );
        },
        [orderId, fxText(amendedPrice), fxText(amendedQuantity)],
      );
      await waitForBookLevel('bid', fxText(amendedPrice), 'atLeast', fxText(amendedQuantity));
    });

    await step('Cancel it', async () => {
      const levelWithOrder = await bookQuantity('bid', fxText(amendedPrice));
      await page.getByRole('button', { name: `Cancel order ${orderId}`, exact: true }).click();
      await page
        .locator(`[data-testid="open-order-row"][data-order-id="${orderId}"]`)
        .waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
      await waitForBookLevel('bid', fxText(amendedPrice), 'below', levelWithOrder);
      const { json } = await http('GET', `/api/orders/${encodeURIComponent(orderId)}`, { key: trader.apiKey });
      if (json.status !== 'CANCELLED') throw new Error(`the server says order ${orderId} is ${json.status}`);
    });

    // ---- a crossing order that fills ----
    const positionBefore = await positionQuantity(trader.apiKey, symbol);
    const crossing = await step('Provide liquidity to cross', async () => {
      const { json: book } = await http('GET', `/api/market-data/orderbook/${encodeURIComponent(symbol)}?depth=5`);
      const bestBid = book.bids[0]?.[0] ?? null;
      const bestAsk = book.asks[0]?.[0] ?? null;
      const crossQuantity = quantity;
      let price = bestAsk !== null ? fx(bestAsk) : bestBid !== null ? fx(bestBid) + tick : setup.reference;
      let counterOrderId = null;
      if (counterparty !== null) {
        // A post-only sell at the best ask (or just above the bid) from the second account: it
        // rests (post-only never takes) and guarantees size at that price.
        const { status, json } = await http('POST', '/api/orders', {
          key: counterparty.apiKey,
          body: {
            symbol,
            side: 'sell',
            type: 'limit',
            price: fxText(price),
            quantity: fxText(crossQuantity),
            timeInForce: 'GTC',
            postOnly: true,
          },
        });
        if (status === 201 && json.status === 'ACCEPTED') {
          counterOrderId = json.orderId;
          log(
            `       account ${counterparty.accountId} rests sell ${fxText(crossQuantity)} @ ${fxText(price)} (order ${counterOrderId})`,
          );
        } else if (bestAsk === null) {
          throw new Error(
            `the book has no asks and account ${counterparty.accountId}'s sell was ${json.status} (${json.rejectReason})`,
          );
        } else {
          log(
            `       account ${counterparty.accountId}'s sell was ${json.status} (${json.rejectReason}); crossing the demo liquidity instead`,
          );
        }
      } else if (bestAsk === null) {
        throw new Error('the book has no asks and there is no second demo account to provide them');
      }
      if (counterOrderId === null) price = fx(bestAsk);
      return { price, crossQuantity, counterOrderId };
    });

    const fill = await step('Place a crossing buy and see it fill', async () => {
      // Price through the offer with headroom: the demo bot trades too and may lift the
      // counterparty's sell first; 1 % above (rounded to the tick) still fills against
      // whatever asks remain and stays well inside the instrument's 10 % price band.
      await fillOrderForm({
        side: 'buy',
        type: 'limit',
        price: fxText(crossing.price + (crossing.price / 100n / tick) * tick),
        quantity: fxText(crossing.crossQuantity),
        timeInForce: 'IOC',
      });
      await page.getByTestId('place-order').click();
      const outcome = await awaitOrderFeedback(orderId);
      if (outcome.kind !== 'ok') throw new Error(`the crossing order was not accepted: ${outcome.text}`);
      if (outcome.filled === null || fx(outcome.filled) === 0n) {
        throw new Error(`the crossing order did not fill: ${outcome.text}`);
      }
      log(`       order ${outcome.orderId} ${outcome.status}, filled ${outcome.filled}`);
      return outcome;
    });

    await step('See the fill in Trade history', async () => {
      await openTab('tab-history');
      await page
        .locator(`[data-testid="execution-row"][data-order-id="${fill.orderId}"]`)
        .first()
        .waitFor({ timeout: STEP_TIMEOUT_MS });
    });

    await step('See the position change', async () => {
      let after = positionBefore;
      const deadline = Date.now() + STEP_TIMEOUT_MS;
      while (after === positionBefore && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        after = await positionQuantity(trader.apiKey, symbol);
      }
      if (after === positionBefore) throw new Error(`the server still reports position ${after} after the fill`);
      await openTab('tab-positions');
      await waitFor(
        `the Positions tab to show ${symbol} ${after} (was ${positionBefore})`,
        ([s, expected]) => {
          const row = document.querySelector(`[data-testid="position-row"][data-symbol="${s}"]`);
          const trim = (t) => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
          return row !== null && trim(row.getAttribute('data-quantity') ?? '') === expected;
        },
        [symbol, after],
      );
      log(`       ${symbol} position ${positionBefore} → ${after}`);
    });

    if (crossing.counterOrderId !== null) {
      // Leave the demo book as we found it: cancel what is left of the counterparty's sell.
      await http('DELETE', `/api/orders/${encodeURIComponent(crossing.counterOrderId)}`, {
        key: counterparty.apiKey,
        expect: [200, 404, 422],
      }).catch((error) => log(`       cleanup: ${error.message}`));
    }

    await page.getByTestId('tab-positions').focus();
    await screenshot('dashboard');
    if (process.env.OMS_UPDATE_SCREENSHOT === '1') {
      await copyFile(`${ARTIFACTS_DIR}dashboard.png`, DOCS_SCREENSHOT);
      log(`  copied the final screenshot to ${DOCS_SCREENSHOT}`);
    }
    if (pageErrors.length > 0) throw new StepFailure(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
  } catch (error) {
    await screenshot('failure');
    throw error;
  } finally {
    await browser.close();
  }
}

main().then(
  () => {
    log(`${stepNumber} passed, 0 failed`);
  },
  (error) => {
    const message = error instanceof StepFailure ? error.message : (error?.stack ?? String(error));
    log(`\ne2e FAILED: ${message}`);
    if (pageErrors.length > 0) log(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
    log(`screenshots: ${ARTIFACTS_DIR}`);
    log(`${Math.max(0, stepNumber - 1)} passed, 1 failed`);
    process.exitCode = 1;
  },
);
