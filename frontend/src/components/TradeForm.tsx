// Order entry: limit, market, stop and stop-limit; GTC/IOC/FOK/GTD; post-only and
// reduce-only. Prices and quantities are checked against the instrument's tick and lot
// size as they are typed (lib/orderForm.ts); the estimated notional and the available
// balance of the asset the order spends are shown before sending. The engine's decision
// (accepted, filled, or rejected with a reason) is announced in a live region.

import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { formatFixed, significantDecimals, dec, toString } from '../lib/decimal';
import { orderTypeLabel, statusLabel } from '../lib/format';
import {
  allowedTimeInForce,
  defaultTimeInForce,
  needsPrice,
  needsStopPrice,
  validateOrderForm,
  type FieldName,
  type MarketContext,
  type OrderFormValues,
} from '../lib/orderForm';
import { describeError, humanizeCode } from '../services/api';
import type {
  Balance,
  Instrument,
  Order,
  OrderType,
  PlaceOrderRequest,
  Side,
  TimeInForce,
  ValidateResult,
} from '../services/types';

interface TradeFormProps {
  instrument: Instrument | null;
  balances: Balance[];
  market: MarketContext;
  /** A price picked in the order book; `nonce` changes on every pick. */
  pickedPrice: { price: string; nonce: number } | null;
  onPlace: (request: PlaceOrderRequest) => Promise<Order>;
  /** The server's pre-trade check (`POST /api/risk/validate`): every check, nothing placed. */
  onCheck: (request: PlaceOrderRequest) => Promise<ValidateResult>;
}

type Feedback =
  | { kind: 'ok'; text: string; order: Order }
  | { kind: 'rejected'; text: string; order: Order }
  | { kind: 'error'; text: string }
  | { kind: 'check-passed' | 'check-failed'; text: string };

const ORDER_TYPES: OrderType[] = ['limit', 'market', 'stop', 'stopLimit'];
const TIF_LABELS: Record<TimeInForce, string> = {
  GTC: 'GTC — good till cancelled',
  IOC: 'IOC — immediate or cancel',
  FOK: 'FOK — fill or kill',
  GTD: 'GTD — good till date',
};
const FIELD_ORDER: FieldName[] = ['stopPrice', 'price', 'quantity', 'timeInForce', 'expireTime', 'postOnly'];

const INITIAL_VALUES: OrderFormValues = {
  side: 'buy',
  type: 'limit',
  price: '',
  stopPrice: '',
  quantity: '',
  timeInForce: 'GTC',
  expireTime: '',
  postOnly: false,
  reduceOnly: false,
};

function describeCheck(result: ValidateResult): Feedback {
  if (result.ok) return { kind: 'check-passed', text: 'Would be accepted. Nothing placed.' };
  const reason = result.rejectReason ?? 'rejected';
  return {
    kind: 'check-failed',
    text: `Would be rejected: ${humanizeCode(reason)} (${reason}). Nothing placed.`,
  };
}

function describeOutcome(order: Order): Feedback {
  if (order.status === 'REJECTED') {
    const reason = order.rejectReason ?? 'rejected';
    return { kind: 'rejected', text: `Order ${order.orderId} rejected: ${humanizeCode(reason)} (${reason}).`, order };
  }
  const filled = dec(order.filledQuantity);
  if (filled.units === 0n && (order.status === 'EXPIRED' || order.status === 'CANCELLED')) {
    // IOC/FOK (or market) that found nothing to trade against.
    const status = statusLabel(order.status).toLowerCase();
    return { kind: 'rejected', text: `Order ${order.orderId} ${status} without a fill.`, order };
  }
  const fill =
    filled.units > 0n ? `, filled ${order.filledQuantity}${order.averagePrice ? ` at ${order.averagePrice}` : ''}` : '';
  return {
    kind: 'ok',
    text: `Order ${order.orderId} ${statusLabel(order.status).toLowerCase()}: ${order.side} ${order.quantity} ${order.symbol}${fill}.`,
    order,
  };
}

