import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildLadder } from '../lib/book';
import {
  DEFAULT_BACKOFF,
  MarketDataClient,
  OrdersClient,
  ReconnectingSocket,
  backoffDelayMs,
  ordersStreamPath,
  type ConnectionState,
  type SocketLike,
} from './websocket';
import type { OrderBookSnapshot } from './types';

/** A WebSocket stand-in the test drives by hand. */
class FakeSocket implements SocketLike {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closed: { code?: number; reason?: string } | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  static last(): FakeSocket {
    const socket = FakeSocket.instances.at(-1);
    if (socket === undefined) throw new Error('no socket created');
    return socket;
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
    this.readyState = 3;
  }

  // ---- server side ----
  serverOpen(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  serverSend(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  serverDrop(code = 1006): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code, reason: '' });
  }
}

const createSocket = (url: string) => new FakeSocket(url);

beforeEach(() => {
  FakeSocket.instances = [];
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-21T22:00:00Z'));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelayMs', () => {
  const policy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

  it('grows exponentially up to the cap', () => {
    const noJitter = { ...policy, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffDelayMs(a, noJitter))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it('jitters within [base·(1−jitter), base]', () => {
    expect(backoffDelayMs(2, policy, () => 0)).toBe(1000);
    expect(backoffDelayMs(2, policy, () => 0.5)).toBe(1500);
    expect(backoffDelayMs(2, policy, () => 0.999999)).toBe(2000);
    expect(backoffDelayMs(10, policy, () => 0)).toBe(15000);
  });
});

describe('ReconnectingSocket', () => {
  function makeSocket(random = () => 0.5) {
    const states: ConnectionState[] = [];
    const opens: boolean[] = [];
    const messages: unknown[] = [];
    const socket = new ReconnectingSocket({
      url: () => 'ws://oms.test/ws/market-data',
      createSocket,
      random,
      onOpen: (reconnected) => opens.push(reconnected),
      onMessage: (message) => messages.push(message),
      onState: (state) => states.push(state),
    });
    return { socket, states, opens, messages };
  }

  it('connects, reports open and parses messages', () => {
    const { socket, opens, messages } = makeSocket();
    socket.start();
    expect(socket.state.phase).toBe('connecting');
    FakeSocket.last().serverOpen();
    expect(socket.state.phase).toBe('open');
    expect(opens).toEqual([false]);
    FakeSocket.last().serverSend({ hello: 1 });
    FakeSocket.last().onmessage?.({ data: 'not json' });
    expect(messages).toEqual([{ hello: 1 }]);
    expect(socket.malformedMessages).toBe(1);
    expect(socket.send({ op: 'x' })).toBe(true);
    expect(FakeSocket.last().sent).toEqual([{ op: 'x' }]);
  });

  it('reconnects with exponential backoff and jitter while the server is down', () => {
    const { socket, opens } = makeSocket(() => 0); // lower edge: base / 2
    socket.start();
    FakeSocket.last().serverOpen();
    FakeSocket.last().serverDrop();
    expect(socket.state.phase).toBe('waiting');
    expect(socket.state.attempt).toBe(1);

    const expectedDelays = [250, 500, 1000, 2000, 4000, 8000, 15000, 15000];
    for (const delay of expectedDelays) {
      const before = FakeSocket.instances.length;
      vi.advanceTimersByTime(delay - 1);
      expect(FakeSocket.instances.length).toBe(before); // not yet
      vi.advanceTimersByTime(1);
      expect(FakeSocket.instances.length).toBe(before + 1);
      FakeSocket.last().serverDrop(); // refused again
    }
    expect(socket.state.attempt).toBe(expectedDelays.length + 1);

    vi.advanceTimersByTime(15000);
    FakeSocket.last().serverOpen();
    expect(opens).toEqual([false, true]);
    expect(socket.state.phase).toBe('open');
  });

  it('starts the backoff over after a connection that stayed up', () => {
    const { socket } = makeSocket(() => 0);
    socket.start();
    FakeSocket.last().serverOpen();
    FakeSocket.last().serverDrop();
    vi.advanceTimersByTime(250);
    FakeSocket.last().serverOpen(); // flapping: up for less than STABLE_AFTER_MS
    vi.advanceTimersByTime(1000);
    FakeSocket.last().serverDrop();
    expect(socket.state.attempt).toBe(2); // keeps growing
    vi.advanceTimersByTime(500);
    FakeSocket.last().serverOpen();
    vi.advanceTimersByTime(60_000); // healthy for a minute
    FakeSocket.last().serverDrop();
    expect(socket.state.attempt).toBe(1); // back to the first delay
    const before = FakeSocket.instances.length;
    vi.advanceTimersByTime(250);
    expect(FakeSocket.instances.length).toBe(before + 1);
  });

  it('gives up on a connection that never opens and retries', () => {
    const { socket } = makeSocket(() => 0);
    socket.start();
    const hung = FakeSocket.last();
    vi.advanceTimersByTime(10_000);
    expect(hung.closed?.code).toBe(4000);
    expect(socket.state.phase).toBe('waiting');
    vi.advanceTimersByTime(250);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  it('stops for good and ignores events of old sockets', () => {
    const { socket, states } = makeSocket();
    socket.start();
    const first = FakeSocket.last();
    first.serverOpen();
    socket.stop();
    expect(first.closed?.code).toBe(1000);
    first.serverDrop(); // detached: no reconnect
    vi.advanceTimersByTime(120_000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(states.at(-1)?.phase).toBe('closed');
    expect(socket.send({})).toBe(false);
  });

  it('reconnectNow skips the wait', () => {
    const { socket } = makeSocket();
    socket.start();
    FakeSocket.last().serverDrop();
    expect(FakeSocket.instances).toHaveLength(1);
    socket.reconnectNow();
    expect(FakeSocket.instances).toHaveLength(2);
    expect(socket.state.phase).toBe('connecting');
  });
});

describe('MarketDataClient', () => {
  function deferred<T>() {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  }

  function makeClient(fetchOrderBook = vi.fn<(symbol: string) => Promise<OrderBookSnapshot>>()) {
    const client = new MarketDataClient({
      url: () => 'ws://oms.test/ws/market-data',
      createSocket,
      fetchOrderBook,
      random: () => 0,
    });
    const books: string[] = [];
    let reconnects = 0;
    client.addListener({
      onBook: (symbol, sync) => books.push(`${symbol}:${sync.state}:${sync.book?.sequence ?? '-'}`),
      onReconnected: () => {
        reconnects += 1;
      },
    });
    return { client, fetchOrderBook, books, reconnects: () => reconnects };
  }

  const snapshotMessage = (sequence: number, bid = '50000.00') => ({
    channel: 'book',
    symbol: 'BTC-USD',
    type: 'snapshot',
    sequence,
    bids: [[bid, '1']],
    asks: [['50001.00', '2']],
  });

  const deltaMessage = (prevSequence: number, sequence: number, bids: [string, string][] = []) => ({
    channel: 'book',
    symbol: 'BTC-USD',
    type: 'delta',
    prevSequence,
    sequence,
    bids,
    asks: [],
  });

  it('subscribes on open and again, in full, after every reconnect', () => {
    const { client, reconnects } = makeClient();
    client.subscribe('BTC-USD', ['book', 'trades']);
    client.start();
    FakeSocket.last().serverOpen();
    client.subscribe('BTC-USD', ['ticker', 'candles:1m']); // while open: sent at once
    client.subscribe('ETH-USD', ['trades']);
    expect(FakeSocket.last().sent).toEqual([
      { op: 'subscribe', channels: ['book', 'trades'], symbols: ['BTC-USD'] },
      { op: 'subscribe', channels: ['ticker', 'candles:1m'], symbols: ['BTC-USD'] },
      { op: 'subscribe', channels: ['trades'], symbols: ['ETH-USD'] },
    ]);

    client.unsubscribe('ETH-USD');
    FakeSocket.last().serverDrop();
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    const second = FakeSocket.last();
    expect(second).not.toBe(FakeSocket.instances[0]);
    second.serverOpen();
    expect(second.sent).toEqual([
      { op: 'subscribe', channels: ['book', 'trades', 'ticker', 'candles:1m'], symbols: ['BTC-USD'] },
    ]);
    expect(reconnects()).toBe(1);
  });

  it('marks books stale while disconnected and live again on the new snapshot', () => {
    const { client, books } = makeClient();
    client.subscribe('BTC-USD', ['book']);
    client.start();
    FakeSocket.last().serverOpen();
    FakeSocket.last().serverSend(snapshotMessage(10));
    FakeSocket.last().serverDrop();
    expect(client.bookSync('BTC-USD')?.state).toBe('resyncing');
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    FakeSocket.last().serverOpen();
    FakeSocket.last().serverSend(snapshotMessage(50));
    expect(books).toEqual(['BTC-USD:live:10', 'BTC-USD:resyncing:10', 'BTC-USD:live:50']);
  });

  it('resyncs from the REST snapshot on a sequence gap and replays what came meanwhile', async () => {
    const rest = deferred<OrderBookSnapshot>();
    const { client, fetchOrderBook, books } = makeClient(vi.fn(() => rest.promise));
    client.subscribe('BTC-USD', ['book']);
    client.start();
    const socket = FakeSocket.last();
    socket.serverOpen();
    socket.serverSend(snapshotMessage(10));
    socket.serverSend(deltaMessage(10, 11, [['49999.00', '3']]));
    socket.serverSend(deltaMessage(12, 13, [['49998.00', '4']])); // 11→12 lost
    expect(fetchOrderBook).toHaveBeenCalledTimes(1);
    expect(fetchOrderBook).toHaveBeenCalledWith('BTC-USD');
    socket.serverSend(deltaMessage(13, 14, [['49997.00', '5']]));
    expect(fetchOrderBook).toHaveBeenCalledTimes(1); // one resync at a time

    rest.resolve({
      symbol: 'BTC-USD',
      sequence: 13,
      bids: [
        ['50000.00', '1'],
        ['49999.00', '3'],
        ['49998.00', '4'],
        ['49996.00', '9'],
      ],
      asks: [['50001.00', '2']],
    });
    await vi.runAllTimersAsync();
    const sync = client.bookSync('BTC-USD')!;
    expect(sync.state).toBe('live');
    expect(sync.book?.sequence).toBe(14n);
    expect(buildLadder(sync.book!, 10).bids.map((r) => r.priceText)).toEqual([
      '50000.00',
      '49999.00',
      '49998.00',
      '49997.00',
      '49996.00',
    ]);
    expect(books.at(-1)).toBe('BTC-USD:live:14');
    expect(client.stats.restResyncs).toBe(1);
  });

  it('retries a failed REST resync with backoff', async () => {
    const fetchOrderBook = vi
      .fn<(symbol: string) => Promise<OrderBookSnapshot>>()
      .mockRejectedValueOnce(new Error('503'))
      .mockResolvedValueOnce({ symbol: 'BTC-USD', sequence: 20, bids: [], asks: [] });
    const { client } = makeClient(fetchOrderBook);
    client.subscribe('BTC-USD', ['book']);
    client.start();
    FakeSocket.last().serverOpen();
    FakeSocket.last().serverSend(snapshotMessage(10));
    FakeSocket.last().serverSend(deltaMessage(15, 16));
    expect(fetchOrderBook).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(0); // the rejection lands, a retry is scheduled
    expect(fetchOrderBook).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(125); // RESYNC_BACKOFF.initialMs with full-low jitter
    expect(fetchOrderBook).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(client.bookSync('BTC-USD')?.state).toBe('live');
  });

  it('re-subscribes the book when REST snapshots keep lagging the stream', async () => {
    // The REST snapshot is always behind the buffered deltas (e.g. served from a cache).
    const fetchOrderBook = vi.fn(async () => ({ symbol: 'BTC-USD', sequence: 5, bids: [], asks: [] }));
    const { client } = makeClient(fetchOrderBook);
    client.subscribe('BTC-USD', ['book']);
    client.start();
    const socket = FakeSocket.last();
    socket.serverOpen();
    socket.serverSend(snapshotMessage(10));
    socket.serverSend(deltaMessage(30, 31));
    // REST tries at 0, +125 and +250 ms (backoff), then a re-subscribe at +500 ms.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fetchOrderBook).toHaveBeenCalledTimes(3);
    expect(client.stats.resubscribes).toBe(1);
    expect(socket.sent.slice(-2)).toEqual([
      { op: 'unsubscribe', channels: ['book'], symbols: ['BTC-USD'] },
      { op: 'subscribe', channels: ['book'], symbols: ['BTC-USD'] },
    ]);
    // No snapshot within RESUBSCRIBE_SNAPSHOT_WAIT_MS: back to REST.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fetchOrderBook).toHaveBeenCalledTimes(4);
    socket.serverSend(snapshotMessage(40));
    expect(client.bookSync('BTC-USD')?.state).toBe('live');
  });

  it('ignores a REST answer for a symbol unsubscribed meanwhile', async () => {
    const rest = deferred<OrderBookSnapshot>();
    const { client } = makeClient(vi.fn(() => rest.promise));
    client.subscribe('BTC-USD', ['book']);
    client.start();
    FakeSocket.last().serverOpen();
    FakeSocket.last().serverSend(deltaMessage(1, 2)); // no snapshot yet → resync
    client.unsubscribe('BTC-USD', ['book']);
    rest.resolve({ symbol: 'BTC-USD', sequence: 2, bids: [], asks: [] });
    await vi.runAllTimersAsync();
    expect(client.bookSync('BTC-USD')).toBeUndefined();
  });

  it('routes trades, tickers and candles to listeners', () => {
    const { client } = makeClient();
    const seen: string[] = [];
    client.addListener({
      onTrades: (symbol, trades) => seen.push(`trades ${symbol} ${trades.length}`),
      onTicker: (ticker) => seen.push(`ticker ${ticker.symbol} ${ticker.last}`),
      onCandle: (symbol, interval, candle) => seen.push(`candle ${symbol} ${interval} ${candle.close}`),
    });
    client.start();
    const socket = FakeSocket.last();
    socket.serverOpen();
    socket.serverSend({
      channel: 'trades',
      symbol: 'BTC-USD',
      trades: [{ tradeId: '1', price: '1', quantity: '1', takerSide: 'buy', time: '2026-11-21T22:00:00Z' }],
    });
    socket.serverSend({ channel: 'ticker', symbol: 'BTC-USD', last: '50000.00' });
    socket.serverSend({
      channel: 'candles',
      symbol: 'BTC-USD',
      interval: '1m',
      candle: { time: '2026-11-21T22:00:00Z', open: '1', high: '1', low: '1', close: '2', volume: '1' },
    });
    socket.serverSend({ channel: 'unknown', symbol: 'BTC-USD' });
    socket.serverSend([1, 2, 3]);
    expect(seen).toEqual(['trades BTC-USD 1', 'ticker BTC-USD 50000.00', 'candle BTC-USD 1m 2']);
  });
});

describe('OrdersClient', () => {
  it('authenticates through the query string and reports reconnects for a refetch', () => {
    const opens: boolean[] = [];
    const events: string[] = [];
    const client = new OrdersClient({
      url: () => `ws://oms.test${ordersStreamPath('key with/slash')}`,
      createSocket,
      random: () => 0,
    });
    client.addListener({
      onOpen: (reconnected) => opens.push(reconnected),
      onOrder: (order) => events.push(`order ${order.orderId} ${order.status}`),
      onFill: (execution) => events.push(`fill ${execution.tradeId}`),
    });
    client.start();
    expect(FakeSocket.last().url).toBe('ws://oms.test/ws/orders?apiKey=key%20with%2Fslash');
    FakeSocket.last().serverOpen();
    FakeSocket.last().serverSend({ type: 'order', order: { orderId: '57', status: 'ACCEPTED' } });
    FakeSocket.last().serverSend({ type: 'fill', execution: { tradeId: '9' } });
    FakeSocket.last().serverSend({ type: 'other' });
    FakeSocket.last().serverDrop();
    vi.advanceTimersByTime(DEFAULT_BACKOFF.initialMs);
    FakeSocket.last().serverOpen();
    expect(opens).toEqual([false, true]);
    expect(events).toEqual(['order 57 ACCEPTED', 'fill 9']);
    client.stop();
  });
});
