// Candles and volume with TradingView's lightweight-charts, updated live.
//
// The chart is redrawn from scratch (`setData`) when `epoch` changes (new symbol, interval
// or a reload after a reconnect); otherwise only the bars that changed at the end are
// passed to `update`, which is what the library is fast at. Prices become floats here and
// only here: the chart draws pixels, nothing flows back into an order.

import { useEffect, useRef } from 'react';
import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { ChartBar } from '../lib/candles';
import { CANDLE_INTERVALS, type CandleInterval } from '../services/types';

interface CandleChartProps {
  symbol: string | null;
  bars: ChartBar[];
  epoch: string;
  interval: CandleInterval;
  onInterval: (interval: CandleInterval) => void;
  /** Digits after the decimal point of the price axis (from the tick size). */
  priceDecimals: number;
  tickSize: number;
}

const UP = '#26a69a';
const DOWN = '#ef5350';

interface ChartParts {
  chart: IChartApi;
  candles: ISeriesApi<'Candlestick'>;
  volume: ISeriesApi<'Histogram'>;
}

function toCandle(bar: ChartBar) {
  return { time: bar.time as UTCTimestamp, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
}

function toVolume(bar: ChartBar) {
  return {
    time: bar.time as UTCTimestamp,
    value: bar.volume,
    color: bar.close >= bar.open ? 'rgba(38, 166, 154, 0.45)' : 'rgba(239, 83, 80, 0.45)',
  };
}

export function CandleChart({ symbol, bars, epoch, interval, onInterval, priceDecimals, tickSize }: CandleChartProps) {
  const container = useRef<HTMLDivElement | null>(null);
  const parts = useRef<ChartParts | null>(null);
  const drawn = useRef<{ epoch: string; bars: ChartBar[] }>({ epoch: '', bars: [] });

  useEffect(() => {
    const element = container.current;
    if (element === null) return undefined;
    const chart = createChart(element, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: 'transparent' },
        textColor: '#9aa4b2',
        fontFamily: 'inherit',
        attributionLogo: true,
      },
      grid: { vertLines: { color: '#1f2630' }, horzLines: { color: '#1f2630' } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderColor: '#2a3340' },
      timeScale: { borderColor: '#2a3340', timeVisible: true, secondsVisible: false },
    });
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    const volume = chart.addSeries(HistogramSeries, {
      priceFormat: { type: 'volume' },
      priceScaleId: 'volume',
      lastValueVisible: false,
      priceLineVisible: false,
    });
    chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
    // The library's attribution link (its license asks for it) has no text of its own.
    element.querySelector('a')?.setAttribute('aria-label', 'Charts by TradingView (opens their site)');
    parts.current = { chart, candles, volume };
    drawn.current = { epoch: '', bars: [] };
    return () => {
      parts.current = null;
      chart.remove();
    };
  }, []);

  useEffect(() => {
    parts.current?.candles.applyOptions({
      priceFormat: { type: 'price', precision: priceDecimals, minMove: tickSize > 0 ? tickSize : 0.01 },
    });
  }, [priceDecimals, tickSize]);

  useEffect(() => {
    const current = parts.current;
    if (current === null) return;
    const previous = drawn.current;
    // Index of the first bar that differs from what is drawn (bars are immutable objects).
    let first = 0;
    while (first < bars.length && first < previous.bars.length && bars[first] === previous.bars[first]) first += 1;
    const onlyTail =
      previous.epoch === epoch &&
      previous.bars.length > 0 &&
      first >= previous.bars.length - 1 &&
      bars.length >= previous.bars.length;
    if (onlyTail) {
      for (const bar of bars.slice(first)) {
        current.candles.update(toCandle(bar));
        current.volume.update(toVolume(bar));
      }
    } else {
      current.candles.setData(bars.map(toCandle));
      current.volume.setData(bars.map(toVolume));
      if (previous.epoch !== epoch) current.chart.timeScale().scrollToRealTime();
    }
    drawn.current = { epoch, bars };
  }, [bars, epoch]);

  return (
    <section className="panel chart" aria-labelledby="chart-title">
      <header className="panel__header">
        <h2 id="chart-title">{symbol ?? 'Chart'}</h2>
        <div role="group" aria-label="Candle interval" className="intervals">
          {CANDLE_INTERVALS.map((value) => (
            <button
              key={value}
              type="button"
              aria-pressed={value === interval}
              className={`button button--small${value === interval ? ' button--active' : ''}`}
              onClick={() => onInterval(value)}
              data-testid={`interval-${value}`}
            >
              {value}
            </button>
          ))}
        </div>
      </header>
      <div
        ref={container}
        className="chart__canvas"
        role="img"
        aria-label={`${symbol ?? ''} ${interval} candles with volume, ${bars.length} bars`}
        data-testid="candle-chart"
        data-bars={bars.length}
      />
    </section>
  );
}
