import { describe, expect, it } from 'vitest';
import { dec, toString } from './decimal';
import {
  allowedTimeInForce,
  checkStepped,
  defaultTimeInForce,
  validateAmend,
  validateOrderForm,
  type MarketContext,
  type OrderFormValues,
} from './orderForm';
import type { Balance, Instrument } from '../services/types';

const BTC: Instrument = {
  symbol: 'BTC-USD',
  base: 'BTC',
  quote: 'USD',
  tickSize: '0.01',
  lotSize: '0.0001',
  minQuantity: '0.0001',
  maxQuantity: '100',
  minNotional: '10',
  maxNotional: '1000000',
  status: 'trading',
};

const BALANCES: Balance[] = [
  { asset: 'USD', available: '100000.00', reserved: '0' },
  { asset: 'BTC', available: '1.5', reserved: '0.1' },
];

const MARKET: MarketContext = { bestBid: dec('49999.00'), bestAsk: dec('50001.00'), last: dec('50000.00') };
const NOW = new Date('2026-11-21T22:00:00Z');

function form(overrides: Partial<OrderFormValues> = {}): OrderFormValues {
  return {
    side: 'buy',
    type: 'limit',
    price: '50000.00',
    stopPrice: '',
    quantity: '0.25',
    timeInForce: 'GTC',
    expireTime: '',
    postOnly: false,
    reduceOnly: false,
    ...overrides,
  };
}

function check(overrides: Partial<OrderFormValues> = {}, instrument = BTC, balances = BALANCES) {
  return validateOrderForm(form(overrides), instrument, balances, MARKET, NOW);
}

describe('a valid limit order', () => {
  it('builds the request with canonical decimals and shows notional and balance', () => {
    const result = check({ price: '50000.10', quantity: '0.2500' });
    expect(result.valid).toBe(true);
    expect(result.errors).toEqual({});
    expect(result.request).toEqual({
      symbol: 'BTC-USD',
      side: 'buy',
      type: 'limit',
      price: '50000.1',
      quantity: '0.25',
      timeInForce: 'GTC',
      postOnly: false,
      reduceOnly: false,
    });
    expect(toString(result.notional!)).toBe('12500.025');
    expect(result.notionalIsEstimate).toBe(false);
    expect(result.spendAsset).toBe('USD');
    expect(toString(result.available!)).toBe('100000');
    expect(result.warnings).toEqual([]);
  });

  it('a sell spends the base asset', () => {
    const result = check({ side: 'sell' });
    expect(result.spendAsset).toBe('BTC');
    expect(toString(result.available!)).toBe('1.5');
  });
});

describe('price checks', () => {
  it.each([
    ['50000.015', 'Limit price has too many decimals: the tick size 0.01 allows 2'],
    ['', 'Limit price is required'],
    ['0', 'Limit price must be greater than zero'],
    ['0.00', 'Limit price must be greater than zero'],
    ['-50000', 'Limit price must not be negative'],
    ['5e4', 'Limit price must be a plain decimal number, like 12.5'],
    ['fifty', 'Limit price must be a plain decimal number, like 12.5'],
    ['1'.repeat(45), 'Limit price has too many digits'],
  ])('refuses %j', (price, message) => {
    const result = check({ price });
    expect(result.valid).toBe(false);
    expect(result.errors.price).toBe(message);
    expect(result.request).toBeNull();
  });

  it('refuses an off-tick price when the tick is not a power of ten', () => {
    const result = check({ price: '50000.30' }, { ...BTC, tickSize: '0.25' });
    expect(result.errors.price).toBe('Limit price must be a multiple of the tick size 0.25');
    expect(check({ price: '50000.75' }, { ...BTC, tickSize: '0.25' }).valid).toBe(true);
  });

  it('accepts trailing zeros beyond the tick (50000.100 is on a 0.01 tick)', () => {
    expect(check({ price: '50000.100' }).valid).toBe(true);
  });
});

describe('quantity checks', () => {
  it.each([
    ['0.00015', 'Quantity has too many decimals: the lot size 0.0001 allows 4'],
    ['0', 'Quantity must be greater than zero'],
    ['-1', 'Quantity must not be negative'],
    ['', 'Quantity is required'],
    ['1,5', 'Quantity must be a plain decimal number, like 12.5'],
    ['101', 'Quantity must be at most 100 BTC'],
  ])('refuses %j', (quantity, message) => {
    expect(check({ quantity }).errors.quantity).toBe(message);
  });

  it('refuses an off-lot quantity', () => {
    const lot5 = { ...BTC, lotSize: '0.005', minQuantity: '0.005' };
    expect(check({ quantity: '0.012' }, lot5).errors.quantity).toBe(
      'Quantity must be a multiple of the lot size 0.005',
    );
    expect(check({ quantity: '0.015' }, lot5).valid).toBe(true);
  });

  it('refuses a quantity under the minimum', () => {
    const result = check({ quantity: '0.0001' }, { ...BTC, minQuantity: '0.001' });
    expect(result.errors.quantity).toBe('Quantity must be at least 0.001 BTC');
  });
});

