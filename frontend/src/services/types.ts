// Types of the HTTP/WebSocket contract in docs/api.md. Field names are the wire names
// (camelCase). Decimals, ids and times stay strings exactly as the server sends them;
// arithmetic goes through lib/decimal.ts.

/** A decimal as text, e.g. "50000.25". */
export type DecimalText = string;
/** RFC 3339 UTC time, e.g. "2026-11-21T22:00:00.123Z". */
export type Rfc3339 = string;

export type Side = 'buy' | 'sell';
export type OrderType = 'limit' | 'market' | 'stop' | 'stopLimit';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK' | 'GTD';
export type SelfTradePrevention = 'expireMaker' | 'expireTaker' | 'expireBoth' | 'none';
export type OrderStatus =
  'ACCEPTED' | 'TRIGGERED' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'REJECTED' | 'EXPIRED' | 'SETTLED';
export type Liquidity = 'maker' | 'taker';

/** Statuses in which an order can still trade, be cancelled or amended. */
export const OPEN_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'ACCEPTED',
  'TRIGGERED',
  'PARTIALLY_FILLED',
]);

export function isOpenStatus(status: OrderStatus): boolean {
  return OPEN_STATUSES.has(status);
}

/** Body of `POST /api/orders` and `POST /api/risk/validate`. */
export interface PlaceOrderRequest {
  symbol: string;
  side: Side;
  type: OrderType;
  quantity: DecimalText;
  price?: DecimalText;
  stopPrice?: DecimalText;
  timeInForce?: TimeInForce;
  expireTime?: Rfc3339;
  postOnly?: boolean;
  reduceOnly?: boolean;
  clientOrderId?: string;
  selfTradePrevention?: SelfTradePrevention;
}

export interface Fill {
  tradeId: string;
  price: DecimalText;
  quantity: DecimalText;
  fee: DecimalText;
  feeAsset: string;
  liquidity: Liquidity;
  time: Rfc3339;
}

export interface Order {
  orderId: string;
  clientOrderId: string;
  accountId: string;
  symbol: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  price: DecimalText | null;
  stopPrice: DecimalText | null;
  quantity: DecimalText;
  filledQuantity: DecimalText;
  remainingQuantity: DecimalText;
  averagePrice: DecimalText | null;
  status: OrderStatus;
  rejectReason: string | null;
  postOnly: boolean;
  reduceOnly: boolean;
  createdAt: Rfc3339;
  updatedAt: Rfc3339;
  /** Present on the answer to a placement; may be absent elsewhere. */
  fills?: Fill[];
  /** Not in the contract's example; shown when the server sends it. */
  expireTime?: Rfc3339 | null;
}

export interface OrderList {
  orders: Order[];
  nextCursor: string | null;
}

export interface Execution {
  tradeId: string;
  orderId: string;
  symbol: string;
  side: Side;
  price: DecimalText;
  quantity: DecimalText;
  fee: DecimalText;
  feeAsset: string;
  liquidity: Liquidity;
  time: Rfc3339;
}

export interface AmendOrderRequest {
  price?: DecimalText;
  quantity?: DecimalText;
}

export interface Account {
  accountId: string;
  admin: boolean;
}

export interface ValidateResult {
  ok: boolean;
  rejectReason?: string;
  message?: string;
}

export interface Balance {
  asset: string;
  available: DecimalText;
  reserved: DecimalText;
}

export interface Position {
  symbol: string;
  quantity: DecimalText;
  averagePrice: DecimalText | null;
  realizedPnl: DecimalText;
  workingBuy: DecimalText;
  workingSell: DecimalText;
}

export interface Positions {
  balances: Balance[];
  positions: Position[];
}

export interface RiskLimits {
  orderQuantityMax: DecimalText;
  orderNotionalMax: DecimalText;
  positionMax: DecimalText;
  openOrdersMax: number | string;
  ordersPerSecondMax: number | string;
  dailyLossMax: DecimalText;
  concentrationMaxBps: number | string;
  concentrationFloor: DecimalText;
}

export interface Instrument {
  symbol: string;
  base: string;
  quote: string;
  tickSize: DecimalText;
  lotSize: DecimalText;
  minQuantity: DecimalText;
  maxQuantity: DecimalText;
  minNotional: DecimalText;
  maxNotional: DecimalText;
  status: 'trading' | 'halted';
}

export interface Ticker {
  symbol: string;
  last: DecimalText | null;
  bestBid: DecimalText | null;
  bestAsk: DecimalText | null;
  open24h: DecimalText | null;
  high24h: DecimalText | null;
  low24h: DecimalText | null;
  volume24h: DecimalText | null;
  change24h: DecimalText | null;
}

/** One price level: [price, quantity]. */
export type BookLevel = [DecimalText, DecimalText];

/**
 * The contract does not say whether `sequence` is a JSON number or a string (ids are
 * strings). Both are accepted and read into a BigInt (see lib/book.ts `toSequence`).
 */
export type SequenceValue = number | string;

export interface OrderBookSnapshot {
  symbol: string;
  sequence: SequenceValue;
  bids: BookLevel[];
  asks: BookLevel[];
}

export type CandleInterval = '1m' | '5m' | '1h';
export const CANDLE_INTERVALS: readonly CandleInterval[] = ['1m', '5m', '1h'];

export interface Candle {
  time: Rfc3339;
  open: DecimalText;
  high: DecimalText;
  low: DecimalText;
  close: DecimalText;
  volume: DecimalText;
}

export interface Candles {
  symbol: string;
  interval: CandleInterval;
  candles: Candle[];
}

export interface DemoAccount {
  accountId: string;
  apiKey: string;
  admin: boolean;
}

// ---- WebSocket messages -------------------------------------------------------------------

export type MarketChannel = 'book' | 'trades' | 'ticker' | `candles:${CandleInterval}`;

export interface MarketSubscription {
  op: 'subscribe' | 'unsubscribe';
  channels: MarketChannel[];
  symbols: string[];
}

export interface BookSnapshotMessage {
  channel: 'book';
  symbol: string;
  type: 'snapshot';
  sequence: SequenceValue;
  bids: BookLevel[];
  asks: BookLevel[];
}

export interface BookDeltaMessage {
  channel: 'book';
  symbol: string;
  type: 'delta';
  sequence: SequenceValue;
  prevSequence: SequenceValue;
  bids: BookLevel[];
  asks: BookLevel[];
}

export interface MarketTrade {
  tradeId: string;
  price: DecimalText;
  quantity: DecimalText;
  takerSide: Side;
  time: Rfc3339;
}

export interface TradesMessage {
  channel: 'trades';
  symbol: string;
  trades: MarketTrade[];
}

export interface TickerMessage extends Ticker {
  channel: 'ticker';
}

export interface CandleMessage {
  channel: 'candles';
  symbol: string;
  interval: CandleInterval;
  candle: Candle;
}

export type MarketDataMessage = BookSnapshotMessage | BookDeltaMessage | TradesMessage | TickerMessage | CandleMessage;

export type OrdersStreamMessage = { type: 'order'; order: Order } | { type: 'fill'; execution: Execution };
