// WebSocket clients: a reconnecting socket, the market-data client (subscriptions, book
// sequence checks and REST resync) and the own-orders client.
//
// Why this shape:
// * Reconnect with exponential backoff and jitter, capped, so a restarted server is not hit
//   by every dashboard at the same instant; the attempt count resets only after a
//   connection stayed up for a while, so a server that accepts and drops at once is not
//   hammered either.
// * Subscriptions are state, not messages: the client remembers what it wants and sends all
//   of it again after every reconnect. After a reconnect the books are stale until the
//   server's new snapshot arrives, and the UI says so.
// * The book copy follows `prevSequence` (lib/book.ts). A gap is repaired from the REST
//   snapshot; if repeated REST resyncs cannot catch up (a cached snapshot lagging a busy
//   book), the client re-subscribes the book channel to get a fresh WebSocket snapshot.
// * The browser `WebSocket` is injected (`createSocket`) so tests drive a fake one with fake
//   timers.

import { BookSync, type SyncPhase } from '../lib/book';
import type {
  BookDeltaMessage,
  BookSnapshotMessage,
  Candle,
  CandleInterval,
  Execution,
  MarketChannel,
  MarketSubscription,
  MarketTrade,
  Order,
  OrderBookSnapshot,
  Ticker,
} from './types';

// ---- backoff ------------------------------------------------------------------------------

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** Ceiling of the delay. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Share of the delay that is random, 0..1 ("equal jitter" at 0.5). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };
/** A connection that stayed open this long counts as healthy: the next retry starts over. */
export const STABLE_AFTER_MS = 5_000;
/** A connection attempt not open after this long is abandoned and retried. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Failed REST resyncs in a row after which the book channel is re-subscribed instead. */
export const REST_RESYNCS_BEFORE_RESUBSCRIBE = 3;
/** How long a re-subscribed book waits for the server's snapshot before trying REST again. */
export const RESUBSCRIBE_SNAPSHOT_WAIT_MS = 5_000;
export const RESYNC_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (0-based): min(max, initial·factor^attempt), jittered. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(base * (1 - jitter) + base * jitter * random());
}

// ---- reconnecting socket --------------------------------------------------------------------

/** The part of the browser WebSocket used here. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

const SOCKET_OPEN = 1;

/** The browser's WebSocket; its event types are richer than `SocketLike` needs, hence the cast. */
export const browserSocketFactory: SocketFactory = (url) => new WebSocket(url) as unknown as SocketLike;