describe('notional', () => {
  it('refuses a limit order below the minimum notional', () => {
    const result = check({ price: '10.00', quantity: '0.5' });
    expect(result.errors.quantity).toBe('Order value 5 USD is below the minimum 10 USD');
  });

  it('refuses a limit order above the maximum notional', () => {
    const result = check({ quantity: '30' });
    expect(result.errors.quantity).toBe('Order value 1500000 USD is above the maximum 1000000 USD');
  });

  it('estimates a market buy from the best ask and only warns on its limits', () => {
    const result = check({ type: 'market', price: '', timeInForce: 'IOC', quantity: '0.0001' });
    expect(result.valid).toBe(true);
    expect(result.notionalIsEstimate).toBe(true);
    expect(toString(result.notional!)).toBe('5.0001');
    expect(result.warnings).toEqual(['Order value about 5.0001 USD is below the minimum 10 USD']);
    expect(result.request).toMatchObject({ type: 'market', timeInForce: 'IOC' });
    expect(result.request).not.toHaveProperty('price');
  });

  it('estimates a market sell from the best bid, or a protection price when given', () => {
    expect(
      toString(check({ type: 'market', side: 'sell', price: '', timeInForce: 'IOC', quantity: '1' }).notional!),
    ).toBe('49999');
    const protectedSell = check({ type: 'market', side: 'sell', price: '49000.00', timeInForce: 'IOC', quantity: '1' });
    expect(toString(protectedSell.notional!)).toBe('49000');
    expect(protectedSell.request?.price).toBe('49000');
  });

  it('warns (without blocking) when the balance does not cover the order', () => {
    // 2 × 50000.00 = 100000 USD: exactly the available balance, no warning.
    expect(check({ quantity: '2' }).warnings).toEqual([]);
    const short = check({ side: 'sell', quantity: '2' });
    expect(short.valid).toBe(true);
    expect(short.warnings).toEqual(['Needs 2 BTC, only 1.5 BTC available']);
    expect(check({ side: 'sell', quantity: '2', reduceOnly: true }).warnings).toEqual([]);
  });

  it('warns when a buy needs more quote than available', () => {
    const result = check({ quantity: '3' });
    expect(result.warnings).toEqual(['Needs 150000 USD, only 100000 USD available']);
  });
});

describe('order types and time in force', () => {
  it('stop orders need a valid stop price; stopLimit needs both', () => {
    expect(check({ type: 'stop', price: '', stopPrice: '', timeInForce: 'IOC' }).errors.stopPrice).toBe(
      'Stop price is required',
    );
    expect(check({ type: 'stopLimit', stopPrice: '50500.001' }).errors.stopPrice).toBe(
      'Stop price has too many decimals: the tick size 0.01 allows 2',
    );
    const stopLimit = check({ type: 'stopLimit', price: '50600.00', stopPrice: '50500.00' });
    expect(stopLimit.valid).toBe(true);
    expect(stopLimit.request).toMatchObject({ price: '50600', stopPrice: '50500' });
    const stop = check({ type: 'stop', price: '', stopPrice: '50500.00', timeInForce: 'IOC' });
    expect(stop.valid).toBe(true);
    expect(toString(stop.notional!)).toBe('12625'); // estimated at the trigger
  });

  it('offers only IOC and FOK for orders that never rest', () => {
    expect(allowedTimeInForce('market')).toEqual(['IOC', 'FOK']);
    expect(allowedTimeInForce('limit')).toEqual(['GTC', 'IOC', 'FOK', 'GTD']);
    expect(defaultTimeInForce('stop')).toBe('IOC');
    expect(defaultTimeInForce('stopLimit')).toBe('GTC');
    expect(check({ type: 'market', price: '', timeInForce: 'GTC' }).errors.timeInForce).toBe(
      'GTC is not available for market orders',
    );
  });

  it('GTD needs a future expiry, sent as RFC 3339 UTC', () => {
    expect(check({ timeInForce: 'GTD' }).errors.expireTime).toBe('Expiry time is required for GTD orders');
    expect(check({ timeInForce: 'GTD', expireTime: '2020-01-01T00:00' }).errors.expireTime).toBe(
      'Expiry time must be in the future',
    );
    const result = check({ timeInForce: 'GTD', expireTime: '2030-01-01T12:30' });
    expect(result.valid).toBe(true);
    expect(result.request?.expireTime).toMatch(/^2030-01-01T\d\d:\d\d:00\.000Z$/);
  });

  it('post-only needs a resting limit order', () => {
    expect(check({ postOnly: true }).valid).toBe(true);
    expect(check({ postOnly: true, timeInForce: 'IOC' }).errors.postOnly).toBe(
      'Post-only applies to resting limit orders (GTC or GTD)',
    );
    expect(check({ type: 'market', price: '', timeInForce: 'IOC', postOnly: true }).errors.postOnly).toBeDefined();
  });

  it('a halted instrument takes no orders', () => {
    expect(check({}, { ...BTC, status: 'halted' }).errors.form).toBe('BTC-USD is halted: orders are not accepted');
  });
});

describe('checkStepped', () => {
  it('returns the exact value when valid', () => {
    const result = checkStepped(' 0.0300 ', 'Quantity', dec('0.01'), 'lot size');
    expect('value' in result && toString(result.value)).toBe('0.03');
  });
});

describe('amend', () => {
  it('sends only the changed fields, validated', () => {
    expect(validateAmend('50100.00', '', BTC, dec('0'))).toEqual({ errors: {}, body: { price: '50100' } });
    expect(validateAmend('', '0.5', BTC, dec('0.1'))).toEqual({ errors: {}, body: { quantity: '0.5' } });
    expect(validateAmend('50100.001', '', BTC, dec('0')).errors.price).toMatch(/too many decimals/);
    expect(validateAmend('', '0.1', BTC, dec('0.1')).errors.quantity).toBe(
      'Quantity is the new total and must be above the filled 0.1',
    );
    expect(validateAmend('', '', BTC, dec('0')).errors.form).toBe('Enter a new price or a new quantity');
  });
});
