// Validation of the order entry form against the instrument's rules, before anything is
// sent. The server checks the same rules (and answers `off_tick`, `off_lot`, … if we let a
// bad value through); checking here gives the trader the reason next to the field and the
// estimated notional and the balance it would use before pressing the button.
//
// Pure functions of the form values and the market context, so they are tested without a
// browser. Every figure is exact (lib/decimal.ts).

import {
  cmp,
  mul,
  parseDecimal,
  sign,
  significantDecimals,
  isMultipleOf,
  toString,
  dec,
  type Decimal,
} from './decimal';
import type { Balance, Instrument, OrderType, PlaceOrderRequest, Side, TimeInForce } from '../services/types';

export interface OrderFormValues {
  side: Side;
  type: OrderType;
  /** Limit price (limit, stopLimit) or optional protection price (market, stop). */
  price: string;
  stopPrice: string;
  quantity: string;
  timeInForce: TimeInForce;
  /** `<input type="datetime-local">` value in the browser's time zone, for GTD. */
  expireTime: string;
  postOnly: boolean;
  reduceOnly: boolean;
}

export interface MarketContext {
  bestBid: Decimal | null;
  bestAsk: Decimal | null;
  last: Decimal | null;
}

export type FieldName = 'price' | 'stopPrice' | 'quantity' | 'timeInForce' | 'expireTime' | 'postOnly';
export type FieldErrors = Partial<Record<FieldName | 'form', string>>;

export interface OrderFormCheck {
  readonly errors: FieldErrors;
  readonly valid: boolean;
  /** The body to send; null while the form has errors. */
  readonly request: PlaceOrderRequest | null;
  /** price × quantity; for market and stop orders an estimate from the book or trigger. */
  readonly notional: Decimal | null;
  readonly notionalIsEstimate: boolean;
  /** What the order spends: the quote asset for a buy, the base asset for a sell. */
  readonly spendAsset: string;
  readonly available: Decimal | null;
  /** Problems the server may still accept (e.g. balance tied up elsewhere); shown, not blocking. */
  readonly warnings: string[];
}

/** Time-in-force values that make sense per order type (market and stop orders never rest). */
export function allowedTimeInForce(type: OrderType): TimeInForce[] {
  return type === 'market' || type === 'stop' ? ['IOC', 'FOK'] : ['GTC', 'IOC', 'FOK', 'GTD'];
}

/** The contract's default: GTC for limit and stopLimit, IOC for market and stop. */
export function defaultTimeInForce(type: OrderType): TimeInForce {
  return type === 'market' || type === 'stop' ? 'IOC' : 'GTC';
}

export function needsPrice(type: OrderType): boolean {
  return type === 'limit' || type === 'stopLimit';
}

export function needsStopPrice(type: OrderType): boolean {
  return type === 'stop' || type === 'stopLimit';
}

type Checked = { value: Decimal } | { error: string };

/**
 * Checks one positive decimal against a step (tick or lot size). `label` starts the message:
 * "Price must be a multiple of the tick size 0.01".
 */
export function checkStepped(text: string, label: string, step: Decimal, stepName: 'tick size' | 'lot size'): Checked {
  const parsed = parseDecimal(text);
  if (!parsed.ok) {
    switch (parsed.reason) {
      case 'empty':
        return { error: `${label} is required` };
      case 'malformed':
        return { error: `${label} must be a plain decimal number, like 12.5` };
      case 'too_many_digits':
      case 'too_many_decimals':
        return { error: `${label} has too many digits` };
    }
  }
  const value = parsed.value;
  if (sign(value) < 0) return { error: `${label} must not be negative` };
  if (sign(value) === 0) return { error: `${label} must be greater than zero` };
  const stepText = toString(step);
  if (significantDecimals(value) > significantDecimals(step)) {
    return {
      error: `${label} has too many decimals: the ${stepName} ${stepText} allows ${significantDecimals(step)}`,
    };
  }
  if (!isMultipleOf(value, step)) {
    return { error: `${label} must be a multiple of the ${stepName} ${stepText}` };
  }
  return { value };
}

function spendAssetOf(side: Side, instrument: Instrument): string {
  return side === 'buy' ? instrument.quote : instrument.base;
}

function availableOf(asset: string, balances: readonly Balance[]): Decimal | null {
  const balance = balances.find((b) => b.asset === asset);
  return balance === undefined ? null : dec(balance.available);
}

/** The price a notional is estimated from: the limit price, else the trigger, else the book. */
function notionalPrice(
  values: OrderFormValues,
  price: Decimal | null,
  stopPrice: Decimal | null,
  market: MarketContext,
): { price: Decimal | null; estimate: boolean } {
  if (values.type === 'limit' || values.type === 'stopLimit') return { price, estimate: false };
  if (values.type === 'stop') return { price: price ?? stopPrice, estimate: true };
  const reference = values.side === 'buy' ? market.bestAsk : market.bestBid;
  return { price: price ?? reference ?? market.last, estimate: true };
}

/** Converts a datetime-local value to RFC 3339 UTC; null when it is not a time. */
export function expireTimeToRfc3339(localValue: string): string | null {
  if (localValue.trim() === '') return null;
  const time = new Date(localValue);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}

