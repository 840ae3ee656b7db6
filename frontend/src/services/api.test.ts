import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, describeError, humanizeCode, newIdempotencyKey, type FetchLike } from './api';
import type { PlaceOrderRequest } from './types';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers },
  });
}

function client(fetchImpl: FetchLike, key: string | null = 'k-1') {
  return new ApiClient({ fetch: fetchImpl, apiKey: () => key, sleep: async () => undefined });
}

const ORDER: PlaceOrderRequest = {
  symbol: 'BTC-USD',
  side: 'buy',
  type: 'limit',
  price: '50000',
  quantity: '0.25',
  timeInForce: 'GTC',
};

describe('requests', () => {
  it('sends the bearer key, JSON body and an idempotency key on writes', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () => json(201, { orderId: '57', status: 'ACCEPTED' }));
    const order = await client(fetchImpl).placeOrder(ORDER, 'idem-1');
    expect(order.orderId).toBe('57');
    const [url, init] = fetchImpl.mock.calls[0]!;
    expect(url).toBe('/api/orders');
    expect(init?.method).toBe('POST');
    expect(init?.headers).toMatchObject({
      Authorization: 'Bearer k-1',
      'Idempotency-Key': 'idem-1',
      'Content-Type': 'application/json',
    });
    expect(JSON.parse(String(init?.body))).toEqual(ORDER);
  });

  it('returns a rejected placement (200) as an order, not an error', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () =>
      json(200, { orderId: '58', status: 'REJECTED', rejectReason: 'insufficient_balance' }),
    );
    const order = await client(fetchImpl).placeOrder(ORDER);
    expect(order.status).toBe('REJECTED');
    expect(humanizeCode(order.rejectReason!)).toBe('Insufficient balance');
  });

  it('leaves the key off public routes and builds query strings', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () => json(200, { symbol: 'BTC-USD', interval: '5m', candles: [] }));
    await client(fetchImpl, null).candles('BTC-USD', '5m', 200);
    const [url, init] = fetchImpl.mock.calls[0]!;
    expect(url).toBe('/api/market-data/candles/BTC-USD?interval=5m&limit=200');
    expect(init?.headers).not.toHaveProperty('Authorization');
  });

  it('omits empty query parameters and encodes path segments', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () => json(200, { orders: [], nextCursor: null }));
    await client(fetchImpl).listOrders({ status: 'open', symbol: undefined, limit: 500 });
    await client(fetchImpl).getOrder('a/b');
    expect(fetchImpl.mock.calls.map((c) => c[0])).toEqual(['/api/orders?status=open&limit=500', '/api/orders/a%2Fb']);
  });

  it('refuses to call a private route without a key', async () => {
    const fetchImpl = vi.fn<FetchLike>();
    await expect(client(fetchImpl, null).account()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(fetchImpl).not.toHaveBeenCalled();
  });

  it('answers null for demo accounts when the server is not in demo mode', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () => json(404, { code: 'not_found', detail: 'no such route' }));
    expect(await client(fetchImpl).demoAccounts()).toBeNull();
  });

  it('makes idempotency keys of 32 hex characters', () => {
    const a = newIdempotencyKey();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(newIdempotencyKey()).not.toBe(a);
  });
});

