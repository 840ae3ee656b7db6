// Depth ladder: asks above (best ask nearest the middle), the spread, bids below. Each
// level shows its size and the cumulative size from the touch, with a bar proportional to
// the cumulative size. Clicking (or Enter on) a level puts its price into the order form.
// The ladder is one Tab stop (roving tabindex): arrow keys move between levels, Home/End
// jump to the ends, so a keyboard user does not tab through every level.

import { useRef, useState, type KeyboardEvent } from 'react';
import { formatFixed, significantDecimals, toString, dec } from '../lib/decimal';
import type { Ladder, LadderRow, SyncPhase } from '../lib/book';
import type { Instrument } from '../services/types';

interface OrderBookProps {
  ladder: Ladder | null;
  phase: SyncPhase | 'unsubscribed';
  instrument: Instrument | null;
  onPickPrice: (price: string) => void;
  /** Canonical prices where the account has resting orders, per side. */
  ownPrices: { bid: ReadonlySet<string>; ask: ReadonlySet<string> };
}

interface LevelRowProps {
  row: LadderRow;
  lotDecimals: number;
  own: boolean;
  /** The level that takes the ladder's single Tab stop. */
  tabStop: boolean;
  onPick: (price: string) => void;
  onFocusLevel: (key: string) => void;
}

const levelKey = (row: LadderRow) => `${row.side}:${toString(row.price)}`;

function LevelRow({ row, lotDecimals, own, tabStop, onPick, onFocusLevel }: LevelRowProps) {
  // Sizes are aligned on the lot's decimals (exact: a size is a multiple of the lot).
  const size = formatFixed(row.quantity, Math.max(lotDecimals, significantDecimals(row.quantity)));
  const cumulative = formatFixed(row.cumulative, Math.max(lotDecimals, significantDecimals(row.cumulative)));
  const sideName = row.side === 'bid' ? 'Bid' : 'Ask';
  return (
    <li className={`book__row book__row--${row.side}${own ? ' book__row--own' : ''}`}>
      <button
        type="button"
        className="book__level"
        data-testid="book-row"
        data-side={row.side}
        data-price={toString(row.price)}
        data-quantity={toString(row.quantity)}
        data-own={own ? 'true' : undefined}
        data-key={levelKey(row)}
        tabIndex={tabStop ? 0 : -1}
        onFocus={() => onFocusLevel(levelKey(row))}
        aria-label={`${sideName} ${row.priceText}, size ${size}, total ${cumulative}${own ? ', includes your order' : ''}. Use this price`}
        onClick={() => onPick(row.priceText)}
      >
        <span className="book__bar" aria-hidden="true" style={{ width: `${(row.depthRatio * 100).toFixed(2)}%` }} />
        <span className="book__price">
          {own && <span className="book__own" aria-hidden="true" title="Your order rests here" />}
          {row.priceText}
        </span>
        <span className="book__qty">{size}</span>
        <span className="book__cum">{cumulative}</span>
      </button>
    </li>
  );
}

export function OrderBook({ ladder, phase, instrument, onPickPrice, ownPrices }: OrderBookProps) {
  const lotDecimals = instrument !== null ? significantDecimals(dec(instrument.lotSize)) : 0;
  const tickDecimals = instrument !== null ? significantDecimals(dec(instrument.tickSize)) : 0;
  const asksTopDown = ladder !== null ? [...ladder.asks].reverse() : [];
  const body = useRef<HTMLDivElement | null>(null);
  const [focusedKey, setFocusedKey] = useState<string | null>(null);
  const keys = [...asksTopDown, ...(ladder?.bids ?? [])].map(levelKey);
  // The Tab stop: the last focused level while it exists, else the best bid (or best ask).
  const tabStopKey =
    focusedKey !== null && keys.includes(focusedKey) ? focusedKey : (keys[asksTopDown.length] ?? keys.at(-1) ?? null);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const current = keys.indexOf((document.activeElement as HTMLElement | null)?.dataset.key ?? '');
    if (current < 0) return;
    let next: number | null = null;
    if (event.key === 'ArrowUp') next = Math.max(0, current - 1);
    else if (event.key === 'ArrowDown') next = Math.min(keys.length - 1, current + 1);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = keys.length - 1;
    if (next === null) return;
    event.preventDefault();
    const key = keys[next];
    if (key !== undefined) body.current?.querySelector<HTMLButtonElement>(`[data-key="${key}"]`)?.focus();
  };

  const rowProps = (row: LadderRow) => ({
    row,
    lotDecimals,
    own: (row.side === 'bid' ? ownPrices.bid : ownPrices.ask).has(toString(row.price)),
    tabStop: levelKey(row) === tabStopKey,
    onPick: onPickPrice,
    onFocusLevel: setFocusedKey,
  });

  return (
    <section className="panel book" aria-labelledby="book-title" data-testid="order-book" data-phase={phase}>
      <header className="panel__header">
        <h2 id="book-title">Order book</h2>
        {phase === 'resyncing' && (
          <span className="badge badge--warn" role="status">
            resyncing…
          </span>
        )}
      </header>
      <div className="book__columns" aria-hidden="true">
        <span>Price{instrument !== null ? ` (${instrument.quote})` : ''}</span>
        <span>Size{instrument !== null ? ` (${instrument.base})` : ''}</span>
        <span>Total</span>
      </div>
      {ladder === null ? (
        <p className="muted book__empty">
          {phase === 'unsubscribed' ? 'Choose an instrument.' : 'Waiting for the book…'}
        </p>
      ) : (
        <div
          ref={body}
          className={`book__body${phase === 'resyncing' ? ' book__body--stale' : ''}`}
          onKeyDown={onKeyDown}
        >
          <ol className="book__side book__side--asks" aria-label="Asks (sell orders), best last">
            {asksTopDown.map((row) => (
              <LevelRow key={`a${row.priceText}`} {...rowProps(row)} />
            ))}
          </ol>
          <div className="book__spread" data-testid="book-spread">
            {ladder.spread !== null ? (
              <>
                <span>
                  Spread {formatFixed(ladder.spread, Math.max(tickDecimals, significantDecimals(ladder.spread)))}
                </span>
                {ladder.spreadBps !== null && <span className="muted"> ({toString(ladder.spreadBps)} bps)</span>}
              </>
            ) : (
              <span className="muted">
                {ladder.asks.length === 0 && ladder.bids.length === 0 ? 'Empty book' : 'One-sided book'}
              </span>
            )}
          </div>
          <ol className="book__side book__side--bids" aria-label="Bids (buy orders), best first">
            {ladder.bids.map((row) => (
              <LevelRow key={`b${row.priceText}`} {...rowProps(row)} />
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}
