// A stand-in for `oms serve --demo`, written from docs/api.md, for working on the
// dashboard (and checking e2e/run.mjs) without the Rust server. It is NOT the server: a
// toy in-memory matcher with a 1e-8 fixed-point scale, zero fees, no risk checks beyond
// balances, stops that never trigger. When the real server and this file disagree, the
// server and docs/api.md are right.
//
//   node e2e/mock-server.mjs [--port 18080] [--dist dist]
//   MOCK_DROP_DELTA_EVERY=7   skip every 7th book delta on the WebSocket (tests resync)
//   MOCK_BOT_MS=1500          demo liquidity: a small market trade this often (0 = off)

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { WebSocketServer } from 'ws';

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i], process.argv[i + 1]);
const PORT = Number(args.get('--port') ?? process.env.MOCK_PORT ?? 18080);
const DIST = resolve(args.get('--dist') ?? 'dist');
const DROP_DELTA_EVERY = Number(process.env.MOCK_DROP_DELTA_EVERY ?? 0);
const BOT_MS = Number(process.env.MOCK_BOT_MS ?? 1500);

// ---- fixed point (scale 1e8) ----------------------------------------------------------------
const SCALE = 100_000_000n;
function parse(text) {
  if (typeof text !== 'string' || !/^-?\d+(\.\d{1,8})?$/.test(text)) return null;
  const negative = text.startsWith('-');
  const [i, f = ''] = text.replace('-', '').split('.');
  const v = BigInt(i) * SCALE + BigInt((f + '00000000').slice(0, 8));
  return negative ? -v : v;
}
function fmt(v, decimals = null) {
  const negative = v < 0n;
  const a = negative ? -v : v;
  let frac = (a % SCALE).toString().padStart(8, '0');
  if (decimals === null) frac = frac.replace(/0+$/, '');
  else frac = frac.slice(0, decimals);
  const body = frac.length > 0 ? `${a / SCALE}.${frac}` : `${a / SCALE}`;
  return negative ? `-${body}` : body;
}
const mulFx = (a, b) => (a * b) / SCALE;

// ---- reference data -------------------------------------------------------------------------
const INSTRUMENTS = [
  {
    symbol: 'BTC-USD',
    base: 'BTC',
    quote: 'USD',
    tickSize: '0.01',
    lotSize: '0.0001',
    minQuantity: '0.0001',
    maxQuantity: '100',
    minNotional: '10',
    maxNotional: '1000000',
    status: 'trading',
    mid: '50000',
    step: '5',
  },
  {
    symbol: 'ETH-USD',
    base: 'ETH',
    quote: 'USD',
    tickSize: '0.01',
    lotSize: '0.001',
    minQuantity: '0.001',
    maxQuantity: '1000',
    minNotional: '10',
    maxNotional: '1000000',
    status: 'trading',
    mid: '3000',
    step: '0.5',
  },
];
const PRICE_DECIMALS = 2;
const instrument = (symbol) => INSTRUMENTS.find((i) => i.symbol === symbol);

const ACCOUNTS = new Map(); // apiKey -> account
function addAccount(accountId, apiKey, admin) {
  const balances = new Map([
    ['USD', { available: parse('1000000'), reserved: 0n }],
    ['BTC', { available: parse('10'), reserved: 0n }],
    ['ETH', { available: parse('100'), reserved: 0n }],
  ]);
  const account = { accountId, apiKey, admin, balances, positions: new Map() };
  ACCOUNTS.set(apiKey, account);
  return account;
}
addAccount('1', 'demo-key-1', true);
addAccount('2', 'demo-key-2', false);
const BOT = addAccount('99', 'demo-liquidity', false);
const TAKER = addAccount('98', 'demo-taker', false); // trades against BOT's quotes
for (const b of [...BOT.balances.values(), ...TAKER.balances.values()]) b.available *= 1000n;