export function validateOrderForm(
  values: OrderFormValues,
  instrument: Instrument,
  balances: readonly Balance[],
  market: MarketContext,
  now: Date = new Date(),
): OrderFormCheck {
  const errors: FieldErrors = {};
  const warnings: string[] = [];
  const tick = dec(instrument.tickSize);
  const lot = dec(instrument.lotSize);

  if (instrument.status !== 'trading') {
    errors.form = `${instrument.symbol} is halted: orders are not accepted`;
  }

  let price: Decimal | null = null;
  const priceOptional = !needsPrice(values.type);
  if (!(priceOptional && values.price.trim() === '')) {
    const label = priceOptional ? 'Protection price' : 'Limit price';
    const checked = checkStepped(values.price, label, tick, 'tick size');
    if ('error' in checked) errors.price = checked.error;
    else price = checked.value;
  }

  let stopPrice: Decimal | null = null;
  if (needsStopPrice(values.type)) {
    const checked = checkStepped(values.stopPrice, 'Stop price', tick, 'tick size');
    if ('error' in checked) errors.stopPrice = checked.error;
    else stopPrice = checked.value;
  }

  let quantity: Decimal | null = null;
  const quantityChecked = checkStepped(values.quantity, 'Quantity', lot, 'lot size');
  if ('error' in quantityChecked) {
    errors.quantity = quantityChecked.error;
  } else if (cmp(quantityChecked.value, dec(instrument.minQuantity)) < 0) {
    errors.quantity = `Quantity must be at least ${instrument.minQuantity} ${instrument.base}`;
  } else if (cmp(quantityChecked.value, dec(instrument.maxQuantity)) > 0) {
    errors.quantity = `Quantity must be at most ${instrument.maxQuantity} ${instrument.base}`;
  } else {
    quantity = quantityChecked.value;
  }

  if (!allowedTimeInForce(values.type).includes(values.timeInForce)) {
    errors.timeInForce = `${values.timeInForce} is not available for ${values.type} orders`;
  }
  let expireTime: string | null = null;
  if (values.timeInForce === 'GTD') {
    expireTime = expireTimeToRfc3339(values.expireTime);
    if (expireTime === null) errors.expireTime = 'Expiry time is required for GTD orders';
    else if (new Date(expireTime).getTime() <= now.getTime()) {
      errors.expireTime = 'Expiry time must be in the future';
    }
  }
  if (values.postOnly && !(values.type === 'limit' && (values.timeInForce === 'GTC' || values.timeInForce === 'GTD'))) {
    errors.postOnly = 'Post-only applies to resting limit orders (GTC or GTD)';
  }

  const basis = notionalPrice(values, price, stopPrice, market);
  const notional = basis.price !== null && quantity !== null ? mul(basis.price, quantity) : null;
  if (notional !== null && errors.quantity === undefined && errors.price === undefined) {
    const minNotional = dec(instrument.minNotional);
    const maxNotional = dec(instrument.maxNotional);
    const approx = basis.estimate ? 'about ' : '';
    const notionalText = `${approx}${toString(notional)} ${instrument.quote}`;
    if (cmp(notional, minNotional) < 0) {
      const message = `Order value ${notionalText} is below the minimum ${instrument.minNotional} ${instrument.quote}`;
      if (basis.estimate) warnings.push(message);
      else errors.quantity = message;
    } else if (cmp(notional, maxNotional) > 0) {
      const message = `Order value ${notionalText} is above the maximum ${instrument.maxNotional} ${instrument.quote}`;
      if (basis.estimate) warnings.push(message);
      else errors.quantity = message;
    }
  }

  const spendAsset = spendAssetOf(values.side, instrument);
  const available = availableOf(spendAsset, balances);
  const spend = values.side === 'buy' ? notional : quantity;
  if (available !== null && spend !== null && !values.reduceOnly && cmp(spend, available) > 0) {
    warnings.push(
      `Needs ${toString(spend)} ${spendAsset}${basis.estimate && values.side === 'buy' ? ' (estimate)' : ''}, ` +
        `only ${toString(available)} ${spendAsset} available`,
    );
  }

  const valid = Object.keys(errors).length === 0;
  let request: PlaceOrderRequest | null = null;
  if (valid && quantity !== null) {
    request = {
      symbol: instrument.symbol,
      side: values.side,
      type: values.type,
      quantity: toString(quantity),
      timeInForce: values.timeInForce,
      postOnly: values.postOnly,
      reduceOnly: values.reduceOnly,
    };
    if (price !== null) request.price = toString(price);
    if (stopPrice !== null) request.stopPrice = toString(stopPrice);
    if (expireTime !== null) request.expireTime = expireTime;
  }
  return {
    errors,
    valid,
    request,
    notional,
    notionalIsEstimate: basis.estimate,
    spendAsset,
    available,
    warnings,
  };
}

/** Validation of an amendment: new price and/or new total quantity, both optional. */
export function validateAmend(
  priceText: string,
  quantityText: string,
  instrument: Instrument,
  filledQuantity: Decimal,
): {
  errors: { price?: string; quantity?: string; form?: string };
  body: { price?: string; quantity?: string } | null;
} {
  const errors: { price?: string; quantity?: string; form?: string } = {};
  const body: { price?: string; quantity?: string } = {};
  if (priceText.trim() !== '') {
    const checked = checkStepped(priceText, 'Price', dec(instrument.tickSize), 'tick size');
    if ('error' in checked) errors.price = checked.error;
    else body.price = toString(checked.value);
  }
  if (quantityText.trim() !== '') {
    const checked = checkStepped(quantityText, 'Quantity', dec(instrument.lotSize), 'lot size');
    if ('error' in checked) errors.quantity = checked.error;
    else if (cmp(checked.value, filledQuantity) <= 0) {
      errors.quantity = `Quantity is the new total and must be above the filled ${toString(filledQuantity)}`;
    } else if (cmp(checked.value, dec(instrument.maxQuantity)) > 0) {
      errors.quantity = `Quantity must be at most ${instrument.maxQuantity}`;
    } else body.quantity = toString(checked.value);
  }
  if (body.price === undefined && body.quantity === undefined && Object.keys(errors).length === 0) {
    errors.form = 'Enter a new price or a new quantity';
  }
  return { errors, body: Object.keys(errors).length === 0 ? body : null };
}
