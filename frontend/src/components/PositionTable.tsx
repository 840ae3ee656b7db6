// Balances and positions from `/api/risk/positions`. Unrealized PnL is shown for symbols
// whose last price the dashboard knows (the selected one), computed exactly.

import { dec, formatFixed, mul, significantDecimals, sub, tryDec, add, sign } from '../lib/decimal';
import type { Instrument, Positions } from '../services/types';

interface PositionTableProps {
  positions: Positions | null;
  instruments: ReadonlyMap<string, Instrument>;
  /** Last trade price per symbol, where known. */
  lastPrices: ReadonlyMap<string, string>;
}

function pnlClass(value: string | null): string {
  const parsed = tryDec(value);
  if (parsed === null) return '';
  return sign(parsed) > 0 ? 'up' : sign(parsed) < 0 ? 'down' : '';
}

export function PositionTable({ positions, instruments, lastPrices }: PositionTableProps) {
  if (positions === null) return <p className="muted">Loading…</p>;
  return (
    <div className="positions">
      <div className="table-scroll">
        <table className="table" aria-label="Balances">
          <caption>Balances</caption>
          <thead>
            <tr>
              <th scope="col">Asset</th>
              <th scope="col">Available</th>
              <th scope="col">Reserved</th>
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {positions.balances.map((balance) => (
              <tr
                key={balance.asset}
                data-testid="balance-row"
                data-asset={balance.asset}
                data-available={balance.available}
              >
                <th scope="row">{balance.asset}</th>
                <td>{balance.available}</td>
                <td>{balance.reserved}</td>
                <td>{formatTotal(balance.available, balance.reserved)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-scroll">
        <table className="table" aria-label="Positions">
          <caption>Positions</caption>
          <thead>
            <tr>
              <th scope="col">Symbol</th>
              <th scope="col">Quantity</th>
              <th scope="col">Avg price</th>
              <th scope="col">Realized PnL</th>
              <th scope="col">Unrealized PnL</th>
              <th scope="col">Working buy</th>
              <th scope="col">Working sell</th>
            </tr>
          </thead>
          <tbody>
            {positions.positions.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  No positions.
                </td>
              </tr>
            )}
            {positions.positions.map((position) => {
              const unrealized = unrealizedPnl(
                position.quantity,
                position.averagePrice,
                lastPrices.get(position.symbol) ?? null,
                instruments.get(position.symbol),
              );
              return (
                <tr
                  key={position.symbol}
                  data-testid="position-row"
                  data-symbol={position.symbol}
                  data-quantity={position.quantity}
                >
                  <th scope="row">{position.symbol}</th>
                  <td className={pnlClass(position.quantity)}>{position.quantity}</td>
                  <td>{position.averagePrice ?? '—'}</td>
                  <td className={pnlClass(position.realizedPnl)}>{position.realizedPnl}</td>
                  <td
                    className={
                      unrealized === null ? '' : unrealized.sign > 0 ? 'up' : unrealized.sign < 0 ? 'down' : ''
                    }
                  >
                    {unrealized?.text ?? '—'}
                  </td>
                  <td>{position.workingBuy}</td>
                  <td>{position.workingSell}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function formatTotal(available: string, reserved: string): string {
  const total = add(dec(available), dec(reserved));
  return formatFixed(total, significantDecimals(total));
}

/** (last − average) × quantity in the quote asset, at the tick's precision. */
function unrealizedPnl(
  quantity: string,
  averagePrice: string | null,
  last: string | null,
  instrument: Instrument | undefined,
): { text: string; sign: -1 | 0 | 1 } | null {
  const q = tryDec(quantity);
  const average = tryDec(averagePrice);
  const price = tryDec(last);
  if (q === null || average === null || price === null || sign(q) === 0) return null;
  const pnl = mul(sub(price, average), q);
  const decimals = instrument !== undefined ? significantDecimals(dec(instrument.tickSize)) : 2;
  const text = `${formatFixed(pnl, decimals)}${instrument !== undefined ? ` ${instrument.quote}` : ''}`;
  return { text, sign: sign(pnl) };
}