// ---- engine ---------------------------------------------------------------------------------
let nextOrderId = 1;
let nextTradeId = 1;
const orders = new Map(); // orderId -> order (internal)
const executions = []; // { accountId, ...Execution }
const books = new Map(INSTRUMENTS.map((i) => [i.symbol, { bids: [], asks: [], sequence: 1 }]));
const trades = new Map(INSTRUMENTS.map((i) => [i.symbol, []]));
const candles = new Map(); // `${symbol}:${interval}` -> Map(time -> candle)
const now = () => new Date().toISOString();

function publicOrder(o, withFills = false) {
  const out = {
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    accountId: o.accountId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    price: o.price === null ? null : fmt(o.price, PRICE_DECIMALS),
    stopPrice: o.stopPrice === null ? null : fmt(o.stopPrice, PRICE_DECIMALS),
    quantity: fmt(o.quantity),
    filledQuantity: fmt(o.filled),
    remainingQuantity: fmt(o.quantity - o.filled),
    averagePrice: o.filled > 0n ? fmt((o.notional * SCALE) / o.filled, PRICE_DECIMALS) : null,
    status: o.status,
    rejectReason: o.rejectReason,
    postOnly: o.postOnly,
    reduceOnly: o.reduceOnly,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
  };
  if (withFills) out.fills = o.fills;
  return out;
}

function balance(account, asset) {
  let b = account.balances.get(asset);
  if (!b) account.balances.set(asset, (b = { available: 0n, reserved: 0n }));
  return b;
}

function levels(side) {
  const byPrice = new Map();
  for (const o of side) byPrice.set(o.price, (byPrice.get(o.price) ?? 0n) + (o.quantity - o.filled));
  return byPrice;
}

/** Runs `change` and publishes the book delta (levels whose size changed). */
function withBookDelta(symbol, change) {
  const book = books.get(symbol);
  const beforeBids = levels(book.bids);
  const beforeAsks = levels(book.asks);
  const result = change();
  const diff = (before, after) => {
    const out = [];
    for (const [price, qty] of after) if (before.get(price) !== qty) out.push([fmt(price, PRICE_DECIMALS), fmt(qty)]);
    for (const price of before.keys()) if (!after.has(price)) out.push([fmt(price, PRICE_DECIMALS), '0']);
    return out;
  };
  const bids = diff(beforeBids, levels(book.bids));
  const asks = diff(beforeAsks, levels(book.asks));
  if (bids.length > 0 || asks.length > 0) {
    const prevSequence = book.sequence;
    book.sequence += 1;
    broadcastBook(symbol, {
      channel: 'book',
      symbol,
      type: 'delta',
      sequence: book.sequence,
      prevSequence,
      bids,
      asks,
    });
  }
  return result;
}

function reserveFor(o) {
  const inst = instrument(o.symbol);
  return o.side === 'buy'
    ? { asset: inst.quote, amount: mulFx(o.price ?? 0n, o.quantity - o.filled) }
    : { asset: inst.base, amount: o.quantity - o.filled };
}

function releaseReserve(account, o) {
  const { asset, amount } = reserveFor(o);
  const b = balance(account, asset);
  b.reserved -= amount;
  b.available += amount;
}

function accountById(id) {
  for (const a of ACCOUNTS.values()) if (a.accountId === id) return a;
  return null;
}

