// Typed client of the HTTP contract (docs/api.md).
//
// * Relative URLs: in production `oms serve` serves this app and the API on one origin; in
//   development Vite proxies `/api` to it. `baseUrl` exists for tests and other hosts.
// * Errors: every failure becomes an `ApiError` whose message is readable on screen and
//   carries the server's problem+json `code` and `detail` (e.g. "price is not a multiple of
//   the tick size 0.01 (off_tick)"). Engine refusals of a placement are not errors: the
//   server answers 200 with `status: "REJECTED"` and the order is returned as such.
// * Writes carry an `Idempotency-Key`. A write whose answer was lost (network error), or
//   that met 503 `overloaded` or 409 `idempotency_in_flight`, is retried a bounded number
//   of times with the same key, so the server applies it at most once.

import type {
  Account,
  AmendOrderRequest,
  CandleInterval,
  Candles,
  DemoAccount,
  Execution,
  Instrument,
  Order,
  OrderBookSnapshot,
  OrderList,
  PlaceOrderRequest,
  Positions,
  RiskLimits,
  Ticker,
  ValidateResult,
} from './types';

/** Retries of one write after a lost answer or a transient refusal, beyond the first try. */
export const WRITE_RETRIES_MAX = 2;
/** Delay before the first retry; doubled for each further one. */
export const WRITE_RETRY_DELAY_MS = 300;
/** Longest `Retry-After` a write waits for before giving up and showing the error. */
export const RETRY_AFTER_WAIT_MAX_MS = 2_000;

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** Machine code: the server's problem `code`, or `network_error` / `http_<status>`. */
    readonly code: string,
    /** Human explanation: the problem's `detail`, else its `title`, else the status text. */
    readonly detail: string,
    readonly retryAfterSeconds: number | null = null,
    readonly problem: Problem | null = null,
  ) {
    super(formatErrorMessage(code, detail, retryAfterSeconds));
  }
}

const STATUS_HINTS: Record<number, string> = {
  401: 'The API key was not accepted',
  403: 'This needs an admin account',
  404: 'Not found',
  409: 'The same request is still being processed',
  413: 'The request is too large',
  422: 'Refused',
  429: 'Too many requests',
  503: 'The server is overloaded or unavailable',
};

function formatErrorMessage(code: string, detail: string, retryAfterSeconds: number | null): string {
  const retry = retryAfterSeconds !== null ? ` Retry in ${retryAfterSeconds} s.` : '';
  const sentence = /[.!?]$/.test(detail) ? detail.slice(0, -1) : detail;
  return `${sentence} (${code}).${retry}`;
}

/** "insufficient_balance" → "Insufficient balance": for engine reject reasons shown to people. */
export function humanizeCode(code: string): string {
  const words = code.replace(/[_-]+/g, ' ').trim();
  return words === '' ? code : words.charAt(0).toUpperCase() + words.slice(1);
}

/** Readable text for any thrown value (the UI shows `describeError(e)`). */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

function parseRetryAfter(header: string | null): number | null {
  if (header === null) return null;
  const seconds = Number.parseInt(header, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

async function errorFromResponse(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
  let problem: Problem | null = null;
  const text = await response.text().catch(() => '');
  if (text !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object') problem = parsed as Problem;
    } catch {
      problem = null;
    }
  }
  const code = typeof problem?.code === 'string' && problem.code !== '' ? problem.code : `http_${response.status}`;
  const detail =
    (typeof problem?.detail === 'string' && problem.detail) ||
    (typeof problem?.title === 'string' && problem.title) ||
    STATUS_HINTS[response.status] ||
    response.statusText ||
    `HTTP ${response.status}`;
  return new ApiError(response.status, code, detail, retryAfter, problem);
}

/** 1–64 characters, unique per logical write. Works outside secure contexts too. */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  baseUrl?: string;
  /** Read on every call, so a new login takes effect at once. */
  apiKey?: () => string | null;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  writeRetriesMax?: number;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  idempotencyKey?: string;
  auth?: boolean;
}

