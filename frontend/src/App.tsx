// The dashboard: sign-in, then one screen with the book, chart, order entry, recent
// trades and the account's orders, fills, balances and positions — all live over
// `/ws/market-data` and `/ws/orders`, with REST for initial state and after each action.

import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { AccountBar } from './components/AccountBar';
import { ConnectionStatus } from './components/ConnectionStatus';
import { InstrumentPicker } from './components/InstrumentPicker';
import { Login } from './components/Login';
import { OpenOrders } from './components/OpenOrders';
import { OrderBook } from './components/OrderBook';
import { PanelBoundary } from './components/PanelBoundary';
import { PositionTable } from './components/PositionTable';
import { RecentTrades } from './components/RecentTrades';
import { Tabs } from './components/Tabs';
import { TradeForm } from './components/TradeForm';
import { TradeHistory } from './components/TradeHistory';
import { useMarketData } from './hooks/useMarketData';
import { useOrders } from './hooks/useOrders';
import { useWebSocket } from './hooks/useWebSocket';
import { dec, significantDecimals, toNumber, toString, tryDec } from './lib/decimal';
import type { MarketContext } from './lib/orderForm';
import { ApiClient, ApiError, describeError } from './services/api';
import type { Account, CandleInterval, Instrument } from './services/types';
import {
  MarketDataClient,
  OrdersClient,
  browserSocketFactory,
  ordersStreamPath,
  sameOriginWsUrl,
} from './services/websocket';

// The chart library is the largest dependency; load it after the first paint.
const CandleChart = lazy(() => import('./components/CandleChart').then((m) => ({ default: m.CandleChart })));

const API_KEY_STORAGE = 'oms.apiKey';
const SYMBOL_STORAGE = 'oms.symbol';

function readSession(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null; // storage disabled: the user signs in again on reload
  }
}

function writeSession(key: string, value: string | null): void {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // storage disabled: nothing to keep
  }
}

export function App() {
  const [apiKey, setApiKey] = useState<string | null>(() => readSession(API_KEY_STORAGE));
  const [account, setAccount] = useState<Account | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = useCallback((key: string, signedIn: Account) => {
    writeSession(API_KEY_STORAGE, key);
    setAccount(signedIn);
    setNotice(null);
    setApiKey(key);
  }, []);

  const signOut = useCallback((reason: string | null = null) => {
    writeSession(API_KEY_STORAGE, null);
    setAccount(null);
    setNotice(reason);
    setApiKey(null);
  }, []);

  if (apiKey === null) return <Login onLogin={signIn} notice={notice} />;
  return <Dashboard key={apiKey} apiKey={apiKey} initialAccount={account} onSignOut={signOut} />;
}

interface DashboardProps {
  apiKey: string;
  initialAccount: Account | null;
  onSignOut: (reason?: string | null) => void;
}

type BottomTab = 'open' | 'history' | 'positions';

