// Own open orders (all symbols) with cancel, amend (new price and/or new total quantity,
// validated against the instrument) and cancel-all.

import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { dec, eq, parseDecimal } from '../lib/decimal';
import { formatTime, orderTypeLabel, statusLabel } from '../lib/format';
import { validateAmend } from '../lib/orderForm';
import { describeError } from '../services/api';
import type { AmendOrderRequest, Instrument, Order } from '../services/types';

interface OpenOrdersProps {
  orders: Order[];
  instruments: ReadonlyMap<string, Instrument>;
  onCancel: (orderId: string) => Promise<Order>;
  onAmend: (orderId: string, amend: AmendOrderRequest) => Promise<Order>;
  onCancelAll: () => Promise<Order[]>;
}

/** True when the typed text is the same number as the order's current value. */
function sameValue(text: string, current: string | null): boolean {
  if (current === null) return false;
  const parsed = parseDecimal(text);
  return parsed.ok && eq(parsed.value, dec(current));
}

interface AmendDraft {
  orderId: string;
  price: string;
  quantity: string;
  errors: { price?: string; quantity?: string; form?: string };
}

export function OpenOrders({ orders, instruments, onCancel, onAmend, onCancelAll }: OpenOrdersProps) {
  const [draft, setDraft] = useState<AmendDraft | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  const run = async (key: string, action: () => Promise<string>) => {
    setBusy(key);
    setMessage(null);
    try {
      setMessage({ kind: 'ok', text: await action() });
      return true;
    } catch (e) {
      setMessage({ kind: 'error', text: describeError(e) });
      return false;
    } finally {
      setBusy(null);
    }
  };

  const startAmend = (order: Order) =>
    setDraft({ orderId: order.orderId, price: order.price ?? '', quantity: order.quantity, errors: {} });

  const submitAmend = async (event: FormEvent, order: Order) => {
    event.preventDefault();
    if (draft === null) return;
    const instrument = instruments.get(order.symbol);
    if (instrument === undefined) {
      setDraft({ ...draft, errors: { form: `Unknown instrument ${order.symbol}` } });
      return;
    }
    // Send only what changed; unchanged fields are left out of the PATCH.
    const price = sameValue(draft.price, order.price) ? '' : draft.price;
    const quantity = sameValue(draft.quantity, order.quantity) ? '' : draft.quantity;
    const checked = validateAmend(price, quantity, instrument, dec(order.filledQuantity));
    if (checked.body === null) {
      setDraft({ ...draft, errors: checked.errors });
      return;
    }
    const body = checked.body;
    const ok = await run(`amend-${order.orderId}`, async () => {
      const amended = await onAmend(order.orderId, body);
      return `Order ${amended.orderId} amended: ${amended.price ?? ''} × ${amended.quantity} (${statusLabel(amended.status).toLowerCase()}).`;
    });
    if (ok) setDraft(null);
  };

  const onAmendKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape') setDraft(null);
  };

  return (
    <div className="orders" data-testid="open-orders">
      <div className="orders__toolbar">
        <span className="muted small">{orders.length} open</span>
        <button
          type="button"
          className="button button--small"
          disabled={orders.length === 0 || busy !== null}
          onClick={() =>
            void run('cancel-all', async () => {
              const cancelled = await onCancelAll();
              return `Cancelled ${cancelled.length} order${cancelled.length === 1 ? '' : 's'}.`;
            })
          }
        >
          Cancel all
        </button>
      </div>
      <div
        role="status"
        aria-live="polite"
        className={`feedback feedback--${message?.kind ?? 'none'}`}
        data-testid="open-orders-feedback"
      >
        {message?.text ?? ''}
      </div>
      {orders.length === 0 ? (
        <p className="muted">No open orders.</p>
      ) : (
        <table className="table" aria-label="Open orders">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Symbol</th>
              <th scope="col">Side</th>
              <th scope="col">Type</th>
              <th scope="col">Price</th>
              <th scope="col">Stop</th>
              <th scope="col">Quantity</th>
              <th scope="col">Filled</th>
              <th scope="col">TIF</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {orders.map((order) => {
              const editing = draft?.orderId === order.orderId ? draft : null;
              return (
                <tr
                  key={order.orderId}
                  data-testid="open-order-row"
                  data-order-id={order.orderId}
                  data-status={order.status}
                  data-price={order.price ?? ''}
                  data-quantity={order.quantity}
                >
                  <td className="muted">{formatTime(order.createdAt)}</td>
                  <td>{order.symbol}</td>
                  <td className={order.side === 'buy' ? 'up' : 'down'}>{order.side}</td>
                  <td>
                    {orderTypeLabel(order.type)}
                    {order.postOnly && <span className="badge">post</span>}
                    {order.reduceOnly && <span className="badge">reduce</span>}
                  </td>
                  {editing === null ? (
                    <>
                      <td>{order.price ?? '—'}</td>
                      <td>{order.stopPrice ?? '—'}</td>
                      <td>{order.quantity}</td>
                    </>
                  ) : (
                    <td colSpan={3}>
                      <form
                        className="amend"
                        aria-label={`Amend order ${order.orderId}`}
                        onSubmit={(e) => void submitAmend(e, order)}
                        onKeyDown={onAmendKey}
                        noValidate
                      >
                        <input
                          aria-label={`New price for order ${order.orderId}`}
                          inputMode="decimal"
                          value={editing.price}
                          disabled={order.price === null}
                          onChange={(e) => setDraft({ ...editing, price: e.target.value, errors: {} })}
                          aria-invalid={editing.errors.price !== undefined}
                          autoFocus
                        />
                        <input
                          aria-label={`New quantity for order ${order.orderId}`}
                          inputMode="decimal"
                          value={editing.quantity}
                          onChange={(e) => setDraft({ ...editing, quantity: e.target.value, errors: {} })}
                          aria-invalid={editing.errors.quantity !== undefined}
                        />
                        <button
                          type="submit"
                          className="button button--small button--primary"
                          aria-label={`Save amendment for order ${order.orderId}`}
                          disabled={busy !== null}
                        >
                          Save
                        </button>
                        <button
                          type="button"
                          className="button button--small"
                          aria-label={`Discard amendment for order ${order.orderId}`}
                          onClick={() => setDraft(null)}
                        >
                          Discard
                        </button>
                        {(editing.errors.price ?? editing.errors.quantity ?? editing.errors.form) !== undefined && (
                          <p className="field__error" role="alert">
                            {[editing.errors.price, editing.errors.quantity, editing.errors.form]
                              .filter(Boolean)
                              .join(' ')}
                          </p>
                        )}
                      </form>
                    </td>
                  )}
                  <td>{order.filledQuantity}</td>
                  <td>{order.timeInForce}</td>
                  <td>{statusLabel(order.status)}</td>
                  <td className="actions">
                    {editing === null && (
                      <button
                        type="button"
                        className="button button--small"
                        aria-label={`Amend order ${order.orderId}`}
                        disabled={busy !== null}
                        onClick={() => startAmend(order)}
                      >
                        Amend
                      </button>
                    )}
                    <button
                      type="button"
                      className="button button--small button--danger"
                      aria-label={`Cancel order ${order.orderId}`}
                      disabled={busy !== null}
                      onClick={() =>
                        void run(`cancel-${order.orderId}`, async () => {
                          const cancelled = await onCancel(order.orderId);
                          return `Order ${cancelled.orderId} ${statusLabel(cancelled.status).toLowerCase()}.`;
                        })
                      }
                    >
                      Cancel
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
