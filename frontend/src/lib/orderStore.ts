// The dashboard's list of own open orders, merged from three sources that race each other:
// the answers to our own actions, `/ws/orders` updates, and `GET /api/orders?status=open`
// refreshes (after each action and after a reconnect).
//
// Rules (pure, immutable, so React sees a new object on every change):
// * An order that reached a final status never comes back: a refresh that started before
//   the cancel and answers after it must not resurrect the order.
// * Between two versions of the same order the later `updatedAt` wins (server clock on both).
// * A refresh is a snapshot taken when it was sent. An open order missing from it is dropped
//   unless we learnt about it after the refresh was sent (it may be newer than the snapshot).
// Executions are deduplicated by trade id, newest first, and bounded.

import { isOpenStatus, type Execution, type Order } from '../services/types';

/** Fills kept in memory for the history table. */
export const EXECUTIONS_KEPT_MAX = 500;
/** Final order ids remembered to refuse resurrection; older ones are forgotten first. */
export const CLOSED_IDS_KEPT_MAX = 5_000;

export interface OrdersState {
  /** Open orders by id. */
  readonly open: ReadonlyMap<string, Order>;
  /** When (in `revision` units) each open order was last learnt. */
  readonly learntAt: ReadonlyMap<string, number>;
  readonly closedIds: ReadonlySet<string>;
  /** Increases with every merge; a refresh records it when sent. */
  readonly revision: number;
}

export const EMPTY_ORDERS: OrdersState = {
  open: new Map(),
  learntAt: new Map(),
  closedIds: new Set(),
  revision: 0,
};

function time(order: Order): number {
  const ms = Date.parse(order.updatedAt);
  return Number.isNaN(ms) ? 0 : ms;
}

function rememberClosed(closedIds: ReadonlySet<string>, orderId: string): Set<string> {
  const next = new Set(closedIds);
  next.add(orderId);
  if (next.size > CLOSED_IDS_KEPT_MAX) {
    const oldest = next.values().next().value;
    if (oldest !== undefined) next.delete(oldest);
  }
  return next;
}

/** One order update (action answer or WebSocket message). */
export function mergeOrder(state: OrdersState, order: Order): OrdersState {
  const revision = state.revision + 1;
  if (state.closedIds.has(order.orderId)) return { ...state, revision };
  const current = state.open.get(order.orderId);
  if (current !== undefined && time(current) > time(order)) return { ...state, revision };
  const open = new Map(state.open);
  const learntAt = new Map(state.learntAt);
  if (isOpenStatus(order.status)) {
    open.set(order.orderId, order);
    learntAt.set(order.orderId, revision);
    return { open, learntAt, closedIds: state.closedIds, revision };
  }
  open.delete(order.orderId);
  learntAt.delete(order.orderId);
  return { open, learntAt, closedIds: rememberClosed(state.closedIds, order.orderId), revision };
}

/** The answer of `GET /api/orders?status=open` sent at `sentAtRevision`. */
export function mergeOpenSnapshot(state: OrdersState, orders: readonly Order[], sentAtRevision: number): OrdersState {
  const revision = state.revision + 1;
  const open = new Map<string, Order>();
  const learntAt = new Map<string, number>();
  for (const order of orders) {
    if (state.closedIds.has(order.orderId) || !isOpenStatus(order.status)) continue;
    const current = state.open.get(order.orderId);
    const keepCurrent = current !== undefined && time(current) > time(order);
    open.set(order.orderId, keepCurrent ? current : order);
    learntAt.set(order.orderId, keepCurrent ? (state.learntAt.get(order.orderId) ?? revision) : revision);
  }
  for (const [orderId, order] of state.open) {
    const learnt = state.learntAt.get(orderId) ?? 0;
    if (!open.has(orderId) && learnt > sentAtRevision) {
      open.set(orderId, order);
      learntAt.set(orderId, learnt);
    }
  }
  return { open, learntAt, closedIds: state.closedIds, revision };
}

/** Open orders newest first. */
export function openOrdersList(state: OrdersState): Order[] {
  return [...state.open.values()].sort((a, b) => {
    const byCreated = b.createdAt.localeCompare(a.createdAt);
    return byCreated !== 0 ? byCreated : b.orderId.localeCompare(a.orderId, undefined, { numeric: true });
  });
}

/** Adds fills (from the stream or a refresh), newest first, without duplicates. */
export function mergeExecutions(current: readonly Execution[], incoming: readonly Execution[]): Execution[] {
  const byTrade = new Map<string, Execution>();
  for (const execution of [...incoming, ...current]) {
    const key = `${execution.tradeId}/${execution.orderId}`;
    if (!byTrade.has(key)) byTrade.set(key, execution);
  }
  return [...byTrade.values()]
    .sort((a, b) => {
      const byTime = Date.parse(b.time) - Date.parse(a.time);
      return byTime !== 0 ? byTime : b.tradeId.localeCompare(a.tradeId, undefined, { numeric: true });
    })
    .slice(0, EXECUTIONS_KEPT_MAX);
}
