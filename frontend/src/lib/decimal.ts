// Fixed-point decimal helpers for prices, quantities and amounts.
//
// The API carries every decimal as a string ("50000.25"). JavaScript numbers are binary
// floats: 0.1 + 0.2 !== 0.3, and 50000.25 * 0.1 is not 5000.025. A trading screen that
// validates tick and lot sizes or shows a notional with floats would disagree with the
// server at the edges, so every calculation here is exact: a decimal is an integer number
// of units (`BigInt`) and a scale (how many of its digits are decimals), the value being
// units / 10^scale. The alternative — a decimal library — was rejected as more than this
// dashboard needs: it parses, compares, adds, multiplies and checks multiples.
//
// `toNumber` exists for the one place that needs floats, the chart library, which draws
// pixels from numbers; nothing computed from it flows back into an order.

/** An exact decimal: `units / 10^scale`. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

/** Most decimal digits a value may carry. rust_decimal holds 28; more cannot be sent. */
export const SCALE_MAX = 28;
/** Most digits in total (integer and decimal part) accepted from a person or the server. */
export const DIGITS_MAX = 40;

export type ParseFailure = 'empty' | 'malformed' | 'too_many_digits' | 'too_many_decimals';
export type ParseResult =
  { readonly ok: true; readonly value: Decimal } | { readonly ok: false; readonly reason: ParseFailure };

// Plain positional notation only: no exponent, no "NaN"/"Infinity", no thousands
// separators, no "+". ".5" and "5." are accepted because people type them.
const DECIMAL_PATTERN = /^(-)?(\d*)(?:\.(\d*))?$/;

export const ZERO: Decimal = Object.freeze({ units: 0n, scale: 0 });

/** Parses a decimal string exactly. Whitespace around the value is ignored. */
export function parseDecimal(text: string): ParseResult {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'empty' };
  const match = DECIMAL_PATTERN.exec(trimmed);
  if (match === null) return { ok: false, reason: 'malformed' };
  const negative = match[1] === '-';
  const integerDigits = match[2] ?? '';
  const fractionDigits = match[3] ?? '';
  if (integerDigits === '' && fractionDigits === '') return { ok: false, reason: 'malformed' };
  if (integerDigits.length + fractionDigits.length > DIGITS_MAX) {
    return { ok: false, reason: 'too_many_digits' };
  }
  if (fractionDigits.length > SCALE_MAX) return { ok: false, reason: 'too_many_decimals' };
  const magnitude = BigInt((integerDigits || '0') + fractionDigits);
  return {
    ok: true,
    value: { units: negative ? -magnitude : magnitude, scale: fractionDigits.length },
  };
}

/** Parses a decimal that must be valid (a value from the server); throws otherwise. */
export function dec(text: string): Decimal {
  const parsed = parseDecimal(text);
  if (!parsed.ok) throw new RangeError(`not a decimal (${parsed.reason}): ${JSON.stringify(text)}`);
  return parsed.value;
}

/** Like `dec`, but `null` for a missing or unparsable value (nullable server fields). */
export function tryDec(text: string | null | undefined): Decimal | null {
  if (text === null || text === undefined) return null;
  const parsed = parseDecimal(text);
  return parsed.ok ? parsed.value : null;
}

function pow10(exponent: number): bigint {
  return 10n ** BigInt(exponent);
}

/** The same value with `scale` decimals; `scale` must not be below the value's own. */
export function rescale(value: Decimal, scale: number): Decimal {
  if (scale < value.scale) throw new RangeError(`rescale would drop digits: ${value.scale} -> ${scale}`);
  return { units: value.units * pow10(scale - value.scale), scale };
}

function aligned(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [rescale(a, scale).units, rescale(b, scale).units, scale];
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = aligned(a, b);
  return { units: x + y, scale };
}

export function sub(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = aligned(a, b);
  return { units: x - y, scale };
}

