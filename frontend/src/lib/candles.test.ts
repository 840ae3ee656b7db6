import { describe, expect, it } from 'vitest';
import { CandleSeries, bucketStart } from './candles';
import type { Candle, MarketTrade } from '../services/types';

const candle = (time: string, close: string, volume = '1'): Candle => ({
  time,
  open: '100',
  high: close > '100' ? close : '100',
  low: '99',
  close,
  volume,
});

const trade = (time: string, price: string, quantity = '0.5'): MarketTrade => ({
  tradeId: `${time}-${price}`,
  price,
  quantity,
  takerSide: 'buy',
  time,
});

describe('CandleSeries', () => {
  it('buckets times by interval', () => {
    expect(bucketStart('2026-11-21T22:03:59.999Z', '1m')).toBe(Date.parse('2026-11-21T22:03:00Z') / 1000);
    expect(bucketStart('2026-11-21T22:07:10Z', '5m')).toBe(Date.parse('2026-11-21T22:05:00Z') / 1000);
    expect(bucketStart('2026-11-21T22:59:59Z', '1h')).toBe(Date.parse('2026-11-21T22:00:00Z') / 1000);
  });

  it('moves the current bar on trades and opens a new bar in a new bucket', () => {
    const series = new CandleSeries('1m');
    series.load([candle('2026-11-21T22:00:00Z', '100'), candle('2026-11-21T22:01:00Z', '101')]);
    expect(series.applyTrade(trade('2026-11-21T22:01:30Z', '105'))).toBe(true);
    expect(series.applyTrade(trade('2026-11-21T22:01:40Z', '98.5'))).toBe(true);
    const current = series.candle(Date.parse('2026-11-21T22:01:00Z') / 1000)!;
    expect(current).toMatchObject({ open: '100', high: '105', low: '98.5', close: '98.5', volume: '2' });

    series.applyTrade(trade('2026-11-21T22:02:05Z', '99', '0.25'));
    expect(series.chartBars().at(-1)).toEqual({
      time: Date.parse('2026-11-21T22:02:00Z') / 1000,
      open: 99,
      high: 99,
      low: 99,
      close: 99,
      volume: 0.25,
    });
    expect(series.applyTrade(trade('2026-11-21T21:59:00Z', '1'))).toBe(false); // older than the last bar
    expect(series.chartBars().map((b) => b.time)).toEqual(
      ['22:00', '22:01', '22:02'].map((t) => Date.parse(`2026-11-21T${t}:00Z`) / 1000),
    );
  });

  it('lets candle messages replace bars and then stops counting volume from trades', () => {
    const series = new CandleSeries('1m');
    series.applyCandle(candle('2026-11-21T22:00:00Z', '100', '3'));
    series.applyTrade(trade('2026-11-21T22:00:30Z', '102', '1'));
    expect(series.candle(Date.parse('2026-11-21T22:00:00Z') / 1000)).toMatchObject({
      close: '102',
      high: '102',
      volume: '3',
    });
    series.applyCandle(candle('2026-11-21T22:00:00Z', '102', '4'));
    expect(series.candle(Date.parse('2026-11-21T22:00:00Z') / 1000)?.volume).toBe('4');
  });

  it('keeps live bars newer than a late REST load', () => {
    const series = new CandleSeries('1m');
    series.applyTrade(trade('2026-11-21T22:05:10Z', '110'));
    series.load([candle('2026-11-21T22:03:00Z', '100'), candle('2026-11-21T22:04:00Z', '101')]);
    expect(series.size).toBe(3);
    expect(series.chartBars().at(-1)?.close).toBe(110);
  });
});
