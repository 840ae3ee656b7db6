import { describe, expect, it } from 'vitest';
import { EMPTY_ORDERS, mergeExecutions, mergeOpenSnapshot, mergeOrder, openOrdersList } from './orderStore';
import type { Execution, Order, OrderStatus } from '../services/types';

function order(orderId: string, status: OrderStatus, updatedAt = '2026-11-21T22:00:00.000Z', price = '100'): Order {
  return {
    orderId,
    clientOrderId: `c-${orderId}`,
    accountId: '1',
    symbol: 'BTC-USD',
    side: 'buy',
    type: 'limit',
    timeInForce: 'GTC',
    price,
    stopPrice: null,
    quantity: '1',
    filledQuantity: '0',
    remainingQuantity: '1',
    averagePrice: null,
    status,
    rejectReason: null,
    postOnly: false,
    reduceOnly: false,
    createdAt: `2026-11-21T22:00:0${orderId.length % 10}.000Z`,
    updatedAt,
  };
}

describe('open orders', () => {
  it('adds open orders and removes final ones for good', () => {
    let state = mergeOrder(EMPTY_ORDERS, order('1', 'ACCEPTED'));
    state = mergeOrder(state, order('2', 'PARTIALLY_FILLED'));
    expect(
      openOrdersList(state)
        .map((o) => o.orderId)
        .sort(),
    ).toEqual(['1', '2']);
    state = mergeOrder(state, order('1', 'CANCELLED', '2026-11-21T22:00:01.000Z'));
    expect([...state.open.keys()]).toEqual(['2']);
    // A stale "ACCEPTED" arriving late does not resurrect it.
    state = mergeOrder(state, order('1', 'ACCEPTED'));
    expect(state.open.has('1')).toBe(false);
  });

  it('keeps the later version of an order', () => {
    let state = mergeOrder(EMPTY_ORDERS, order('1', 'ACCEPTED', '2026-11-21T22:00:05.000Z', '101'));
    state = mergeOrder(state, order('1', 'ACCEPTED', '2026-11-21T22:00:01.000Z', '100'));
    expect(state.open.get('1')?.price).toBe('101');
  });

  it('a refresh replaces the set but keeps orders learnt after it was sent', () => {
    let state = mergeOrder(EMPTY_ORDERS, order('1', 'ACCEPTED'));
    state = mergeOrder(state, order('2', 'ACCEPTED'));
    const sentAt = state.revision;
    state = mergeOrder(state, order('3', 'ACCEPTED')); // placed while the refresh was in flight
    state = mergeOrder(state, order('2', 'FILLED', '2026-11-21T22:00:09.000Z'));
    // The refresh snapshot still shows 2 open and no longer shows 1 (cancelled elsewhere).
    state = mergeOpenSnapshot(state, [order('2', 'ACCEPTED'), order('4', 'ACCEPTED')], sentAt);
    expect([...state.open.keys()].sort()).toEqual(['3', '4']);
  });
});

describe('executions', () => {
  const fill = (tradeId: string, orderId: string, time: string): Execution => ({
    tradeId,
    orderId,
    symbol: 'BTC-USD',
    side: 'buy',
    price: '100',
    quantity: '1',
    fee: '0',
    feeAsset: 'USD',
    liquidity: 'taker',
    time,
  });

  it('deduplicates by trade and order, newest first', () => {
    const merged = mergeExecutions(
      [fill('1', 'a', '2026-11-21T22:00:00Z')],
      [
        fill('2', 'a', '2026-11-21T22:00:02Z'),
        fill('1', 'a', '2026-11-21T22:00:00Z'),
        fill('1', 'b', '2026-11-21T22:00:00Z'),
      ],
    );
    expect(merged.map((e) => `${e.tradeId}/${e.orderId}`)).toEqual(['2/a', '1/a', '1/b']);
  });
});