/** Exact product; its scale is the sum of the scales. */
export function mul(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** -1, 0 or 1. */
export function cmp(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function eq(a: Decimal, b: Decimal): boolean {
  return cmp(a, b) === 0;
}

export function sign(value: Decimal): -1 | 0 | 1 {
  return value.units < 0n ? -1 : value.units > 0n ? 1 : 0;
}

export function isZero(value: Decimal): boolean {
  return value.units === 0n;
}

export function neg(value: Decimal): Decimal {
  return { units: -value.units, scale: value.scale };
}

export function abs(value: Decimal): Decimal {
  return value.units < 0n ? neg(value) : value;
}

export function max(a: Decimal, b: Decimal): Decimal {
  return cmp(a, b) >= 0 ? a : b;
}

export function min(a: Decimal, b: Decimal): Decimal {
  return cmp(a, b) <= 0 ? a : b;
}

/** The same value without trailing decimal zeros ("1.2500" → "1.25"). */
export function normalize(value: Decimal): Decimal {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}

/** How many decimals the value needs ("0.0100" → 2). */
export function significantDecimals(value: Decimal): number {
  return normalize(value).scale;
}

/** True when `value` is an integer multiple of a positive `step` (tick or lot size). */
export function isMultipleOf(value: Decimal, step: Decimal): boolean {
  if (step.units <= 0n) throw new RangeError('step must be positive');
  const [x, y] = aligned(value, step);
  return x % y === 0n;
}

/** The largest multiple of a positive `step` not above `value` (toward minus infinity). */
export function floorToStep(value: Decimal, step: Decimal): Decimal {
  if (step.units <= 0n) throw new RangeError('step must be positive');
  const [x, y, scale] = aligned(value, step);
  let steps = x / y; // BigInt division truncates toward zero
  if (x % y !== 0n && x < 0n) steps -= 1n;
  return { units: steps * y, scale };
}

/** The smallest multiple of a positive `step` not below `value`. */
export function ceilToStep(value: Decimal, step: Decimal): Decimal {
  return neg(floorToStep(neg(value), step));
}

/**
 * `a / b` cut (toward zero) to `scale` decimals. For display figures such as a spread in
 * basis points or a bar width, never for order values.
 */
export function divide(a: Decimal, b: Decimal, scale: number): Decimal {
  if (b.units === 0n) throw new RangeError('division by zero');
  // a.units/10^a.scale ÷ b.units/10^b.scale = a.units·10^(scale + b.scale - a.scale) / b.units / 10^scale
  const shift = scale + b.scale - a.scale;
  const numerator = shift >= 0 ? a.units * pow10(shift) : a.units / pow10(-shift);
  return { units: numerator / b.units, scale };
}

/** Canonical text: no trailing zeros, no exponent ("-0.5", "12", "0"). */
export function toString(value: Decimal): string {
  const normalized = normalize(value);
  return formatFixed(normalized, normalized.scale);
}

/**
 * Text with exactly `scale` decimals; digits beyond `scale` are cut toward zero (the
 * conservative choice for a displayed balance or notional: never show more than there is).
 */
export function formatFixed(value: Decimal, scale: number): string {
  let units: bigint;
  if (scale >= value.scale) {
    units = value.units * pow10(scale - value.scale);
  } else {
    units = value.units / pow10(value.scale - scale);
  }
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const integerPart = digits.slice(0, digits.length - scale);
  const fractionPart = digits.slice(digits.length - scale);
  const body = scale > 0 ? `${integerPart}.${fractionPart}` : integerPart;
  return negative ? `-${body}` : body;
}

/** Canonical form of a decimal string, for comparing prices as map keys ("50000.10" → "50000.1"). */
export function canonical(text: string): string {
  return toString(dec(text));
}

/** Float approximation for drawing only (chart library, bar widths). Never for order values. */
export function toNumber(value: Decimal): number {
  return Number(toString(value));
}
