// Market data of the selected symbol: the book ladder, recent trades, the ticker and the
// candles, live from `/ws/market-data` with REST for the initial state.
//
// Book updates can arrive hundreds of times a second; the ladder is rebuilt at most once
// per animation frame. On a reconnect the book repairs itself (new snapshot); the ticker
// and candles are refetched because the messages missed meanwhile are not replayed.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { buildLadder, type Ladder, type SyncPhase } from '../lib/book';
import { CandleSeries, type ChartBar } from '../lib/candles';
import { describeError, type ApiClient } from '../services/api';
import type { CandleInterval, MarketChannel, MarketTrade, Ticker } from '../services/types';
import type { MarketDataClient } from '../services/websocket';

/** Levels per side drawn in the ladder. */
export const LADDER_DEPTH = 14;
/** Market trades kept for the Recent trades list. */
export const RECENT_TRADES_MAX = 60;
/** Bars loaded for the chart. */
export const CANDLES_LOADED = 300;

export interface MarketDataView {
  readonly ladder: Ladder | null;
  readonly bookPhase: SyncPhase | 'unsubscribed';
  readonly trades: MarketTrade[];
  readonly ticker: Ticker | null;
  readonly bars: ChartBar[];
  /** Changes when the chart must redraw from scratch (new symbol, interval or reload). */
  readonly barsEpoch: string;
  readonly error: string | null;
}

/** Calls `callback` at most once per animation frame (or 50 ms where there are no frames). */
function useFrameThrottle(callback: () => void): () => void {
  const pending = useRef(false);
  const latest = useRef(callback);
  latest.current = callback;
  useEffect(
    () => () => {
      pending.current = false;
    },
    [],
  );
  return useCallback(() => {
    if (pending.current) return;
    pending.current = true;
    const run = () => {
      if (!pending.current) return;
      pending.current = false;
      latest.current();
    };
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
    else setTimeout(run, 50);
  }, []);
}

export function useMarketData(
  client: MarketDataClient | null,
  api: ApiClient,
  symbol: string | null,
  interval: CandleInterval,
): MarketDataView {
  const [bookVersion, setBookVersion] = useState(0);
  const [trades, setTrades] = useState<MarketTrade[]>([]);
  const [ticker, setTicker] = useState<Ticker | null>(null);
  const [barsVersion, setBarsVersion] = useState(0);
  const [loadCount, setLoadCount] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const series = useRef(new CandleSeries(interval));

  const redrawBook = useFrameThrottle(() => setBookVersion((v) => v + 1));
  const redrawBars = useFrameThrottle(() => setBarsVersion((v) => v + 1));

  const loadSnapshotData = useCallback(
    (target: string, targetInterval: CandleInterval, isCurrent: () => boolean) => {
      api.prices(target).then(
        (prices) => isCurrent() && setTicker(prices),
        (e: unknown) => isCurrent() && setError(`Prices: ${describeError(e)}`),
      );
      api.candles(target, targetInterval, CANDLES_LOADED).then(
        (answer) => {
          if (!isCurrent()) return;
          series.current.load(answer.candles);
          setLoadCount((n) => n + 1);
        },
        (e: unknown) => isCurrent() && setError(`Candles: ${describeError(e)}`),
      );
    },
    [api],
  );

  // Book, trades and ticker follow the symbol.
  useEffect(() => {
    if (client === null || symbol === null) return undefined;
    setTrades([]);
    setTicker(null);
    setError(null);
    const channels: MarketChannel[] = ['book', 'trades', 'ticker'];
    const removeListener = client.addListener({
      onBook: (s) => s === symbol && redrawBook(),
      onTrades: (s, incoming) => {
        if (s !== symbol) return;
        setTrades((previous) => {
          const seen = new Set(previous.map((t) => t.tradeId));
          const fresh = incoming.filter((t) => !seen.has(t.tradeId)).reverse(); // newest first
          return [...fresh, ...previous].slice(0, RECENT_TRADES_MAX);
        });
        let moved = false;
        for (const trade of incoming) moved = series.current.applyTrade(trade) || moved;
        if (moved) redrawBars();
      },
      onTicker: (t) => t.symbol === symbol && setTicker(t),
    });
    client.subscribe(symbol, channels);
    redrawBook();
    return () => {
      removeListener();
      client.unsubscribe(symbol, channels);
    };
  }, [client, symbol, redrawBook, redrawBars]);

  // Candles follow the symbol and the interval.
  useEffect(() => {
    if (client === null || symbol === null) return undefined;
    let current = true;
    const isCurrent = () => current;
    series.current = new CandleSeries(interval);
    setLoadCount((n) => n + 1);
    const channel: MarketChannel = `candles:${interval}`;
    const removeListener = client.addListener({
      onCandle: (s, i, candle) => {
        if (s !== symbol || i !== interval) return;
        series.current.applyCandle(candle);
        redrawBars();
      },
      onReconnected: () => loadSnapshotData(symbol, interval, isCurrent),
    });
    client.subscribe(symbol, [channel]);
    loadSnapshotData(symbol, interval, isCurrent);
    return () => {
      current = false;
      removeListener();
      client.unsubscribe(symbol, [channel]);
    };
  }, [client, symbol, interval, loadSnapshotData, redrawBars]);

  const sync = symbol !== null ? client?.bookSync(symbol) : undefined;
  const book = sync?.book ?? null;
  const ladder = useMemo(
    () => (book !== null ? buildLadder(book, LADDER_DEPTH) : null),
    // The book is mutated in place; bookVersion says when it changed.
    [book, bookVersion],
  );
  // The series is mutated in place; the versions say when it changed.
  const bars = useMemo(() => series.current.chartBars(), [barsVersion, loadCount]);

  return {
    ladder,
    bookPhase: sync?.state ?? 'unsubscribed',
    trades,
    ticker,
    bars,
    barsEpoch: `${symbol ?? ''}:${interval}:${loadCount}`,
    error,
  };
}