function recordTrade(symbol, taker, maker, price, qty) {
  const inst = instrument(symbol);
  const time = now();
  const tradeId = String(nextTradeId++);
  for (const [o, liquidity] of [
    [taker, 'taker'],
    [maker, 'maker'],
  ]) {
    o.filled += qty;
    o.notional += mulFx(price, qty);
    o.updatedAt = time;
    const fill = {
      tradeId,
      price: fmt(price, PRICE_DECIMALS),
      quantity: fmt(qty),
      fee: '0',
      feeAsset: inst.quote,
      liquidity,
      time,
    };
    o.fills.push(fill);
    const account = accountById(o.accountId);
    const cost = mulFx(price, qty);
    const quote = balance(account, inst.quote);
    const base = balance(account, inst.base);
    if (o.side === 'buy') {
      if (liquidity === 'maker') {
        quote.reserved -= mulFx(o.price, qty);
        quote.available += mulFx(o.price, qty) - cost;
      } else quote.available -= cost;
      base.available += qty;
    } else {
      if (liquidity === 'maker') base.reserved -= qty;
      else base.available -= qty;
      quote.available += cost;
    }
    const pos = account.positions.get(symbol) ?? { quantity: 0n, cost: 0n, realized: 0n };
    const signed = o.side === 'buy' ? qty : -qty;
    if (pos.quantity === 0n || pos.quantity > 0n === signed > 0n) {
      pos.cost += mulFx(price, signed);
      pos.quantity += signed;
    } else {
      const avg = (pos.cost * SCALE) / pos.quantity;
      pos.realized += mulFx(price - avg, -signed);
      pos.quantity += signed;
      pos.cost = mulFx(avg, pos.quantity);
    }
    account.positions.set(symbol, pos);
    const execution = { tradeId, orderId: o.orderId, symbol, side: o.side, ...fill };
    executions.unshift({ accountId: o.accountId, ...execution });
    sendToAccount(o.accountId, { type: 'fill', execution });
  }
  const trade = { tradeId, price: fmt(price, PRICE_DECIMALS), quantity: fmt(qty), takerSide: taker.side, time };
  trades.get(symbol).unshift(trade);
  broadcastMarket(symbol, 'trades', { channel: 'trades', symbol, trades: [trade] });
  updateCandles(symbol, price, qty, time);
  broadcastMarket(symbol, 'ticker', { channel: 'ticker', ...ticker(symbol) });
}

function crosses(o, resting) {
  if (o.price === null) return true;
  return o.side === 'buy' ? resting.price <= o.price : resting.price >= o.price;
}

function available(o) {
  const book = books.get(o.symbol);
  const opposite = o.side === 'buy' ? book.asks : book.bids;
  let sum = 0n;
  for (const r of opposite) if (crosses(o, r) && r.accountId !== o.accountId) sum += r.quantity - r.filled;
  return sum;
}

function match(o) {
  const book = books.get(o.symbol);
  const opposite = o.side === 'buy' ? book.asks : book.bids;
  while (o.filled < o.quantity && opposite.length > 0 && crosses(o, opposite[0])) {
    const maker = opposite[0];
    if (maker.accountId === o.accountId) {
      // self-trade prevention, expireMaker
      opposite.shift();
      releaseReserve(accountById(maker.accountId), maker);
      maker.status = 'CANCELLED';
      maker.updatedAt = now();
      sendToAccount(maker.accountId, { type: 'order', order: publicOrder(maker) });
      continue;
    }
    const qty =
      o.quantity - o.filled < maker.quantity - maker.filled ? o.quantity - o.filled : maker.quantity - maker.filled;
    recordTrade(o.symbol, o, maker, maker.price, qty);
    maker.status = maker.filled === maker.quantity ? 'FILLED' : 'PARTIALLY_FILLED';
    if (maker.status === 'FILLED') opposite.shift();
    sendToAccount(maker.accountId, { type: 'order', order: publicOrder(maker) });
  }
}

function insertResting(o) {
  const book = books.get(o.symbol);
  const side = o.side === 'buy' ? book.bids : book.asks;
  const better = (a, b) => (o.side === 'buy' ? a.price > b.price : a.price < b.price);
  let i = 0;
  while (i < side.length && !better(o, side[i])) i += 1;
  side.splice(i, 0, o);
}

function removeResting(o) {
  const book = books.get(o.symbol);
  for (const side of [book.bids, book.asks]) {
    const i = side.indexOf(o);
    if (i >= 0) side.splice(i, 1);
  }
}

