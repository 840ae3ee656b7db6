import { describe, expect, it, vi } from 'vitest';
import { BookSync, OrderBook, buildLadder, toSequence } from './book';
import { toString } from './decimal';
import type { BookDeltaMessage, BookLevel } from '../services/types';

function snapshot(sequence: number | string, bids: BookLevel[], asks: BookLevel[]) {
  return { symbol: 'BTC-USD', sequence, bids, asks };
}

function delta(
  prevSequence: number | string,
  sequence: number | string,
  bids: BookLevel[] = [],
  asks: BookLevel[] = [],
): BookDeltaMessage {
  return { channel: 'book', symbol: 'BTC-USD', type: 'delta', prevSequence, sequence, bids, asks };
}

const SNAPSHOT = snapshot(
  10,
  [
    ['49999.50', '0.5'],
    ['50000.00', '1.25'],
    ['49998.00', '2'],
  ],
  [
    ['50001.00', '0.75'],
    ['50002.50', '1'],
    ['50010.00', '3'],
  ],
);

describe('ladder', () => {
  it('sorts best first and accumulates sizes from the touch outward', () => {
    const ladder = buildLadder(OrderBook.fromSnapshot(SNAPSHOT), 10);
    expect(ladder.bids.map((r) => r.priceText)).toEqual(['50000.00', '49999.50', '49998.00']);
    expect(ladder.asks.map((r) => r.priceText)).toEqual(['50001.00', '50002.50', '50010.00']);
    expect(ladder.bids.map((r) => toString(r.cumulative))).toEqual(['1.25', '1.75', '3.75']);
    expect(ladder.asks.map((r) => toString(r.cumulative))).toEqual(['0.75', '1.75', '4.75']);
  });

  it('scales bars to the larger side total', () => {
    const ladder = buildLadder(OrderBook.fromSnapshot(SNAPSHOT), 10);
    // ask total 4.75 is the larger side; 1.25 / 4.75 = 0.2631…
    expect(ladder.bids[0]?.depthRatio).toBeCloseTo(0.2631, 4);
    expect(ladder.asks[2]?.depthRatio).toBe(1);
    expect(ladder.bids[2]?.depthRatio).toBeCloseTo(3.75 / 4.75, 3);
  });

  it('computes spread, mid and spread in basis points exactly', () => {
    const ladder = buildLadder(OrderBook.fromSnapshot(SNAPSHOT), 10);
    expect(toString(ladder.spread!)).toBe('1');
    expect(toString(ladder.mid!)).toBe('50000.5');
    // 1 / 50000.5 × 10000 = 0.19999… bps, cut to 2 decimals
    expect(toString(ladder.spreadBps!)).toBe('0.19');
  });

  it('limits depth and keeps cumulative over the shown levels only', () => {
    const ladder = buildLadder(OrderBook.fromSnapshot(SNAPSHOT), 2);
    expect(ladder.bids).toHaveLength(2);
    expect(toString(ladder.bids[1]!.cumulative)).toBe('1.75');
    expect(ladder.asks[1]?.depthRatio).toBe(1);
  });

  it('has no spread when a side is empty', () => {
    const ladder = buildLadder(OrderBook.fromSnapshot(snapshot(1, [['1', '1']], [])), 10);
    expect(ladder.spread).toBeNull();
    expect(ladder.spreadBps).toBeNull();
    expect(ladder.bestBid).not.toBeNull();
    expect(ladder.bestAsk).toBeNull();
  });

  it('treats "1.10" and "1.1" as one level', () => {
    const book = OrderBook.fromSnapshot(snapshot(1, [['1.10', '1']], []));
    book.applyLevels([['1.1', '2']], [], 2n);
    expect(book.bids.size).toBe(1);
    expect(toString(book.bids.quantityAt('1.100')!)).toBe('2');
  });
});