function Dashboard({ apiKey, initialAccount, onSignOut }: DashboardProps) {
  const api = useMemo(() => new ApiClient({ apiKey: () => apiKey }), [apiKey]);
  const [account, setAccount] = useState<Account | null>(initialAccount);
  const [instruments, setInstruments] = useState<Instrument[]>([]);
  const [symbol, setSymbol] = useState<string | null>(() => readSession(SYMBOL_STORAGE));
  const [interval, setCandleInterval] = useState<CandleInterval>('1m');
  const [tab, setTab] = useState<BottomTab>('open');
  const [pickedPrice, setPickedPrice] = useState<{ price: string; nonce: number } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  // The stored key may have been revoked since: check it, and leave on 401.
  useEffect(() => {
    let current = true;
    api.account().then(
      (answer) => current && setAccount(answer),
      (e: unknown) => {
        if (!current) return;
        if (e instanceof ApiError && e.status === 401) onSignOut('Your API key is no longer accepted. Sign in again.');
        else setLoadError(`Account: ${describeError(e)}`);
      },
    );
    return () => {
      current = false;
    };
  }, [api, onSignOut]);

  useEffect(() => {
    let current = true;
    api.instruments().then(
      (list) => {
        if (!current) return;
        setInstruments(list);
        setSymbol((chosen) => {
          if (chosen !== null && list.some((i) => i.symbol === chosen)) return chosen;
          return (list.find((i) => i.status === 'trading') ?? list[0])?.symbol ?? null;
        });
      },
      (e: unknown) => current && setLoadError(`Instruments: ${describeError(e)}`),
    );
    return () => {
      current = false;
    };
  }, [api]);

  useEffect(() => {
    if (symbol !== null) writeSession(SYMBOL_STORAGE, symbol);
  }, [symbol]);

  const market = useWebSocket(
    () =>
      new MarketDataClient({
        url: () => sameOriginWsUrl('/ws/market-data'),
        createSocket: browserSocketFactory,
        fetchOrderBook: (s) => api.orderBook(s, 500),
      }),
    [api],
  );
  const ordersStream = useWebSocket(
    () =>
      new OrdersClient({
        url: () => sameOriginWsUrl(ordersStreamPath(apiKey)),
        createSocket: browserSocketFactory,
      }),
    [apiKey],
  );

  const data = useMarketData(market.client, api, symbol, interval);
  const orders = useOrders(api, ordersStream.client);

  const instrumentMap = useMemo(() => new Map(instruments.map((i) => [i.symbol, i])), [instruments]);
  const instrument = symbol !== null ? (instrumentMap.get(symbol) ?? null) : null;
  const balances = useMemo(() => orders.positions?.balances ?? [], [orders.positions]);

  const bestBidText = data.ladder?.bids[0]?.priceText ?? data.ticker?.bestBid ?? null;
  const bestAskText = data.ladder?.asks[0]?.priceText ?? data.ticker?.bestAsk ?? null;
  const lastText = data.trades[0]?.price ?? data.ticker?.last ?? null;
  const marketContext = useMemo<MarketContext>(
    () => ({ bestBid: tryDec(bestBidText), bestAsk: tryDec(bestAskText), last: tryDec(lastText) }),
    [bestBidText, bestAskText, lastText],
  );
  const lastPrices = useMemo(
    () => new Map(symbol !== null && lastText !== null ? [[symbol, lastText]] : []),
    [symbol, lastText],
  );

  // Levels where this account's orders rest (untriggered stops are not in the book).
  const ownPrices = useMemo(() => {
    const bid = new Set<string>();
    const ask = new Set<string>();
    for (const order of orders.openOrders) {
      if (order.symbol !== symbol || order.price === null) continue;
      if ((order.type === 'stop' || order.type === 'stopLimit') && order.status === 'ACCEPTED') continue;
      const price = tryDec(order.price);
      if (price !== null) (order.side === 'buy' ? bid : ask).add(toString(price));
    }
    return { bid, ask };
  }, [orders.openOrders, symbol]);

  const onPickPrice = useCallback(
    (price: string) => setPickedPrice((p) => ({ price, nonce: (p?.nonce ?? 0) + 1 })),
    [],
  );
  const tickSize = instrument !== null ? dec(instrument.tickSize) : null;

  return (
    <div className="app">
      <a href="#order-entry" className="skip-link">
        Skip to order entry
      </a>
      <AccountBar
        account={account}
        onSignOut={() => onSignOut(null)}
        status={
          <>
            <ConnectionStatus
              label="Market data"
              id="market"
              state={market.state}
              onReconnectNow={() => market.client?.reconnectNow()}
            />
            <ConnectionStatus
              label="Orders"
              id="orders"
              state={ordersStream.state}
              onReconnectNow={() => ordersStream.client?.reconnectNow()}
            />
          </>
        }
      >
        <InstrumentPicker instruments={instruments} symbol={symbol} onChange={setSymbol} ticker={data.ticker} />
      </AccountBar>

      {(loadError ?? data.error ?? orders.error) !== null && (
        <div className="banner" role="alert" data-testid="error-banner">
          {[loadError, data.error, orders.error].filter(Boolean).join(' · ')}
        </div>
      )}

      <main className="layout">
        <div className="layout__book">
          <PanelBoundary name="Order book">
            <OrderBook
              ladder={data.ladder}
              phase={data.bookPhase}
              instrument={instrument}
              onPickPrice={onPickPrice}
              ownPrices={ownPrices}
            />
          </PanelBoundary>
        </div>
        <div className="layout__chart">
          <PanelBoundary name="Chart">
            <Suspense fallback={<section className="panel chart" aria-busy="true" />}>
              <CandleChart
                symbol={symbol}
                bars={data.bars}
                epoch={data.barsEpoch}
                interval={interval}
                onInterval={setCandleInterval}
                priceDecimals={tickSize !== null ? significantDecimals(tickSize) : 2}
                tickSize={tickSize !== null ? toNumber(tickSize) : 0.01}
              />
            </Suspense>
          </PanelBoundary>
        </div>
        <div className="layout__form" id="order-entry">
          <PanelBoundary name="Place order">
            <TradeForm
              instrument={instrument}
              balances={balances}
              market={marketContext}
              pickedPrice={pickedPrice}
              onPlace={orders.place}
              onCheck={(request) => api.validate(request)}
            />
          </PanelBoundary>
        </div>
        <div className="layout__trades">
          <PanelBoundary name="Recent trades">
            <RecentTrades trades={data.trades} />
          </PanelBoundary>
        </div>
        <section className="layout__account panel" aria-label="Account activity">
          <PanelBoundary name="Account activity">
            <Tabs<BottomTab>
              label="Account activity"
              active={tab}
              onChange={setTab}
              items={[
                {
                  key: 'open',
                  label: 'Open orders',
                  badge: orders.openOrders.length,
                  content: (
                    <OpenOrders
                      orders={orders.openOrders}
                      instruments={instrumentMap}
                      onCancel={orders.cancel}
                      onAmend={orders.amend}
                      onCancelAll={() => orders.cancelAll()}
                    />
                  ),
                },
                {
                  key: 'history',
                  label: 'Trade history',
                  badge: orders.executions.length,
                  content: <TradeHistory executions={orders.executions} />,
                },
                {
                  key: 'positions',
                  label: 'Positions',
                  content: (
                    <PositionTable positions={orders.positions} instruments={instrumentMap} lastPrices={lastPrices} />
                  ),
                },
              ]}
            />
          </PanelBoundary>
        </section>
      </main>
    </div>
  );
}
