import { describe, expect, it } from 'vitest';
import {
  add,
  canonical,
  ceilToStep,
  cmp,
  dec,
  divide,
  floorToStep,
  formatFixed,
  isMultipleOf,
  mul,
  normalize,
  parseDecimal,
  significantDecimals,
  sub,
  toString,
  tryDec,
} from './decimal';

describe('parseDecimal', () => {
  it.each([
    ['0', 0n, 0],
    ['50000.25', 5000025n, 2],
    ['0.00000001', 1n, 8],
    ['-1.5', -15n, 1],
    ['.5', 5n, 1],
    ['5.', 5n, 0],
    ['  7.10 ', 710n, 2],
    ['123456789012345678901234567890.12', 12345678901234567890123456789012n, 2],
  ])('parses %j exactly', (text, units, scale) => {
    expect(parseDecimal(text)).toEqual({ ok: true, value: { units, scale } });
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['abc', 'malformed'],
    ['1e5', 'malformed'],
    ['NaN', 'malformed'],
    ['Infinity', 'malformed'],
    ['1,000', 'malformed'],
    ['+1', 'malformed'],
    ['1.2.3', 'malformed'],
    ['.', 'malformed'],
    ['-', 'malformed'],
    ['0x10', 'malformed'],
    ['1'.repeat(41), 'too_many_digits'],
    [`0.${'1'.repeat(29)}`, 'too_many_decimals'],
  ])('refuses %j (%s)', (text, reason) => {
    expect(parseDecimal(text)).toEqual({ ok: false, reason });
  });

  it('dec throws on a bad value and tryDec answers null', () => {
    expect(() => dec('oops')).toThrow(RangeError);
    expect(tryDec('oops')).toBeNull();
    expect(tryDec(null)).toBeNull();
    expect(tryDec(undefined)).toBeNull();
    expect(tryDec('1.5')).toEqual({ units: 15n, scale: 1 });
  });
});

describe('arithmetic is exact where floats are not', () => {
  it('0.1 + 0.2 = 0.3', () => {
    expect(toString(add(dec('0.1'), dec('0.2')))).toBe('0.3');
  });

  it('50000.25 × 0.1 = 5000.025', () => {
    expect(toString(mul(dec('50000.25'), dec('0.1')))).toBe('5000.025');
  });

  it('large notionals keep every digit', () => {
    expect(toString(mul(dec('99999999999.99'), dec('123456789.12345678')))).toBe(
      '12345678912344443432.1087654322', // checked with Python's decimal module
    );
  });

  it('subtracts across scales and signs', () => {
    expect(toString(sub(dec('1'), dec('1.25')))).toBe('-0.25');
    expect(toString(sub(dec('50000.10'), dec('49999.9')))).toBe('0.2');
  });

  it('compares across scales', () => {
    expect(cmp(dec('1.10'), dec('1.1'))).toBe(0);
    expect(cmp(dec('1.01'), dec('1.1'))).toBe(-1);
    expect(cmp(dec('-2'), dec('-10'))).toBe(1);
  });
});

describe('steps (tick and lot sizes)', () => {
  it.each([
    ['50000.25', '0.01', true],
    ['50000.255', '0.01', false],
    ['50000.250', '0.01', true],
    ['100', '0.5', true],
    ['100.25', '0.5', false],
    ['0.0003', '0.0001', true],
    ['0.00035', '0.0001', false],
    ['125', '25', true],
    ['130', '25', false],
    ['0', '0.01', true],
  ])('%s is a multiple of %s: %s', (value, step, expected) => {
    expect(isMultipleOf(dec(value), dec(step))).toBe(expected);
  });

  it('refuses a zero or negative step', () => {
    expect(() => isMultipleOf(dec('1'), dec('0'))).toThrow(RangeError);
    expect(() => floorToStep(dec('1'), dec('-0.1'))).toThrow(RangeError);
  });

  it('floors and ceils to a step, negative values included', () => {
    expect(toString(floorToStep(dec('50000.257'), dec('0.01')))).toBe('50000.25');
    expect(toString(ceilToStep(dec('50000.251'), dec('0.01')))).toBe('50000.26');
    expect(toString(floorToStep(dec('-0.15'), dec('0.1')))).toBe('-0.2');
    expect(toString(ceilToStep(dec('-0.15'), dec('0.1')))).toBe('-0.1');
    expect(toString(floorToStep(dec('7'), dec('0.5')))).toBe('7');
  });
});

describe('formatting', () => {
  it('normalizes and gives canonical text', () => {
    expect(normalize(dec('1.2500'))).toEqual({ units: 125n, scale: 2 });
    expect(toString(dec('000.000'))).toBe('0');
    expect(toString(dec('-0.50'))).toBe('-0.5');
    expect(canonical('50000.10')).toBe('50000.1');
    expect(significantDecimals(dec('0.0100'))).toBe(2);
  });

  it('formats to a fixed scale, cutting toward zero', () => {
    expect(formatFixed(dec('1.5'), 3)).toBe('1.500');
    expect(formatFixed(dec('1.5699'), 2)).toBe('1.56');
    expect(formatFixed(dec('-1.5699'), 2)).toBe('-1.56');
    expect(formatFixed(dec('0.004'), 2)).toBe('0.00');
    expect(formatFixed(dec('12'), 0)).toBe('12');
    expect(formatFixed(dec('0.05'), 2)).toBe('0.05');
  });

  it('divides to a fixed scale', () => {
    expect(toString(divide(dec('1'), dec('3'), 4))).toBe('0.3333');
    expect(toString(divide(dec('0.5'), dec('50000.25'), 8))).toBe('0.00000999');
    expect(toString(divide(dec('10000'), dec('0.25'), 0))).toBe('40000');
    expect(toString(divide(dec('1.23456'), dec('1'), 2))).toBe('1.23');
    expect(() => divide(dec('1'), dec('0'), 2)).toThrow(RangeError);
  });
});