describe('deltas', () => {
  it('applies a following delta: update, add and remove (quantity "0")', () => {
    const sync = new BookSync('BTC-USD', { requestResync: vi.fn() });
    sync.onSnapshot(SNAPSHOT);
    expect(
      sync.onDelta(
        delta(
          10,
          11,
          [
            ['50000.00', '2'],
            ['49998.00', '0'],
            ['49997.00', '4'],
          ],
          [['50001.00', '0']],
        ),
      ),
    ).toBe('applied');
    const ladder = buildLadder(sync.book!, 10);
    expect(ladder.bids.map((r) => [r.priceText, r.quantityText])).toEqual([
      ['50000.00', '2'],
      ['49999.50', '0.5'],
      ['49997.00', '4'],
    ]);
    expect(ladder.asks[0]?.priceText).toBe('50002.50');
    expect(toString(ladder.spread!)).toBe('2.5');
    expect(sync.book!.sequence).toBe(11n);
  });

  it('accepts sequences as strings as well as numbers', () => {
    const sync = new BookSync('BTC-USD', { requestResync: vi.fn() });
    sync.onSnapshot(snapshot('10', [], []));
    expect(sync.onDelta(delta('10', '11', [['1', '1']]))).toBe('applied');
    expect(sync.onDelta(delta(11, 12, [['2', '1']]))).toBe('applied');
    expect(toSequence('18446744073709551615')).toBe(18446744073709551615n);
    expect(() => toSequence(-1)).toThrow(RangeError);
    expect(() => toSequence('1e3')).toThrow(RangeError);
  });

  it('drops a delta already contained in the snapshot', () => {
    const requestResync = vi.fn();
    const sync = new BookSync('BTC-USD', { requestResync });
    sync.onSnapshot(SNAPSHOT);
    expect(sync.onDelta(delta(9, 10, [['1', '1']]))).toBe('stale');
    expect(requestResync).not.toHaveBeenCalled();
    expect(sync.book!.bids.size).toBe(3);
  });

  it('detects a gap through prevSequence and requests a resync once', () => {
    const requestResync = vi.fn();
    const sync = new BookSync('BTC-USD', { requestResync });
    sync.onSnapshot(SNAPSHOT);
    expect(sync.onDelta(delta(10, 11))).toBe('applied');
    expect(sync.onDelta(delta(12, 13, [['49000', '1']]))).toBe('gap');
    expect(requestResync).toHaveBeenCalledTimes(1);
    expect(requestResync).toHaveBeenCalledWith('BTC-USD', expect.stringContaining('book is at 11'));
    expect(sync.state).toBe('resyncing');
    // While resyncing, later deltas wait and no second request is made.
    expect(sync.onDelta(delta(13, 14, [['48000', '1']]))).toBe('buffered');
    expect(requestResync).toHaveBeenCalledTimes(1);
    expect(sync.bufferedDeltas).toBe(2);
  });

  it('after deltas, requires prevSequence to equal the last sequence exactly', () => {
    const requestResync = vi.fn();
    const sync = new BookSync('BTC-USD', { requestResync });
    sync.onSnapshot(SNAPSHOT);
    sync.onDelta(delta(10, 15));
    expect(sync.onDelta(delta(12, 16))).toBe('gap');
  });

  it('after a snapshot, accepts a delta that spans its sequence (P ≤ S < Q)', () => {
    const sync = new BookSync('BTC-USD', { requestResync: vi.fn() });
    sync.onSnapshot(SNAPSHOT); // S = 10
    expect(sync.onDelta(delta(8, 12, [['1', '1']]))).toBe('applied');
  });

  it('resyncs from the REST snapshot and replays the buffered deltas that follow it', () => {
    const requestResync = vi.fn();
    const sync = new BookSync('BTC-USD', { requestResync });
    sync.onSnapshot(SNAPSHOT);
    sync.onDelta(delta(12, 13, [['1', '1']])); // gap: missed 10→12
    sync.onDelta(delta(13, 14, [['49999.50', '0']]));
    sync.onDelta(delta(14, 15, [['49990.00', '7']]));
    // The REST snapshot was taken at 14: delta 13 is in it, delta 15 follows it.
    const installed = sync.onRestSnapshot({
      symbol: 'BTC-USD',
      sequence: 14,
      bids: [
        ['50000.00', '1.25'],
        ['1', '1'],
      ],
      asks: [['50001.00', '0.75']],
    });
    expect(installed).toBe(true);
    expect(sync.state).toBe('live');
    expect(sync.book!.sequence).toBe(15n);
    expect(buildLadder(sync.book!, 10).bids.map((r) => r.priceText)).toEqual(['50000.00', '49990.00', '1']);
    expect(requestResync).toHaveBeenCalledTimes(1);
  });

  it('requests another resync when the REST snapshot is older than the buffered deltas', () => {
    const requestResync = vi.fn();
    const sync = new BookSync('BTC-USD', { requestResync });
    sync.onSnapshot(SNAPSHOT);
    sync.onDelta(delta(20, 21)); // gap
    sync.onRestSnapshot({ symbol: 'BTC-USD', sequence: 15, bids: [], asks: [] }); // lags 20
    expect(requestResync).toHaveBeenCalledTimes(2);
    expect(sync.state).toBe('resyncing');
    expect(sync.bufferedDeltas).toBe(1);
  });

  it('ignores a REST snapshot older than a live book', () => {
    const sync = new BookSync('BTC-USD', { requestResync: vi.fn() });
    sync.onSnapshot(SNAPSHOT);
    sync.onDelta(delta(10, 11, [['2', '2']]));
    expect(sync.onRestSnapshot({ symbol: 'BTC-USD', sequence: 11, bids: [], asks: [] })).toBe(false);
    expect(sync.book!.bids.size).toBe(4);
  });

  it('buffers deltas that arrive before any snapshot and asks for one', () => {
    const requestResync = vi.fn();
    const sync = new BookSync('BTC-USD', { requestResync });
    expect(sync.onDelta(delta(1, 2))).toBe('buffered');
    expect(sync.onDelta(delta(2, 3))).toBe('buffered');
    expect(requestResync).toHaveBeenCalledTimes(1);
    sync.onSnapshot(snapshot(2, [['5', '1']], []));
    expect(sync.book!.sequence).toBe(3n);
  });

  it('bounds the resync buffer', () => {
    const sync = new BookSync('BTC-USD', { requestResync: vi.fn(), bufferDeltasMax: 3 });
    sync.onSnapshot(SNAPSHOT);
    for (let i = 20; i < 30; i += 1) sync.onDelta(delta(i, i + 1));
    expect(sync.bufferedDeltas).toBe(3);
  });

  it('invalidate marks a live book stale until the next snapshot', () => {
    const sync = new BookSync('BTC-USD', { requestResync: vi.fn() });
    sync.onSnapshot(SNAPSHOT);
    sync.invalidate();
    expect(sync.state).toBe('resyncing');
    expect(sync.onDelta(delta(10, 11))).toBe('buffered');
    sync.onSnapshot(snapshot(30, [], []));
    expect(sync.state).toBe('live');
    expect(sync.book!.sequence).toBe(30n); // the buffered delta was stale
  });
});