function place(account, body) {
  const inst = instrument(body.symbol);
  const time = now();
  const type = body.type;
  const o = {
    orderId: String(nextOrderId++),
    clientOrderId: body.clientOrderId ?? `c${nextOrderId}`,
    accountId: account.accountId,
    symbol: body.symbol,
    side: body.side,
    type,
    timeInForce: body.timeInForce ?? (type === 'market' || type === 'stop' ? 'IOC' : 'GTC'),
    price: body.price !== undefined ? parse(body.price) : null,
    stopPrice: body.stopPrice !== undefined ? parse(body.stopPrice) : null,
    quantity: parse(body.quantity),
    filled: 0n,
    notional: 0n,
    status: 'ACCEPTED',
    rejectReason: null,
    postOnly: body.postOnly === true,
    reduceOnly: body.reduceOnly === true,
    createdAt: time,
    updatedAt: time,
    fills: [],
  };
  orders.set(o.orderId, o);
  const reject = (reason) => {
    o.status = 'REJECTED';
    o.rejectReason = reason;
    sendToAccount(account.accountId, { type: 'order', order: publicOrder(o) });
    return o;
  };
  if (type === 'stop' || type === 'stopLimit') {
    // Accepted and parked; this mock never triggers stops.
    sendToAccount(account.accountId, { type: 'order', order: publicOrder(o) });
    return o;
  }
  const book = books.get(o.symbol);
  const opposite = o.side === 'buy' ? book.asks : book.bids;
  if (o.postOnly && opposite.length > 0 && crosses(o, opposite[0])) return reject('post_only_would_take');
  if (o.timeInForce === 'FOK' && available(o) < o.quantity) {
    o.status = 'EXPIRED';
    sendToAccount(account.accountId, { type: 'order', order: publicOrder(o) });
    return o;
  }
  if (type === 'limit') {
    const { asset, amount } = reserveFor(o);
    const b = balance(account, asset);
    if (b.available < amount) return reject('insufficient_balance');
  } else if (o.side === 'sell' && balance(account, inst.base).available < o.quantity) {
    return reject('insufficient_balance');
  }
  withBookDelta(o.symbol, () => {
    match(o);
    if (o.filled === o.quantity) o.status = 'FILLED';
    else if (type === 'limit' && (o.timeInForce === 'GTC' || o.timeInForce === 'GTD')) {
      o.status = o.filled > 0n ? 'PARTIALLY_FILLED' : 'ACCEPTED';
      const { asset, amount } = reserveFor(o);
      const b = balance(account, asset);
      b.available -= amount;
      b.reserved += amount;
      insertResting(o);
    } else o.status = o.filled > 0n ? 'CANCELLED' : 'EXPIRED';
  });
  o.updatedAt = now();
  sendToAccount(account.accountId, { type: 'order', order: publicOrder(o) });
  return o;
}

function cancel(account, o) {
  withBookDelta(o.symbol, () => {
    removeResting(o);
    if (o.type === 'limit') releaseReserve(account, o);
  });
  o.status = 'CANCELLED';
  o.updatedAt = now();
  sendToAccount(account.accountId, { type: 'order', order: publicOrder(o) });
  return o;
}

function amend(account, o, body) {
  withBookDelta(o.symbol, () => {
    removeResting(o);
    releaseReserve(account, o);
    if (body.price !== undefined) o.price = parse(body.price);
    if (body.quantity !== undefined) o.quantity = parse(body.quantity);
    const { asset, amount } = reserveFor(o);
    const b = balance(account, asset);
    b.available -= amount;
    b.reserved += amount;
    match(o);
    if (o.filled === o.quantity) o.status = 'FILLED';
    else insertResting(o);
  });
  o.updatedAt = now();
  sendToAccount(account.accountId, { type: 'order', order: publicOrder(o) });
  return o;
}