export function TradeForm({ instrument, balances, market, pickedPrice, onPlace, onCheck }: TradeFormProps) {
  const id = useId();
  const [values, setValues] = useState<OrderFormValues>(INITIAL_VALUES);
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const fieldRefs = useRef(new Map<FieldName, HTMLInputElement | HTMLSelectElement>());

  // A new instrument: prices of the old one make no sense.
  useEffect(() => {
    setValues((v) => ({ ...v, price: '', stopPrice: '' }));
    setTouched(new Set());
    setSubmitted(false);
  }, [instrument?.symbol]);

  useEffect(() => {
    if (pickedPrice === null) return;
    setValues((v) => ({ ...v, price: pickedPrice.price }));
    fieldRefs.current.get('quantity')?.focus();
  }, [pickedPrice]);

  const check = useMemo(
    () => (instrument === null ? null : validateOrderForm(values, instrument, balances, market)),
    [values, instrument, balances, market],
  );

  const update = <K extends keyof OrderFormValues>(key: K, value: OrderFormValues[K]) => {
    setValues((v) => {
      const next = { ...v, [key]: value };
      if (key === 'type') {
        const type = value as OrderType;
        if (!allowedTimeInForce(type).includes(next.timeInForce)) next.timeInForce = defaultTimeInForce(type);
        if (type !== 'limit') next.postOnly = false;
      }
      if (key === 'timeInForce' && value !== 'GTC' && value !== 'GTD') next.postOnly = false;
      return next;
    });
  };

  const touch = (field: string) => setTouched((t) => new Set(t).add(field));
  const errorOf = (field: FieldName): string | undefined =>
    submitted || touched.has(field) ? check?.errors[field] : undefined;

  /** The request when the form is valid; otherwise shows the errors and focuses the first. */
  const validRequest = (): PlaceOrderRequest | null => {
    setSubmitted(true);
    if (check === null || !check.valid || check.request === null) {
      const first = FIELD_ORDER.find((field) => check?.errors[field] !== undefined);
      if (first !== undefined) fieldRefs.current.get(first)?.focus();
      return null;
    }
    return check.request;
  };

  const onCheckClick = async () => {
    const request = validRequest();
    if (request === null) return;
    setBusy(true);
    setFeedback(null);
    try {
      setFeedback(describeCheck(await onCheck(request)));
    } catch (e) {
      setFeedback({ kind: 'error', text: describeError(e) });
    } finally {
      setBusy(false);
    }
  };

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const request = validRequest();
    if (request === null) return;
    setBusy(true);
    setFeedback(null);
    try {
      const order = await onPlace(request);
      setFeedback(describeOutcome(order));
      setSubmitted(false);
      setTouched(new Set());
    } catch (e) {
      setFeedback({ kind: 'error', text: describeError(e) });
    } finally {
      setBusy(false);
    }
  };

  if (instrument === null) {
    return (
      <section className="panel form" aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>Place order</h2>
        <p className="muted">Choose an instrument.</p>
      </section>
    );
  }

  const tickDecimals = significantDecimals(dec(instrument.tickSize));
  const errorProps = (field: FieldName) => {
    const error = errorOf(field);
    return {
      'aria-invalid': error !== undefined,
      'aria-describedby': error !== undefined ? `${id}-${field}-error` : undefined,
    };
  };
  const fieldError = (field: FieldName) => {
    const error = errorOf(field);
    return error === undefined ? null : (
      <p id={`${id}-${field}-error`} className="field__error" data-testid={`error-${field}`}>
        {error}
      </p>
    );
  };
  const register = (field: FieldName) => (element: HTMLInputElement | HTMLSelectElement | null) => {
    if (element !== null) fieldRefs.current.set(field, element);
    else fieldRefs.current.delete(field);
  };
  const priceLabel = needsPrice(values.type) ? 'Limit price' : 'Protection price';
  const notionalText =
    check?.notional != null
      ? `${check.notionalIsEstimate ? '≈ ' : ''}${formatFixed(check.notional, Math.max(tickDecimals, Math.min(8, significantDecimals(check.notional))))} ${instrument.quote}`
      : '—';
  const availableText =
    check?.available != null ? `${toString(check.available)} ${check.spendAsset}` : `— ${check?.spendAsset ?? ''}`;

  return (
    <section className="panel form" aria-labelledby={`${id}-title`}>
      <header className="panel__header">
        <h2 id={`${id}-title`}>Place order</h2>
        <span className="muted small">
          tick {instrument.tickSize} · lot {instrument.lotSize}
        </span>
      </header>
      <form aria-label="Order entry" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="trade-form">
        <fieldset className="segmented" aria-label="Side">
          <legend className="visually-hidden">Side</legend>
          {(['buy', 'sell'] as Side[]).map((side) => (
            <label key={side} className={`segmented__option segmented__option--${side}`}>
              <input
                type="radio"
                name={`${id}-side`}
                value={side}
                checked={values.side === side}
                onChange={() => update('side', side)}
                aria-label={side === 'buy' ? 'Buy' : 'Sell'}
                data-testid={`side-${side}`}
              />
              <span>{side === 'buy' ? 'Buy' : 'Sell'}</span>
            </label>
          ))}
        </fieldset>

        <div className="field">
          <label htmlFor={`${id}-type`}>Order type</label>
          <select
            id={`${id}-type`}
            aria-label="Order type"
            value={values.type}
            onChange={(e) => update('type', e.target.value as OrderType)}
            data-testid="order-type"
          >
            {ORDER_TYPES.map((type) => (
              <option key={type} value={type}>
                {orderTypeLabel(type)}
              </option>
            ))}
          </select>
        </div>

        {needsStopPrice(values.type) && (
          <div className="field">
            <label htmlFor={`${id}-stop`}>Stop price ({instrument.quote})</label>
            <input
              id={`${id}-stop`}
              ref={register('stopPrice')}
              aria-label="Stop price"
              inputMode="decimal"
              autoComplete="off"
              value={values.stopPrice}
              onChange={(e) => update('stopPrice', e.target.value)}
              onBlur={() => touch('stopPrice')}
              data-testid="stop-price"
              {...errorProps('stopPrice')}
            />
            {fieldError('stopPrice')}
          </div>
        )}

        <div className="field">
          <label htmlFor={`${id}-price`}>
            {priceLabel} ({instrument.quote}){needsPrice(values.type) ? '' : ', optional'}
          </label>
          <input
            id={`${id}-price`}
            ref={register('price')}
            aria-label={priceLabel}
            inputMode="decimal"
            autoComplete="off"
            placeholder={needsPrice(values.type) ? '' : 'none'}
            value={values.price}
            onChange={(e) => update('price', e.target.value)}
            onBlur={() => touch('price')}
            data-testid="price"
            {...errorProps('price')}
          />
          {fieldError('price')}
        </div>

        <div className="field">
          <label htmlFor={`${id}-qty`}>Quantity ({instrument.base})</label>
          <input
            id={`${id}-qty`}
            ref={register('quantity')}
            aria-label="Quantity"
            inputMode="decimal"
            autoComplete="off"
            placeholder={`min ${instrument.minQuantity}`}
            value={values.quantity}
            onChange={(e) => update('quantity', e.target.value)}
            onBlur={() => touch('quantity')}
            data-testid="quantity"
            {...errorProps('quantity')}
          />
          {fieldError('quantity')}
        </div>

        <div className="field">
          <label htmlFor={`${id}-tif`}>Time in force</label>
          <select
            id={`${id}-tif`}
            ref={register('timeInForce')}
            aria-label="Time in force"
            value={values.timeInForce}
            onChange={(e) => update('timeInForce', e.target.value as TimeInForce)}
            data-testid="time-in-force"
            {...errorProps('timeInForce')}
          >
            {allowedTimeInForce(values.type).map((tif) => (
              <option key={tif} value={tif}>
                {TIF_LABELS[tif]}
              </option>
            ))}
          </select>
          {fieldError('timeInForce')}
        </div>

        {values.timeInForce === 'GTD' && (
          <div className="field">
            <label htmlFor={`${id}-expire`}>Expire time (local)</label>
            <input
              id={`${id}-expire`}
              ref={register('expireTime')}
              type="datetime-local"
              aria-label="Expire time"
              value={values.expireTime}
              onChange={(e) => update('expireTime', e.target.value)}
              onBlur={() => touch('expireTime')}
              data-testid="expire-time"
              {...errorProps('expireTime')}
            />
            {fieldError('expireTime')}
          </div>
        )}

        <div className="checks">
          <label className="check">
            <input
              type="checkbox"
              ref={register('postOnly')}
              aria-label="Post only"
              checked={values.postOnly}
              disabled={values.type !== 'limit' || (values.timeInForce !== 'GTC' && values.timeInForce !== 'GTD')}
              onChange={(e) => update('postOnly', e.target.checked)}
              data-testid="post-only"
              {...errorProps('postOnly')}
            />
            Post only
          </label>
          <label className="check">
            <input
              type="checkbox"
              aria-label="Reduce only"
              checked={values.reduceOnly}
              onChange={(e) => update('reduceOnly', e.target.checked)}
              data-testid="reduce-only"
            />
            Reduce only
          </label>
        </div>
        {fieldError('postOnly')}

        <dl className="summary">
          <div>
            <dt>{check?.notionalIsEstimate ? 'Estimated notional' : 'Notional'}</dt>
            <dd data-testid="estimated-notional" data-value={check?.notional != null ? toString(check.notional) : ''}>
              {notionalText}
            </dd>
          </div>
          <div>
            <dt>Available</dt>
            <dd data-testid="available-balance">{availableText}</dd>
          </div>
        </dl>

        {check !== null && check.warnings.length > 0 && (
          <ul className="warnings" aria-label="Warnings" data-testid="order-warnings">
            {check.warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        )}
        {submitted && check?.errors.form !== undefined && (
          <p className="form-error" role="alert">
            {check.errors.form}
          </p>
        )}

        <div className="form-actions">
          <button
            type="button"
            className="button"
            disabled={busy}
            onClick={() => void onCheckClick()}
            title="Run every pre-trade check on the server without placing the order"
            data-testid="check-order"
          >
            Check
          </button>
          <button
            type="submit"
            className={`button button--wide button--${values.side}`}
            disabled={busy}
            data-testid="place-order"
          >
            {busy ? 'Sending…' : `Place ${values.side} order`}
          </button>
        </div>

        <div
          role="status"
          aria-live="polite"
          className={`feedback feedback--${feedback?.kind ?? 'none'}`}
          data-testid="order-feedback"
          data-kind={feedback?.kind ?? ''}
          data-order-id={feedback !== null && 'order' in feedback ? feedback.order.orderId : ''}
          data-status={feedback !== null && 'order' in feedback ? feedback.order.status : ''}
          data-filled={feedback !== null && 'order' in feedback ? feedback.order.filledQuantity : ''}
        >
          {feedback?.text ?? ''}
        </div>
      </form>
    </section>
  );
}
