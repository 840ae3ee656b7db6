// The client's copy of one symbol's L2 book, the ladder drawn from it, and the sequence
// bookkeeping that keeps it equal to the server's.
//
// The server sends a snapshot, then deltas that each name the sequence they follow
// (`prevSequence`). A delta that does not follow the last applied sequence means one was
// missed; the copy is then wrong and is rebuilt from `GET /api/market-data/orderbook`.
// `BookSync` holds that state machine with no I/O so it can be tested directly: it asks
// for a resync through a callback and is handed the REST snapshot when it arrives.

import { add, cmp, dec, divide, isZero, sign, sub, toString, ZERO, type Decimal } from './decimal';
import type { BookDeltaMessage, BookLevel, OrderBookSnapshot, SequenceValue } from '../services/types';

/** Deltas kept while a resync is in flight; past this the oldest go (and a gap follows). */
export const RESYNC_BUFFER_DELTAS_MAX = 2_000;

interface RestingLevel {
  readonly price: Decimal;
  /** The price as the server wrote it (keeps its trailing zeros for display). */
  readonly priceText: string;
  readonly quantity: Decimal;
  readonly quantityText: string;
}

/** Reads a sequence (number or string on the wire) exactly. */
export function toSequence(value: SequenceValue | undefined | null): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad sequence ${value}`);
    return BigInt(value);
  }
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  throw new RangeError(`bad sequence ${JSON.stringify(value)}`);
}

/** One side of the book, keyed by canonical price text so "1.10" and "1.1" are one level. */
class BookSide {
  private readonly levels = new Map<string, RestingLevel>();

  constructor(private readonly descending: boolean) {}

  clear(): void {
    this.levels.clear();
  }

  /** Sets a level; quantity zero removes it. */
  apply([priceText, quantityText]: BookLevel): void {
    const price = dec(priceText);
    const quantity = dec(quantityText);
    const key = toString(price);
    if (sign(quantity) <= 0) {
      this.levels.delete(key);
    } else {
      this.levels.set(key, { price, priceText, quantity, quantityText });
    }
  }

  get size(): number {
    return this.levels.size;
  }

  /** Levels best first: highest bid, lowest ask. */
  best(depth: number): RestingLevel[] {
    const sorted = [...this.levels.values()].sort((a, b) =>
      this.descending ? cmp(b.price, a.price) : cmp(a.price, b.price),
    );
    return sorted.slice(0, depth);
  }

  quantityAt(priceText: string): Decimal | null {
    return this.levels.get(toString(dec(priceText)))?.quantity ?? null;
  }
}

export class OrderBook {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);
  sequence: bigint;

  constructor(
    readonly symbol: string,
    sequence: bigint,
  ) {
    this.sequence = sequence;
  }

  static fromSnapshot(snapshot: Pick<OrderBookSnapshot, 'symbol' | 'sequence' | 'bids' | 'asks'>): OrderBook {
    const book = new OrderBook(snapshot.symbol, toSequence(snapshot.sequence));
    for (const level of snapshot.bids) book.bids.apply(level);
    for (const level of snapshot.asks) book.asks.apply(level);
    return book;
  }

  applyLevels(bids: readonly BookLevel[], asks: readonly BookLevel[], sequence: bigint): void {
    for (const level of bids) this.bids.apply(level);
    for (const level of asks) this.asks.apply(level);
    this.sequence = sequence;
  }
}

// ---- Ladder (what the OrderBook component draws) ---------------------------------------------

export interface LadderRow {
  readonly side: 'bid' | 'ask';
  readonly priceText: string;
  readonly price: Decimal;
  readonly quantityText: string;
  readonly quantity: Decimal;
  /** Sum of this level and every better level on its side. */
  readonly cumulative: Decimal;
  /** cumulative ÷ the larger side's total over the shown depth, 0..1, for the bar width. */
  readonly depthRatio: number;
}

export interface Ladder {
  /** Best (lowest) ask first. */
  readonly asks: LadderRow[];
  /** Best (highest) bid first. */
  readonly bids: LadderRow[];
  readonly bestBid: Decimal | null;
  readonly bestAsk: Decimal | null;
  /** bestAsk − bestBid; null when a side is empty. Negative would mean a crossed book. */
  readonly spread: Decimal | null;
  /** Spread in basis points of the mid price, cut to 2 decimals. */
  readonly spreadBps: Decimal | null;
  readonly mid: Decimal | null;
}

function cumulativeRows(levels: RestingLevel[], side: 'bid' | 'ask'): Omit<LadderRow, 'depthRatio'>[] {
  let cumulative = ZERO;
  return levels.map((level) => {
    cumulative = add(cumulative, level.quantity);
    return {
      side,
      priceText: level.priceText,
      price: level.price,
      quantityText: level.quantityText,
      quantity: level.quantity,
      cumulative,
    };
  });
}

/** Bar width as a float in 0..1; display only. 4 decimals are plenty for pixels. */
function ratio(part: Decimal, whole: Decimal): number {
  if (isZero(whole)) return 0;
  return Number(toString(divide(part, whole, 4)));
}

export function buildLadder(book: OrderBook, depth: number): Ladder {
  const asks = cumulativeRows(book.asks.best(depth), 'ask');
  const bids = cumulativeRows(book.bids.best(depth), 'bid');
  const askTotal = asks.at(-1)?.cumulative ?? ZERO;
  const bidTotal = bids.at(-1)?.cumulative ?? ZERO;
  const scaleTotal = cmp(askTotal, bidTotal) >= 0 ? askTotal : bidTotal;
  const bestAsk = asks[0]?.price ?? null;
  const bestBid = bids[0]?.price ?? null;
  let spread: Decimal | null = null;
  let spreadBps: Decimal | null = null;
  let mid: Decimal | null = null;
  if (bestAsk !== null && bestBid !== null) {
    spread = sub(bestAsk, bestBid);
    mid = divide(add(bestAsk, bestBid), dec('2'), Math.max(bestAsk.scale, bestBid.scale) + 1);
    if (!isZero(mid)) spreadBps = divide(spread, divide(mid, dec('10000'), mid.scale + 4), 2);
  }
  return {
    asks: asks.map((row) => ({ ...row, depthRatio: ratio(row.cumulative, scaleTotal) })),
    bids: bids.map((row) => ({ ...row, depthRatio: ratio(row.cumulative, scaleTotal) })),
    bestBid,
    bestAsk,
    spread,
    spreadBps,
    mid,
  };
}

// ---- Sequence bookkeeping ---------------------------------------------------------------------

export type SyncPhase = 'empty' | 'live' | 'resyncing';

export type DeltaOutcome =
  /** Applied to the book. */
  | 'applied'
  /** Older than the book (already contained in the snapshot); dropped. */
  | 'stale'
  /** Does not follow the book: a resync was requested and the delta kept for after it. */
  | 'gap'
  /** A resync is in flight (or no snapshot yet); kept for after it. */
  | 'buffered';

export interface BookSyncOptions {
  /** Called once per detected gap; the owner fetches the REST snapshot and calls `onRestSnapshot`. */
  requestResync: (symbol: string, reason: string) => void;
  bufferDeltasMax?: number;
}

/**
 * Per-symbol sequence state machine.
 *
 * A delta (P = prevSequence, Q = sequence) changes the book from its state at P to its state
 * at Q, and says nothing changed on this book in between. So it applies to a copy at
 * sequence S when P ≤ S < Q. While following deltas, S is the last delta's Q and the rule is
 * the contract's strict one (P = S); right after a snapshot S may be any sequence at which
 * the server took it (a REST snapshot can be taken between two book changes, or come from a
 * cache), hence the range. A delta with P > S means a missed change: resync.
 */
export class BookSync {
  private phase: SyncPhase = 'empty';
  private current: OrderBook | null = null;
  /** True until the first delta after a snapshot: the range rule applies, not equality. */
  private atSnapshot = false;
  private pending: BookDeltaMessage[] = [];
  private emptyResyncRequested = false;
  private readonly bufferDeltasMax: number;

  constructor(
    readonly symbol: string,
    private readonly options: BookSyncOptions,
  ) {
    this.bufferDeltasMax = options.bufferDeltasMax ?? RESYNC_BUFFER_DELTAS_MAX;
  }

  get state(): SyncPhase {
    return this.phase;
  }

  get book(): OrderBook | null {
    return this.current;
  }

  /** Deltas waiting for a snapshot. */
  get bufferedDeltas(): number {
    return this.pending.length;
  }

  /** A WebSocket snapshot (sent first after every subscribe) replaces the copy. */
  onSnapshot(snapshot: Pick<OrderBookSnapshot, 'symbol' | 'sequence' | 'bids' | 'asks'>): void {
    this.install(OrderBook.fromSnapshot(snapshot));
  }

  /**
   * The REST snapshot asked for by `requestResync`. Ignored when the copy is live and newer
   * (a WebSocket snapshot arrived meanwhile). Answers whether it was installed.
   */
  onRestSnapshot(snapshot: OrderBookSnapshot): boolean {
    const incoming = toSequence(snapshot.sequence);
    if (this.phase === 'live' && this.current !== null && this.current.sequence >= incoming) {
      return false;
    }
    this.install(OrderBook.fromSnapshot(snapshot));
    return true;
  }

  /** Marks the copy stale until the next snapshot (e.g. the socket reconnected). */
  invalidate(): void {
    if (this.phase === 'live') this.phase = 'resyncing';
    this.pending = [];
  }

  onDelta(delta: BookDeltaMessage): DeltaOutcome {
    if (this.phase !== 'live' || this.current === null) {
      this.buffer(delta);
      // The server sends a snapshot before any delta; a delta with no copy at all means the
      // snapshot was lost, so fetch one instead of waiting for it forever.
      if (this.phase === 'empty' && !this.emptyResyncRequested) {
        this.emptyResyncRequested = true;
        this.options.requestResync(this.symbol, 'delta before any snapshot');
      }
      return 'buffered';
    }
    return this.applyOrDetectGap(delta);
  }

  private applyOrDetectGap(delta: BookDeltaMessage): DeltaOutcome {
    const book = this.current;
    if (book === null) throw new Error('applyOrDetectGap without a book');
    const previous = toSequence(delta.prevSequence);
    const sequence = toSequence(delta.sequence);
    if (sequence <= book.sequence) return 'stale';
    const follows = this.atSnapshot ? previous <= book.sequence : previous === book.sequence;
    if (!follows) {
      this.phase = 'resyncing';
      this.pending = [];
      this.buffer(delta);
      this.options.requestResync(this.symbol, `delta ${sequence} follows ${previous}, book is at ${book.sequence}`);
      return 'gap';
    }
    book.applyLevels(delta.bids, delta.asks, sequence);
    this.atSnapshot = false;
    return 'applied';
  }

  private install(book: OrderBook): void {
    this.current = book;
    this.phase = 'live';
    this.atSnapshot = true;
    const replay = this.pending;
    this.pending = [];
    for (const delta of replay) {
      // A gap while replaying requests another resync and keeps the rest for it.
      if (this.phase !== 'live') {
        this.buffer(delta);
        continue;
      }
      this.applyOrDetectGap(delta);
    }
  }

  private buffer(delta: BookDeltaMessage): void {
    this.pending.push(delta);
    if (this.pending.length > this.bufferDeltasMax) this.pending.shift();
  }
}
