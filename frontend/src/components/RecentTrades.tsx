// Market trades of the selected symbol from the `trades` channel, newest first.

import { formatTime } from '../lib/format';
import type { MarketTrade } from '../services/types';

export function RecentTrades({ trades }: { trades: MarketTrade[] }) {
  return (
    <section className="panel trades" aria-labelledby="trades-title">
      <header className="panel__header">
        <h2 id="trades-title">Recent trades</h2>
      </header>
      {trades.length === 0 ? (
        <p className="muted">No trades yet.</p>
      ) : (
        <table className="table table--compact" aria-label="Recent trades">
          <thead>
            <tr>
              <th scope="col">Price</th>
              <th scope="col">Size</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {trades.map((trade) => (
              <tr key={trade.tradeId} data-testid="market-trade" data-trade-id={trade.tradeId}>
                <td className={trade.takerSide === 'buy' ? 'up' : 'down'}>
                  <span className="visually-hidden">{trade.takerSide === 'buy' ? 'Buyer took ' : 'Seller took '}</span>
                  {trade.price}
                </td>
                <td>{trade.quantity}</td>
                <td className="muted">{formatTime(trade.time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
