// Candles of one symbol and interval as the chart shows them: loaded from
// `GET …/candles`, then kept current from the WebSocket.
//
// Two live sources: `candles:<interval>` messages (the server's bar, authoritative: it
// replaces ours) and `trades` (every trade moves the current bar's close, high and low at
// once, so the chart does not wait for the next candle message). Volume is the one field
// a trade could count twice (a trade that arrives after the candle message that already
// includes it), so trades add volume only while the server has sent no candle message on
// this subscription; once it does, volume comes from candle messages alone.

import { add, cmp, dec, toNumber, toString } from './decimal';
import type { Candle, CandleInterval, MarketTrade } from '../services/types';

/** Bars kept per series; older ones are dropped (the REST load asks for fewer). */
export const CANDLES_KEPT_MAX = 2_000;

export const INTERVAL_SECONDS: Record<CandleInterval, number> = { '1m': 60, '5m': 300, '1h': 3600 };

/** A bar as the chart library wants it: epoch seconds and floats (drawing only). */
export interface ChartBar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export function epochSeconds(rfc3339: string): number {
  const ms = Date.parse(rfc3339);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${rfc3339}`);
  return Math.floor(ms / 1000);
}

export function bucketStart(rfc3339: string, interval: CandleInterval): number {
  const seconds = epochSeconds(rfc3339);
  const width = INTERVAL_SECONDS[interval];
  return seconds - (seconds % width);
}

function toChartBar(time: number, candle: Candle): ChartBar {
  return {
    time,
    open: toNumber(dec(candle.open)),
    high: toNumber(dec(candle.high)),
    low: toNumber(dec(candle.low)),
    close: toNumber(dec(candle.close)),
    volume: toNumber(dec(candle.volume)),
  };
}

export class CandleSeries {
  private readonly bars = new Map<number, Candle>();
  private serverPushesCandles = false;
  private cachedChartBars: ChartBar[] | null = null;

  constructor(readonly interval: CandleInterval) {}

  get size(): number {
    return this.bars.size;
  }

  /** Installs the REST history; live bars newer than its last one are kept. */
  load(candles: readonly Candle[]): void {
    const live = [...this.bars.entries()];
    this.bars.clear();
    let lastLoaded = -Infinity;
    for (const candle of candles) {
      const time = bucketStart(candle.time, this.interval);
      this.bars.set(time, candle);
      lastLoaded = Math.max(lastLoaded, time);
    }
    for (const [time, candle] of live) {
      if (time > lastLoaded) this.bars.set(time, candle);
    }
    this.trim();
    this.cachedChartBars = null;
  }

  /** A `candles` message: the server's bar replaces ours. */
  applyCandle(candle: Candle): void {
    this.serverPushesCandles = true;
    this.bars.set(bucketStart(candle.time, this.interval), candle);
    this.trim();
    this.cachedChartBars = null;
  }

  /** A market trade: moves the bar it falls in. Answers false for a trade older than the last bar. */
  applyTrade(trade: MarketTrade): boolean {
    const time = bucketStart(trade.time, this.interval);
    const latest = this.latestTime();
    if (latest !== null && time < latest) return false;
    const bucketTime = new Date(time * 1000).toISOString();
    const existing = this.bars.get(time);
    const price = dec(trade.price);
    if (existing === undefined) {
      this.bars.set(time, {
        time: bucketTime,
        open: trade.price,
        high: trade.price,
        low: trade.price,
        close: trade.price,
        volume: this.serverPushesCandles ? '0' : trade.quantity,
      });
    } else {
      this.bars.set(time, {
        ...existing,
        high: cmp(price, dec(existing.high)) > 0 ? trade.price : existing.high,
        low: cmp(price, dec(existing.low)) < 0 ? trade.price : existing.low,
        close: trade.price,
        volume: this.serverPushesCandles ? existing.volume : toString(add(dec(existing.volume), dec(trade.quantity))),
      });
    }
    this.trim();
    this.cachedChartBars = null;
    return true;
  }

  candle(time: number): Candle | undefined {
    return this.bars.get(time);
  }

  latestTime(): number | null {
    let latest: number | null = null;
    for (const time of this.bars.keys()) if (latest === null || time > latest) latest = time;
    return latest;
  }

  /** Oldest first, as floats for the chart. Cached until the next change. */
  chartBars(): ChartBar[] {
    if (this.cachedChartBars === null) {
      this.cachedChartBars = [...this.bars.entries()]
        .sort(([a], [b]) => a - b)
        .map(([time, candle]) => toChartBar(time, candle));
    }
    return this.cachedChartBars;
  }

  private trim(): void {
    if (this.bars.size <= CANDLES_KEPT_MAX) return;
    const times = [...this.bars.keys()].sort((a, b) => a - b);
    for (const time of times.slice(0, this.bars.size - CANDLES_KEPT_MAX)) this.bars.delete(time);
  }
}
