// Own orders, fills, balances and positions, kept current from `/ws/orders` and refreshed
// over REST after every action (place, cancel, amend, cancel all) and after the stream
// reconnects, since the stream does not replay what was missed. Merging rules live in
// lib/orderStore.ts.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  EMPTY_ORDERS,
  mergeExecutions,
  mergeOpenSnapshot,
  mergeOrder,
  openOrdersList,
  type OrdersState,
} from '../lib/orderStore';
import { describeError, type ApiClient } from '../services/api';
import type { AmendOrderRequest, Execution, Order, PlaceOrderRequest, Positions } from '../services/types';
import type { OrdersClient } from '../services/websocket';

/** Open orders fetched per refresh (the contract's page maximum). */
export const OPEN_ORDERS_PAGE = 500;
/** Fills fetched per refresh. */
export const EXECUTIONS_PAGE = 100;
/** Positions are refetched at most this often while fills stream in. */
export const POSITIONS_REFRESH_MS = 300;

export interface OrdersView {
  readonly openOrders: Order[];
  readonly executions: Execution[];
  readonly positions: Positions | null;
  readonly error: string | null;
  readonly loaded: boolean;
  place(request: PlaceOrderRequest): Promise<Order>;
  cancel(orderId: string): Promise<Order>;
  amend(orderId: string, amend: AmendOrderRequest): Promise<Order>;
  cancelAll(symbol?: string): Promise<Order[]>;
  refresh(): Promise<void>;
}

export function useOrders(api: ApiClient, stream: OrdersClient | null): OrdersView {
  const [orders, setOrders] = useState<OrdersState>(EMPTY_ORDERS);
  const ordersRef = useRef(orders);
  ordersRef.current = orders;
  const [executions, setExecutions] = useState<Execution[]>([]);
  const [positions, setPositions] = useState<Positions | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const positionsTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      if (positionsTimer.current !== null) clearTimeout(positionsTimer.current);
    };
  }, []);

  const applyOrder = useCallback((order: Order) => {
    setOrders((state) => mergeOrder(state, order));
  }, []);

  const refreshPositions = useCallback(async () => {
    try {
      const answer = await api.positions();
      if (mounted.current) setPositions(answer);
    } catch (e) {
      if (mounted.current) setError(`Positions: ${describeError(e)}`);
    }
  }, [api]);

  const schedulePositions = useCallback(() => {
    if (positionsTimer.current !== null) return;
    positionsTimer.current = setTimeout(() => {
      positionsTimer.current = null;
      void refreshPositions();
    }, POSITIONS_REFRESH_MS);
  }, [refreshPositions]);

  const refresh = useCallback(async () => {
    const sentAt = ordersRef.current.revision;
    const results = await Promise.allSettled([
      api.listOrders({ status: 'open', limit: OPEN_ORDERS_PAGE }),
      api.executions({ limit: EXECUTIONS_PAGE }),
      api.positions(),
    ]);
    if (!mounted.current) return;
    const [openAnswer, executionsAnswer, positionsAnswer] = results;
    const failures: string[] = [];
    if (openAnswer.status === 'fulfilled') {
      setOrders((state) => mergeOpenSnapshot(state, openAnswer.value.orders, sentAt));
    } else failures.push(`Open orders: ${describeError(openAnswer.reason)}`);
    if (executionsAnswer.status === 'fulfilled') {
      setExecutions((current) => mergeExecutions(current, executionsAnswer.value.executions));
    } else failures.push(`Trade history: ${describeError(executionsAnswer.reason)}`);
    if (positionsAnswer.status === 'fulfilled') setPositions(positionsAnswer.value);
    else failures.push(`Positions: ${describeError(positionsAnswer.reason)}`);
    setError(failures.length > 0 ? failures.join(' · ') : null);
    setLoaded(true);
  }, [api]);

  // Initial load, then the stream.
  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    if (stream === null) return undefined;
    return stream.addListener({
      onOrder: (order) => {
        applyOrder(order);
        schedulePositions();
      },
      onFill: (execution) => {
        setExecutions((current) => mergeExecutions(current, [execution]));
        schedulePositions();
      },
      // Updates sent while the stream was down (or before its first open, after the initial
      // load) are not replayed: fetch the state again on every open.
      onOpen: () => void refresh(),
    });
  }, [stream, applyOrder, schedulePositions, refresh]);

  const afterAction = useCallback(
    (order: Order | null) => {
      if (order !== null) applyOrder(order);
      if (order?.fills !== undefined && order.fills.length > 0) {
        const fills = order.fills;
        setExecutions((current) =>
          mergeExecutions(
            current,
            fills.map((fill) => ({ ...fill, orderId: order.orderId, symbol: order.symbol, side: order.side })),
          ),
        );
      }
      void refresh();
    },
    [applyOrder, refresh],
  );

  const place = useCallback(
    async (request: PlaceOrderRequest) => {
      const order = await api.placeOrder(request);
      afterAction(order);
      return order;
    },
    [api, afterAction],
  );

  const cancel = useCallback(
    async (orderId: string) => {
      try {
        const order = await api.cancelOrder(orderId);
        afterAction(order);
        return order;
      } catch (e) {
        void refresh(); // e.g. it filled meanwhile: show its real state
        throw e;
      }
    },
    [api, afterAction, refresh],
  );

  const amend = useCallback(
    async (orderId: string, body: AmendOrderRequest) => {
      try {
        const order = await api.amendOrder(orderId, body);
        afterAction(order);
        return order;
      } catch (e) {
        void refresh();
        throw e;
      }
    },
    [api, afterAction, refresh],
  );

  const cancelAll = useCallback(
    async (symbol?: string) => {
      const answer = await api.cancelAll(symbol);
      for (const order of answer.cancelled) applyOrder(order);
      void refresh();
      return answer.cancelled;
    },
    [api, applyOrder, refresh],
  );

  const openOrders = useMemo(() => openOrdersList(orders), [orders]);

  return { openOrders, executions, positions, error, loaded, place, cancel, amend, cancelAll, refresh };
}