const INTERVALS = { '1m': 60, '5m': 300, '1h': 3600 };
function updateCandles(symbol, price, qty, time) {
  for (const [interval, seconds] of Object.entries(INTERVALS)) {
    const key = `${symbol}:${interval}`;
    if (!candles.has(key)) candles.set(key, new Map());
    const series = candles.get(key);
    const t = Math.floor(Date.parse(time) / 1000 / seconds) * seconds;
    const c = series.get(t) ?? {
      time: new Date(t * 1000).toISOString(),
      open: price,
      high: price,
      low: price,
      close: price,
      volume: 0n,
    };
    c.high = price > c.high ? price : c.high;
    c.low = price < c.low ? price : c.low;
    c.close = price;
    c.volume += qty;
    series.set(t, c);
    broadcastMarket(symbol, `candles:${interval}`, { channel: 'candles', symbol, interval, candle: publicCandle(c) });
  }
}
const publicCandle = (c) => ({
  time: c.time,
  open: fmt(c.open, 2),
  high: fmt(c.high, 2),
  low: fmt(c.low, 2),
  close: fmt(c.close, 2),
  volume: fmt(c.volume),
});

function seedHistory() {
  // A random walk of 1m bars for the last 4 hours so the chart has something to draw.
  for (const inst of INSTRUMENTS) {
    let price = parse(inst.mid);
    const nowSec = Math.floor(Date.now() / 1000);
    for (let minutes = 240; minutes >= 1; minutes -= 1) {
      for (let tick = 0; tick < 4; tick += 1) {
        const t = new Date((nowSec - minutes * 60 + tick * 15) * 1000).toISOString();
        const move = (BigInt(Math.round((Math.random() - 0.5) * 200)) * parse(inst.step)) / 100n;
        price += move - (move % 1_000_000n);
        updateCandles(inst.symbol, price, BigInt(Math.round(Math.random() * 50)) * 1_000_000n + 1_000_000n, t);
      }
    }
  }
}

function ticker(symbol) {
  const book = books.get(symbol);
  const last = trades.get(symbol)[0]?.price ?? null;
  const day = [...(candles.get(`${symbol}:1h`)?.values() ?? [])].slice(-24);
  const open = day[0]?.open ?? null;
  return {
    symbol,
    last,
    bestBid: book.bids[0] ? fmt(book.bids[0].price, 2) : null,
    bestAsk: book.asks[0] ? fmt(book.asks[0].price, 2) : null,
    open24h: open === null ? null : fmt(open, 2),
    high24h: day.length
      ? fmt(
          day.reduce((m, c) => (c.high > m ? c.high : m), day[0].high),
          2,
        )
      : null,
    low24h: day.length
      ? fmt(
          day.reduce((m, c) => (c.low < m ? c.low : m), day[0].low),
          2,
        )
      : null,
    volume24h: fmt(day.reduce((s, c) => s + c.volume, 0n)),
    change24h: open !== null && last !== null ? fmt(parse(last) - open, 2) : null,
  };
}

function snapshot(symbol, depth = 100) {
  const book = books.get(symbol);
  const side = (s) => [...levels(s)].slice(0, depth).map(([p, q]) => [fmt(p, PRICE_DECIMALS), fmt(q)]);
  return { symbol, sequence: book.sequence, bids: side(book.bids), asks: side(book.asks) };
}

function seedLiquidity() {
  for (const inst of INSTRUMENTS) {
    const mid = parse(inst.mid);
    const step = parse(inst.step);
    for (let i = 1; i <= 20; i += 1) {
      const qty = inst.symbol === 'BTC-USD' ? `${(0.05 * i).toFixed(4)}` : `${(0.5 * i).toFixed(3)}`;
      place(BOT, {
        symbol: inst.symbol,
        side: 'buy',
        type: 'limit',
        price: fmt(mid - step * BigInt(i), 2),
        quantity: qty,
      });
      place(BOT, {
        symbol: inst.symbol,
        side: 'sell',
        type: 'limit',
        price: fmt(mid + step * BigInt(i), 2),
        quantity: qty,
      });
    }
  }
}

