// Own fills from `/api/executions`, kept current by `/ws/orders` fill messages.

import { formatDateTime } from '../lib/format';
import type { Execution } from '../services/types';

export function TradeHistory({ executions }: { executions: Execution[] }) {
  if (executions.length === 0) return <p className="muted">No fills yet.</p>;
  return (
    <table className="table" aria-label="Trade history">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Symbol</th>
          <th scope="col">Side</th>
          <th scope="col">Price</th>
          <th scope="col">Quantity</th>
          <th scope="col">Fee</th>
          <th scope="col">Liquidity</th>
          <th scope="col">Order</th>
          <th scope="col">Trade</th>
        </tr>
      </thead>
      <tbody>
        {executions.map((execution) => (
          <tr
            key={`${execution.tradeId}/${execution.orderId}`}
            data-testid="execution-row"
            data-trade-id={execution.tradeId}
            data-order-id={execution.orderId}
          >
            <td className="muted">{formatDateTime(execution.time)}</td>
            <td>{execution.symbol}</td>
            <td className={execution.side === 'buy' ? 'up' : 'down'}>{execution.side}</td>
            <td>{execution.price}</td>
            <td>{execution.quantity}</td>
            <td>
              {execution.fee} {execution.feeAsset}
            </td>
            <td>{execution.liquidity}</td>
            <td>{execution.orderId}</td>
            <td className="muted">{execution.tradeId}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
