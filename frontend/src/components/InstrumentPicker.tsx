// Symbol selector with the selected instrument's 24 h ticker.

import { dec, sign } from '../lib/decimal';
import type { Instrument, Ticker } from '../services/types';

interface InstrumentPickerProps {
  instruments: Instrument[];
  symbol: string | null;
  onChange: (symbol: string) => void;
  ticker: Ticker | null;
}

function changeClass(change: string | null): string {
  if (change === null) return '';
  try {
    const s = sign(dec(change));
    return s > 0 ? 'up' : s < 0 ? 'down' : '';
  } catch {
    return '';
  }
}

export function InstrumentPicker({ instruments, symbol, onChange, ticker }: InstrumentPickerProps) {
  const selected = instruments.find((i) => i.symbol === symbol);
  return (
    <div className="instrument">
      <label htmlFor="instrument-select" className="visually-hidden">
        Instrument
      </label>
      <select
        id="instrument-select"
        aria-label="Instrument"
        className="instrument__select"
        value={symbol ?? ''}
        onChange={(event) => onChange(event.target.value)}
        data-testid="instrument-select"
      >
        {symbol === null && <option value="">Choose…</option>}
        {instruments.map((instrument) => (
          <option key={instrument.symbol} value={instrument.symbol}>
            {instrument.symbol}
            {instrument.status === 'halted' ? ' (halted)' : ''}
          </option>
        ))}
      </select>
      {selected?.status === 'halted' && <span className="badge badge--warn">halted</span>}
      <dl className="ticker" aria-label={`${symbol ?? ''} ticker`} data-testid="ticker">
        <div>
          <dt>Last</dt>
          <dd data-testid="ticker-last" className={changeClass(ticker?.change24h ?? null)}>
            {ticker?.last ?? '—'}
          </dd>
        </div>
        <div>
          <dt>24h change</dt>
          <dd className={changeClass(ticker?.change24h ?? null)}>{ticker?.change24h ?? '—'}</dd>
        </div>
        <div>
          <dt>24h high</dt>
          <dd>{ticker?.high24h ?? '—'}</dd>
        </div>
        <div>
          <dt>24h low</dt>
          <dd>{ticker?.low24h ?? '—'}</dd>
        </div>
        <div>
          <dt>24h volume</dt>
          <dd>
            {ticker?.volume24h ?? '—'} {selected?.base ?? ''}
          </dd>
        </div>
      </dl>
    </div>
  );
}