describe('errors', () => {
  it('surfaces problem+json code and detail as a readable message', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () =>
      json(400, {
        type: 'https://oms.example/problems/off-tick',
        title: 'Bad request',
        status: 400,
        detail: 'price is not a multiple of the tick size 0.01',
        code: 'off_tick',
      }),
    );
    const error = await client(fetchImpl)
      .placeOrder(ORDER)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 400,
      code: 'off_tick',
      detail: 'price is not a multiple of the tick size 0.01',
    });
    expect(describeError(error)).toBe('price is not a multiple of the tick size 0.01 (off_tick).');
    expect(fetchImpl).toHaveBeenCalledTimes(1); // a 400 is final
  });

  it('falls back to the title, then to a status hint', async () => {
    const titled = vi.fn<FetchLike>(async () => json(403, { title: 'Forbidden', code: 'forbidden' }));
    await expect(client(titled).limits()).rejects.toThrow('Forbidden (forbidden).');
    const bare = vi.fn<FetchLike>(async () => new Response('<html>bad gateway</html>', { status: 401 }));
    await expect(client(bare).account()).rejects.toThrow('The API key was not accepted (http_401).');
  });

  it('reports an unreachable server', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(client(fetchImpl).instruments()).rejects.toMatchObject({
      status: 0,
      code: 'network_error',
      message: 'Cannot reach the server: Failed to fetch (network_error).',
    });
  });

  it('shows Retry-After of a rate limit', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () =>
      json(429, { code: 'rate_limited', detail: 'too many orders' }, { 'Retry-After': '30' }),
    );
    const error = await client(fetchImpl)
      .cancelOrder('1')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 30 });
    expect(describeError(error)).toBe('too many orders (rate_limited). Retry in 30 s.');
    expect(fetchImpl).toHaveBeenCalledTimes(1); // 30 s is too long to wait for on a click
  });

  it('rejects a success body that is not JSON', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () => new Response('oops', { status: 200 }));
    await expect(client(fetchImpl).instruments()).rejects.toMatchObject({ code: 'invalid_response' });
  });
});

describe('write retries', () => {
  it('retries a lost answer or an overloaded server with the same idempotency key', async () => {
    const fetchImpl = vi
      .fn<FetchLike>()
      .mockRejectedValueOnce(new TypeError('network down'))
      .mockResolvedValueOnce(json(503, { code: 'overloaded', detail: 'ring full' }))
      .mockResolvedValueOnce(json(201, { orderId: '57', status: 'ACCEPTED' }, { 'Idempotency-Replayed': 'true' }));
    const sleeps: number[] = [];
    const api = new ApiClient({ fetch: fetchImpl, apiKey: () => 'k', sleep: async (ms) => void sleeps.push(ms) });
    const order = await api.placeOrder(ORDER, 'same-key');
    expect(order.orderId).toBe('57');
    const keys = fetchImpl.mock.calls.map(([, init]) => (init?.headers as Record<string, string>)['Idempotency-Key']);
    expect(keys).toEqual(['same-key', 'same-key', 'same-key']);
    expect(sleeps).toEqual([300, 600]);
  });

  it('waits for an in-flight duplicate and a short Retry-After', async () => {
    const fetchImpl = vi
      .fn<FetchLike>()
      .mockResolvedValueOnce(json(409, { code: 'idempotency_in_flight', detail: 'first request still running' }))
      .mockResolvedValueOnce(json(429, { code: 'rate_limited', detail: 'slow down' }, { 'Retry-After': '1' }))
      .mockResolvedValueOnce(json(200, { orderId: '1', status: 'CANCELLED' }));
    const sleeps: number[] = [];
    const api = new ApiClient({ fetch: fetchImpl, apiKey: () => 'k', sleep: async (ms) => void sleeps.push(ms) });
    expect((await api.cancelOrder('1')).status).toBe('CANCELLED');
    expect(sleeps).toEqual([300, 1000]);
  });

  it('gives up after the retry budget and reports the last error', async () => {
    const fetchImpl = vi.fn<FetchLike>(async () => json(503, { code: 'unavailable', detail: 'journal failed' }));
    await expect(client(fetchImpl).amendOrder('1', { price: '1' })).rejects.toThrow('journal failed (unavailable).');
    expect(fetchImpl).toHaveBeenCalledTimes(3);
  });

  it('never retries a refusal (422) or a read', async () => {
    const refused = vi.fn<FetchLike>(async () => json(422, { code: 'order_not_open', detail: 'order is filled' }));
    await expect(client(refused).cancelOrder('1')).rejects.toMatchObject({ code: 'order_not_open' });
    expect(refused).toHaveBeenCalledTimes(1);
    const down = vi.fn<FetchLike>(async () => json(503, { code: 'overloaded' }));
    await expect(client(down).positions()).rejects.toMatchObject({ code: 'overloaded' });
    expect(down).toHaveBeenCalledTimes(1);
  });
});