/** ws:// or wss:// URL of a path on the page's own origin (same origin as the API). */
export function sameOriginWsUrl(path: string): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}${path}`;
}

export type ConnectionPhase = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

export interface ConnectionState {
  readonly phase: ConnectionPhase;
  /** Failed attempts since the last healthy connection. */
  readonly attempt: number;
  /** When the next attempt starts (epoch ms), while `waiting`. */
  readonly retryAt: number | null;
  readonly lastCloseCode: number | null;
  /** True after the first successful open; later opens are reconnects. */
  readonly everOpened: boolean;
}

export const INITIAL_CONNECTION_STATE: ConnectionState = {
  phase: 'idle',
  attempt: 0,
  retryAt: null,
  lastCloseCode: null,
  everOpened: false,
};

export interface ReconnectingSocketOptions {
  url: () => string;
  createSocket: SocketFactory;
  backoff?: Partial<BackoffPolicy>;
  random?: () => number;
  stableAfterMs?: number;
  connectTimeoutMs?: number;
  /** `reconnected` is false for the first open, true for every later one. */
  onOpen?: (reconnected: boolean) => void;
  /** Parsed JSON of each message; messages that are not JSON are dropped. */
  onMessage?: (message: unknown) => void;
  onState?: (state: ConnectionState) => void;
}

export class ReconnectingSocket {
  private socket: SocketLike | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private openedAt: number | null = null;
  private stopped = true;
  private current: ConnectionState = INITIAL_CONNECTION_STATE;
  private readonly backoff: BackoffPolicy;
  /** Messages that were not JSON (dropped). */
  malformedMessages = 0;

  constructor(private readonly options: ReconnectingSocketOptions) {
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  get state(): ConnectionState {
    return this.current;
  }

  get isOpen(): boolean {
    return this.current.phase === 'open';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      this.detach(socket);
      socket.close(1000, 'client stopped');
    }
    this.setState({ phase: 'closed', retryAt: null });
  }

  /** Skips the wait before the next attempt (a "reconnect now" button). */
  reconnectNow(): void {
    if (this.stopped || this.current.phase !== 'waiting') return;
    this.clearTimers();
    this.connect();
  }

  /** Sends JSON when open; answers false (and sends nothing) otherwise. */
  send(message: unknown): boolean {
    if (this.socket === null || this.current.phase !== 'open' || this.socket.readyState !== SOCKET_OPEN) {
      return false;
    }
    this.socket.send(JSON.stringify(message));
    return true;
  }

  private connect(): void {
    this.retryTimer = null;
    this.setState({ phase: 'connecting', retryAt: null });
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(this.options.url());
    } catch {
      // An invalid URL or a refused construction behaves like a failed connection.
      this.scheduleRetry(null);
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.handleOpen(socket);
    socket.onmessage = (event) => this.handleMessage(socket, event.data);
    socket.onclose = (event) => this.handleClose(socket, event.code);
    socket.onerror = () => undefined; // a close event always follows
    this.connectTimer = setTimeout(() => {
      if (this.socket === socket && this.current.phase === 'connecting') {
        this.detach(socket);
        this.socket = null;
        socket.close(4000, 'connect timeout');
        this.scheduleRetry(null);
      }
    }, this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
  }

  private handleOpen(socket: SocketLike): void {
    if (socket !== this.socket) return;
    this.clearConnectTimer();
    const reconnected = this.current.everOpened;
    this.openedAt = Date.now();
    this.setState({ phase: 'open', retryAt: null, everOpened: true });
    this.options.onOpen?.(reconnected);
  }

  private handleMessage(socket: SocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    if (typeof data !== 'string') {
      this.malformedMessages += 1;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.malformedMessages += 1;
      return;
    }
    this.options.onMessage?.(parsed);
  }

  private handleClose(socket: SocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.detach(socket);
    this.socket = null;
    this.clearConnectTimer();
    if (this.stopped) return;
    this.scheduleRetry(code);
  }

  private scheduleRetry(closeCode: number | null): void {
    const stableAfter = this.options.stableAfterMs ?? STABLE_AFTER_MS;
    let attempt = this.current.attempt;
    if (this.openedAt !== null && Date.now() - this.openedAt >= stableAfter) attempt = 0;
    this.openedAt = null;
    const delay = backoffDelayMs(attempt, this.backoff, this.options.random);
    this.setState({
      phase: 'waiting',
      attempt: attempt + 1,
      retryAt: Date.now() + delay,
      lastCloseCode: closeCode,
    });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private detach(socket: SocketLike): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private clearTimers(): void {
    this.clearConnectTimer();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private setState(change: Partial<ConnectionState>): void {
    this.current = { ...this.current, ...change };
    this.options.onState?.(this.current);
  }
}

// ---- market data ----------------------------------------------------------------------------

export interface MarketDataListener {
  onState?(state: ConnectionState): void;
  /** The book changed, or its sync phase did (`resyncing` while stale). */
  onBook?(symbol: string, sync: BookSync): void;
  onTrades?(symbol: string, trades: MarketTrade[]): void;
  onTicker?(ticker: Ticker): void;
  onCandle?(symbol: string, interval: CandleInterval, candle: Candle): void;
  /** The socket came back after a drop: anything not replayed by snapshots should be refetched. */
  onReconnected?(): void;
}

export interface MarketDataClientOptions {
  url: () => string;
  createSocket: SocketFactory;
  fetchOrderBook: (symbol: string) => Promise<OrderBookSnapshot>;
  backoff?: Partial<BackoffPolicy>;
  resyncBackoff?: Partial<BackoffPolicy>;
  random?: () => number;
  restResyncsBeforeResubscribe?: number;
  stableAfterMs?: number;
}

interface ResyncState {
  inFlight: boolean;
  /** REST resyncs in a row that did not leave the book live. */
  failures: number;
  timer: ReturnType<typeof setTimeout> | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export class MarketDataClient {
  private readonly socket: ReconnectingSocket;
  private readonly subscriptions = new Map<string, Set<MarketChannel>>();
  private readonly books = new Map<string, BookSync>();
  private readonly resyncs = new Map<string, ResyncState>();
  private readonly listeners = new Set<MarketDataListener>();
  private readonly resyncBackoff: BackoffPolicy;
  /** Book resyncs started from REST and by re-subscribing (for the status bar and tests). */
  readonly stats = { restResyncs: 0, resubscribes: 0 };

  constructor(private readonly options: MarketDataClientOptions) {
    this.resyncBackoff = { ...RESYNC_BACKOFF, ...options.resyncBackoff };
    this.socket = new ReconnectingSocket({
      url: options.url,
      createSocket: options.createSocket,
      backoff: options.backoff,
      random: options.random,
      stableAfterMs: options.stableAfterMs,
      onOpen: (reconnected) => this.handleOpen(reconnected),
      onMessage: (message) => this.handleMessage(message),
      onState: (state) => this.handleState(state),
    });
  }

  get state(): ConnectionState {
    return this.socket.state;
  }

  addListener(listener: MarketDataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.socket.stop();
    for (const resync of this.resyncs.values()) {
      if (resync.timer !== null) clearTimeout(resync.timer);
    }
    this.resyncs.clear();
  }

  reconnectNow(): void {
    this.socket.reconnectNow();
  }

  bookSync(symbol: string): BookSync | undefined {
    return this.books.get(symbol);
  }

  subscribe(symbol: string, channels: readonly MarketChannel[]): void {
    const wanted = this.subscriptions.get(symbol) ?? new Set<MarketChannel>();
    const added = channels.filter((channel) => !wanted.has(channel));
    for (const channel of added) wanted.add(channel);
    this.subscriptions.set(symbol, wanted);
    if (added.includes('book') && !this.books.has(symbol)) {
      this.books.set(symbol, this.newBookSync(symbol));
    }
    if (added.length > 0) this.sendSubscription('subscribe', symbol, added);
  }

  /** Drops the given channels of a symbol, or all of them. */
  unsubscribe(symbol: string, channels?: readonly MarketChannel[]): void {
    const wanted = this.subscriptions.get(symbol);
    if (wanted === undefined) return;
    const removed = (channels ?? [...wanted]).filter((channel) => wanted.has(channel));
    for (const channel of removed) wanted.delete(channel);
    if (wanted.size === 0) this.subscriptions.delete(symbol);
    if (removed.includes('book')) {
      this.books.delete(symbol);
      const resync = this.resyncs.get(symbol);
      if (resync?.timer) clearTimeout(resync.timer);
      this.resyncs.delete(symbol);
    }
    if (removed.length > 0) this.sendSubscription('unsubscribe', symbol, removed);
  }

  private sendSubscription(op: MarketSubscription['op'], symbol: string, channels: MarketChannel[]): void {
    const message: MarketSubscription = { op, channels, symbols: [symbol] };
    this.socket.send(message); // when closed, handleOpen sends the whole set later
  }

  private newBookSync(symbol: string): BookSync {
    return new BookSync(symbol, { requestResync: (s) => this.requestResync(s) });
  }

  private handleOpen(reconnected: boolean): void {
    for (const [symbol, channels] of this.subscriptions) {
      this.sendSubscription('subscribe', symbol, [...channels]);
    }
    if (reconnected) this.emit((l) => l.onReconnected?.());
  }

  private handleState(state: ConnectionState): void {
    if (state.phase === 'waiting' || state.phase === 'closed') {
      // Updates are being missed: every book is stale until the next snapshot.
      for (const [symbol, sync] of this.books) {
        const before = sync.state;
        sync.invalidate();
        if (before !== sync.state) this.emit((l) => l.onBook?.(symbol, sync));
      }
    }
    this.emit((l) => l.onState?.(state));
  }

  private handleMessage(message: unknown): void {
    if (!isRecord(message) || typeof message.symbol !== 'string') return;
    const symbol = message.symbol;
    switch (message.channel) {
      case 'book':
        this.handleBook(symbol, message);
        return;
      case 'trades':
        if (Array.isArray(message.trades)) {
          const trades = message.trades as MarketTrade[];
          this.emit((l) => l.onTrades?.(symbol, trades));
        }
        return;
      case 'ticker': {
        const { channel: _channel, ...ticker } = message;
        this.emit((l) => l.onTicker?.(ticker as unknown as Ticker));
        return;
      }
      case 'candles':
        if (isRecord(message.candle) && typeof message.interval === 'string') {
          const interval = message.interval as CandleInterval;
          const candle = message.candle as unknown as Candle;
          this.emit((l) => l.onCandle?.(symbol, interval, candle));
        }
        return;
      default:
        return;
    }
  }

  private handleBook(symbol: string, message: Record<string, unknown>): void {
    const sync = this.books.get(symbol);
    if (sync === undefined) return; // not (or no longer) subscribed
    if (!Array.isArray(message.bids) || !Array.isArray(message.asks)) return;
    const phaseBefore: SyncPhase = sync.state;
    try {
      if (message.type === 'snapshot') {
        sync.onSnapshot(message as unknown as BookSnapshotMessage);
        this.resetResync(symbol);
      } else if (message.type === 'delta') {
        const outcome = sync.onDelta(message as unknown as BookDeltaMessage);
        if (outcome !== 'applied' && phaseBefore === sync.state) return;
      } else {
        return;
      }
    } catch {
      // A level or sequence that does not parse: the copy can no longer be trusted.
      sync.invalidate();
      this.requestResync(symbol);
    }
    this.emit((l) => l.onBook?.(symbol, sync));
  }

  private resyncState(symbol: string): ResyncState {
    let state = this.resyncs.get(symbol);
    if (state === undefined) {
      state = { inFlight: false, failures: 0, timer: null };
      this.resyncs.set(symbol, state);
    }
    return state;
  }

  private resetResync(symbol: string): void {
    const state = this.resyncs.get(symbol);
    if (state === undefined) return;
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
    state.failures = 0;
  }

  private requestResync(symbol: string): void {
    const state = this.resyncState(symbol);
    if (state.inFlight || state.timer !== null) return;
    if (state.failures === 0) {
      this.runResync(symbol);
      return;
    }
    const delay = backoffDelayMs(state.failures - 1, this.resyncBackoff, this.options.random);
    state.timer = setTimeout(() => {
      state.timer = null;
      this.runResync(symbol);
    }, delay);
  }

  private runResync(symbol: string): void {
    const sync = this.books.get(symbol);
    const state = this.resyncState(symbol);
    if (sync === undefined) return;
    const limit = this.options.restResyncsBeforeResubscribe ?? REST_RESYNCS_BEFORE_RESUBSCRIBE;
    if (state.failures >= limit) {
      // REST keeps lagging the stream: ask the server for a fresh WebSocket snapshot.
      state.failures = 0;
      this.stats.resubscribes += 1;
      sync.invalidate();
      this.sendSubscription('unsubscribe', symbol, ['book']);
      this.sendSubscription('subscribe', symbol, ['book']);
      // The snapshot clears this timer; without one, go back to REST.
      state.timer = setTimeout(() => {
        state.timer = null;
        if (this.books.get(symbol) === sync && sync.state !== 'live') this.runResync(symbol);
      }, RESUBSCRIBE_SNAPSHOT_WAIT_MS);
      return;
    }
    state.inFlight = true;
    this.stats.restResyncs += 1;
    this.options.fetchOrderBook(symbol).then(
      (snapshot) => {
        state.inFlight = false;
        if (this.books.get(symbol) !== sync) return; // unsubscribed meanwhile
        state.failures += 1; // counted before installing: a gap found while replaying backs off
        sync.onRestSnapshot(snapshot);
        if (sync.state === 'live') state.failures = 0;
        this.emit((l) => l.onBook?.(symbol, sync));
      },
      () => {
        state.inFlight = false;
        if (this.books.get(symbol) !== sync) return;
        state.failures += 1;
        this.requestResync(symbol);
      },
    );
  }

  private emit(call: (listener: MarketDataListener) => void): void {
    for (const listener of this.listeners) call(listener);
  }
}

// ---- own orders -----------------------------------------------------------------------------

export interface OrdersListener {
  onState?(state: ConnectionState): void;
  onOrder?(order: Order): void;
  onFill?(execution: Execution): void;
  /** Fired on every open; after a reconnect, updates may have been missed: refetch. */
  onOpen?(reconnected: boolean): void;
}

export interface OrdersClientOptions {
  /** Full URL including `?apiKey=` (browsers cannot set headers on a WebSocket). */
  url: () => string;
  createSocket: SocketFactory;
  backoff?: Partial<BackoffPolicy>;
  random?: () => number;
  stableAfterMs?: number;
}

export function ordersStreamPath(apiKey: string): string {
  return `/ws/orders?apiKey=${encodeURIComponent(apiKey)}`;
}

export class OrdersClient {
  private readonly socket: ReconnectingSocket;
  private readonly listeners = new Set<OrdersListener>();

  constructor(options: OrdersClientOptions) {
    this.socket = new ReconnectingSocket({
      url: options.url,
      createSocket: options.createSocket,
      backoff: options.backoff,
      random: options.random,
      stableAfterMs: options.stableAfterMs,
      onOpen: (reconnected) => this.emit((l) => l.onOpen?.(reconnected)),
      onState: (state) => this.emit((l) => l.onState?.(state)),
      onMessage: (message) => this.handleMessage(message),
    });
  }

  get state(): ConnectionState {
    return this.socket.state;
  }

  addListener(listener: OrdersListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.socket.stop();
  }

  reconnectNow(): void {
    this.socket.reconnectNow();
  }

  private handleMessage(message: unknown): void {
    if (!isRecord(message)) return;
    if (message.type === 'order' && isRecord(message.order)) {
      const order = message.order as unknown as Order;
      this.emit((l) => l.onOrder?.(order));
    } else if (message.type === 'fill' && isRecord(message.execution)) {
      const execution = message.execution as unknown as Execution;
      this.emit((l) => l.onFill?.(execution));
    }
  }

  private emit(call: (listener: OrdersListener) => void): void {
    for (const listener of this.listeners) call(listener);
  }
}