function isRetryableWrite(error: ApiError): boolean {
  if (error.status === 0) return true;
  if (error.status === 409 && error.code === 'idempotency_in_flight') return true;
  if (error.status === 503) return true;
  if (error.status === 429) {
    return error.retryAfterSeconds !== null && error.retryAfterSeconds * 1000 <= RETRY_AFTER_WAIT_MAX_MS;
  }
  return false;
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly apiKey: () => string | null;
  private readonly writeRetriesMax: number;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.apiKey = options.apiKey ?? (() => null);
    this.writeRetriesMax = options.writeRetriesMax ?? WRITE_RETRIES_MAX;
  }

  // ---- market data and reference data (no key) ----

  instruments(): Promise<Instrument[]> {
    return this.request('GET', '/api/instruments', { auth: false });
  }

  prices(symbol: string): Promise<Ticker> {
    return this.request('GET', `/api/market-data/prices/${encodeURIComponent(symbol)}`, { auth: false });
  }

  orderBook(symbol: string, depth = 100): Promise<OrderBookSnapshot> {
    return this.request('GET', `/api/market-data/orderbook/${encodeURIComponent(symbol)}`, {
      auth: false,
      query: { depth },
    });
  }

  candles(symbol: string, interval: CandleInterval, limit = 300): Promise<Candles> {
    return this.request('GET', `/api/market-data/candles/${encodeURIComponent(symbol)}`, {
      auth: false,
      query: { interval, limit },
    });
  }

  /** Demo accounts; answers null when the server does not run with `--demo` (404). */
  async demoAccounts(): Promise<DemoAccount[] | null> {
    try {
      return await this.request<DemoAccount[]>('GET', '/api/demo/accounts', { auth: false });
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return null;
      throw error;
    }
  }

  // ---- account ----

  account(): Promise<Account> {
    return this.request('GET', '/api/account');
  }

  positions(): Promise<Positions> {
    return this.request('GET', '/api/risk/positions');
  }

  limits(): Promise<RiskLimits> {
    return this.request('GET', '/api/risk/limits');
  }

  validate(order: PlaceOrderRequest): Promise<ValidateResult> {
    return this.request('POST', '/api/risk/validate', { body: order });
  }

  // ---- orders ----

  /** Places an order. Resolves with the order also when the engine rejected it (status REJECTED). */
  placeOrder(order: PlaceOrderRequest, idempotencyKey = newIdempotencyKey()): Promise<Order> {
    return this.write('POST', '/api/orders', { body: order, idempotencyKey });
  }

  getOrder(orderId: string): Promise<Order> {
    return this.request('GET', `/api/orders/${encodeURIComponent(orderId)}`);
  }

  listOrders(
    params: { symbol?: string; status?: 'open' | 'closed' | 'all'; limit?: number; cursor?: string } = {},
  ): Promise<OrderList> {
    return this.request('GET', '/api/orders', { query: params });
  }

  cancelOrder(orderId: string, idempotencyKey = newIdempotencyKey()): Promise<Order> {
    return this.write('DELETE', `/api/orders/${encodeURIComponent(orderId)}`, { idempotencyKey });
  }

  amendOrder(orderId: string, amend: AmendOrderRequest, idempotencyKey = newIdempotencyKey()): Promise<Order> {
    return this.write('PATCH', `/api/orders/${encodeURIComponent(orderId)}`, { body: amend, idempotencyKey });
  }

  cancelAll(symbol?: string, idempotencyKey = newIdempotencyKey()): Promise<{ cancelled: Order[] }> {
    return this.write('DELETE', '/api/orders', { query: { symbol }, idempotencyKey });
  }

  executions(params: { symbol?: string; limit?: number } = {}): Promise<{ executions: Execution[] }> {
    return this.request('GET', '/api/executions', { query: params });
  }

  // ---- plumbing ----

  private async write<T>(method: Method, path: string, options: RequestOptions): Promise<T> {
    let attempt = 0;
    for (;;) {
      try {
        return await this.request<T>(method, path, options);
      } catch (error) {
        if (!(error instanceof ApiError) || attempt >= this.writeRetriesMax || !isRetryableWrite(error)) {
          throw error;
        }
        const backoff = WRITE_RETRY_DELAY_MS * 2 ** attempt;
        const delay = error.retryAfterSeconds !== null ? Math.max(backoff, error.retryAfterSeconds * 1000) : backoff;
        attempt += 1;
        await this.sleep(delay);
      }
    }
  }

  private async request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
    if (options.auth !== false) {
      const key = this.apiKey();
      if (key === null || key === '') throw new ApiError(401, 'unauthorized', 'Not signed in');
      headers.Authorization = `Bearer ${key}`;
    }
    if (options.idempotencyKey !== undefined) headers['Idempotency-Key'] = options.idempotencyKey;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method, headers, body });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ApiError(0, 'network_error', `Cannot reach the server: ${reason}`);
    }
    if (!response.ok) throw await errorFromResponse(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(
        response.status,
        'invalid_response',
        `The server sent a body that is not JSON for ${method} ${path}`,
      );
    }
  }

  private url(path: string, query?: Record<string, string | number | undefined>): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.baseUrl}${path}${search === '' ? '' : `?${search}`}`;
  }
}