// ---- HTTP -----------------------------------------------------------------------------------
function send(res, status, body, headers = {}) {
  const problem = status >= 400;
  res.writeHead(status, { 'Content-Type': problem ? 'application/problem+json' : 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
function problem(res, status, code, detail) {
  send(res, status, {
    type: `https://oms.example/problems/${code.replace(/_/g, '-')}`,
    title: status === 404 ? 'Not found' : 'Bad request',
    status,
    detail,
    code,
  });
}

function validatePlace(body) {
  const inst = instrument(body?.symbol);
  if (!inst) return ['unknown_symbol', `unknown symbol ${body?.symbol}`, 404];
  if (!['buy', 'sell'].includes(body.side)) return ['invalid_field', 'side must be buy or sell'];
  if (!['limit', 'market', 'stop', 'stopLimit'].includes(body.type)) return ['invalid_field', 'unknown type'];
  for (const [field, step] of [
    ['price', inst.tickSize],
    ['stopPrice', inst.tickSize],
    ['quantity', inst.lotSize],
  ]) {
    if (body[field] === undefined) continue;
    const v = parse(body[field]);
    if (v === null) return ['invalid_field', `${field} is not a decimal`];
    if (v <= 0n) return ['not_positive', `${field} must be positive`];
    if (v % parse(step) !== 0n)
      return [
        field === 'quantity' ? 'off_lot' : 'off_tick',
        `${field} is not a multiple of the ${field === 'quantity' ? 'lot' : 'tick'} size ${step}`,
      ];
  }
  if (body.quantity === undefined) return ['invalid_field', 'quantity is required'];
  if ((body.type === 'limit' || body.type === 'stopLimit') && body.price === undefined)
    return ['invalid_field', 'price is required'];
  return null;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

const MIME = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};
function serveStatic(req, res) {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  let file = join(DIST, path);
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(DIST, 'index.html');
  if (!existsSync(file)) return send(res, 404, { detail: `no dashboard build in ${DIST}`, code: 'not_found' });
  res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  const path = url.pathname;
  try {
    if (!path.startsWith('/api/')) {
      if (path === '/health' || path === '/ready') return send(res, 200, { status: 'ok' });
      return serveStatic(req, res);
    }
    if (path === '/api/instruments')
      return send(
        res,
        200,
        INSTRUMENTS.map(({ mid: _m, step: _s, ...i }) => i),
      );
    if (path === '/api/demo/accounts') {
      return send(
        res,
        200,
        [...ACCOUNTS.values()]
          .filter((a) => a !== BOT && a !== TAKER)
          .map((a) => ({ accountId: a.accountId, apiKey: a.apiKey, admin: a.admin })),
      );
    }
    let m;
    if ((m = path.match(/^\/api\/market-data\/prices\/(.+)$/))) {
      return instrument(m[1]) ? send(res, 200, ticker(m[1])) : problem(res, 404, 'unknown_symbol', 'unknown symbol');
    }
    if ((m = path.match(/^\/api\/market-data\/orderbook\/(.+)$/))) {
      return instrument(m[1])
        ? send(res, 200, snapshot(m[1], Number(url.searchParams.get('depth') ?? 100)))
        : problem(res, 404, 'unknown_symbol', 'unknown symbol');
    }
    if ((m = path.match(/^\/api\/market-data\/candles\/(.+)$/))) {
      const interval = url.searchParams.get('interval') ?? '1m';
      const limit = Number(url.searchParams.get('limit') ?? 300);
      const series = [...(candles.get(`${m[1]}:${interval}`)?.entries() ?? [])].sort(([a], [b]) => a - b).slice(-limit);
      return send(res, 200, { symbol: m[1], interval, candles: series.map(([, c]) => publicCandle(c)) });
    }

    const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const account = ACCOUNTS.get(key);
    if (!account) return problem(res, 401, 'unauthorized', 'missing or unknown API key');
    const body = ['POST', 'PATCH', 'PUT'].includes(req.method) ? await readBody(req).catch(() => null) : undefined;
    if (body === null) return problem(res, 400, 'invalid_json', 'body is not JSON');

    if (path === '/api/account') return send(res, 200, { accountId: account.accountId, admin: account.admin });
    if (path === '/api/risk/positions') {
      return send(res, 200, {
        balances: [...account.balances].map(([asset, b]) => ({
          asset,
          available: fmt(b.available),
          reserved: fmt(b.reserved),
        })),
        positions: [...account.positions].map(([symbol, p]) => {
          const resting = [...orders.values()].filter(
            (o) =>
              o.accountId === account.accountId &&
              o.symbol === symbol &&
              ['ACCEPTED', 'PARTIALLY_FILLED'].includes(o.status),
          );
          const working = (side) =>
            fmt(resting.filter((o) => o.side === side).reduce((s, o) => s + o.quantity - o.filled, 0n));
          return {
            symbol,
            quantity: fmt(p.quantity),
            averagePrice: p.quantity === 0n ? null : fmt((p.cost * SCALE) / p.quantity, 2),
            realizedPnl: fmt(p.realized, 2),
            workingBuy: working('buy'),
            workingSell: working('sell'),
          };
        }),
      });
    }
    if (path === '/api/risk/validate' && req.method === 'POST') {
      // As the server: a malformed order is a problem, like placing it. The mock has no risk
      // engine, so every well-formed order passes.
      const invalid = validatePlace(body);
      if (invalid) return problem(res, invalid[2] ?? 400, invalid[0], invalid[1]);
      return send(res, 200, { ok: true });
    }
    if (path === '/api/orders' && req.method === 'POST') {
      const invalid = validatePlace(body);
      if (invalid) return problem(res, invalid[2] ?? 400, invalid[0], invalid[1]);
      const o = place(account, body);
      return send(res, o.status === 'REJECTED' ? 200 : 201, publicOrder(o, true));
    }
    if (path === '/api/orders' && req.method === 'GET') {
      const status = url.searchParams.get('status') ?? 'all';
      const open = ['ACCEPTED', 'TRIGGERED', 'PARTIALLY_FILLED'];
      const list = [...orders.values()]
        .filter((o) => o.accountId === account.accountId)
        .filter((o) => status === 'all' || (status === 'open') === open.includes(o.status))
        .reverse()
        .slice(0, Number(url.searchParams.get('limit') ?? 100));
      return send(res, 200, { orders: list.map((o) => publicOrder(o)), nextCursor: null });
    }
    if (path === '/api/orders' && req.method === 'DELETE') {
      const symbol = url.searchParams.get('symbol');
      const cancelled = [...orders.values()]
        .filter(
          (o) =>
            o.accountId === account.accountId &&
            ['ACCEPTED', 'PARTIALLY_FILLED'].includes(o.status) &&
            (!symbol || o.symbol === symbol),
        )
        .map((o) => publicOrder(cancel(account, o)));
      return send(res, 200, { cancelled });
    }
    if ((m = path.match(/^\/api\/orders\/([^/]+)$/))) {
      const o = orders.get(m[1]);
      if (!o || o.accountId !== account.accountId) return problem(res, 404, 'unknown_order', 'unknown order');
      if (req.method === 'GET') return send(res, 200, publicOrder(o, true));
      const open = ['ACCEPTED', 'PARTIALLY_FILLED'].includes(o.status);
      if (!open) return problem(res, 422, 'order_not_open', `order is ${o.status}`);
      if (req.method === 'DELETE') return send(res, 200, publicOrder(cancel(account, o)));
      if (req.method === 'PATCH') {
        const check = validatePlace({
          ...publicOrder(o),
          ...body,
          price: body.price ?? publicOrder(o).price,
          quantity: body.quantity ?? publicOrder(o).quantity,
          stopPrice: undefined,
        });
        if (check) return problem(res, check[2] ?? 400, check[0], check[1]);
        return send(res, 200, publicOrder(amend(account, o, body)));
      }
    }
    if (path === '/api/executions') {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const list = executions
        .filter((e) => e.accountId === account.accountId)
        .slice(0, limit)
        .map(({ accountId: _a, ...e }) => e);
      return send(res, 200, { executions: list });
    }
    return problem(res, 404, 'not_found', `no route ${req.method} ${path}`);
  } catch (error) {
    console.error(error);
    return problem(res, 500, 'internal', String(error));
  }
});

// ---- WebSockets -----------------------------------------------------------------------------
const marketClients = new Set(); // { ws, subs: Set(`${symbol}|${channel}`) , deltas }
const orderClients = new Map(); // accountId -> Set(ws)

function broadcastMarket(symbol, channel, message) {
  const text = JSON.stringify(message);
  for (const c of marketClients) if (c.subs.has(`${symbol}|${channel}`)) c.ws.send(text);
}
function broadcastBook(symbol, message) {
  for (const c of marketClients) {
    if (!c.subs.has(`${symbol}|book`)) continue;
    c.deltas += 1;
    if (DROP_DELTA_EVERY > 0 && c.deltas % DROP_DELTA_EVERY === 0) continue; // injected gap
    c.ws.send(JSON.stringify(message));
  }
}
function sendToAccount(accountId, message) {
  for (const ws of orderClients.get(accountId) ?? []) ws.send(JSON.stringify(message));
}

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  if (url.pathname === '/ws/market-data') {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = { ws, subs: new Set(), deltas: 0 };
      marketClients.add(client);
      ws.on('close', () => marketClients.delete(client));
      ws.on('message', (data) => {
        let msg;
        try {
          msg = JSON.parse(String(data));
        } catch {
          return;
        }
        for (const symbol of msg.symbols ?? []) {
          for (const channel of msg.channels ?? []) {
            const key = `${symbol}|${channel}`;
            if (msg.op === 'unsubscribe') client.subs.delete(key);
            else if (msg.op === 'subscribe' && instrument(symbol)) {
              client.subs.add(key);
              if (channel === 'book')
                ws.send(JSON.stringify({ channel: 'book', type: 'snapshot', ...snapshot(symbol) }));
              if (channel === 'ticker') ws.send(JSON.stringify({ channel: 'ticker', ...ticker(symbol) }));
            }
          }
        }
      });
    });
  } else if (url.pathname === '/ws/orders') {
    const account = ACCOUNTS.get(url.searchParams.get('apiKey') ?? '');
    if (!account) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!orderClients.has(account.accountId)) orderClients.set(account.accountId, new Set());
      orderClients.get(account.accountId).add(ws);
      ws.on('close', () => orderClients.get(account.accountId)?.delete(ws));
    });
  } else {
    socket.destroy();
  }
});

// ---- demo liquidity -------------------------------------------------------------------------
seedHistory();
seedLiquidity();
let botSide = 'buy';
if (BOT_MS > 0) {
  setInterval(() => {
    for (const inst of INSTRUMENTS) {
      const qty = inst.symbol === 'BTC-USD' ? '0.0100' : '0.100';
      const o = place(TAKER, { symbol: inst.symbol, side: botSide, type: 'market', quantity: qty, timeInForce: 'IOC' });
      // Put the liquidity back one step outside the touch.
      const book = books.get(inst.symbol);
      const bestOpposite = botSide === 'buy' ? book.asks[0]?.price : book.bids[0]?.price;
      if (bestOpposite !== undefined && o.filled > 0n) {
        const back = botSide === 'buy' ? bestOpposite + parse(inst.step) * 19n : bestOpposite - parse(inst.step) * 19n;
        place(BOT, {
          symbol: inst.symbol,
          side: botSide === 'buy' ? 'sell' : 'buy',
          type: 'limit',
          price: fmt(back, 2),
          quantity: fmt(o.filled),
        });
      }
    }
    botSide = botSide === 'buy' ? 'sell' : 'buy';
  }, BOT_MS).unref?.();
}

server.listen(PORT, '127.0.0.1', () => {
  console.log(`mock OMS on http://127.0.0.1:${PORT} (dashboard from ${DIST}); demo keys: demo-key-1, demo-key-2`);
});
