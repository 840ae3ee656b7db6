//! Order vocabulary (side, type, time in force, self-trade prevention) and the live order.

use super::fixed::{Price, Quantity};
use super::ids::{AccountId, ClientOrderId, InstrumentId, OrderId, Timestamp};
use super::status::OrderStatus;

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Bid: pays quote, receives base.
    Buy,
    /// Ask: pays base, receives quote.
    Sell,
}

impl Side {
    /// The other side.
    #[inline]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// Whether a taker on this side with `limit` may trade against a maker at `maker_price`.
    #[inline]
    pub fn crosses(self, limit: Price, maker_price: Price) -> bool {
        match self {
            Side::Buy => maker_price <= limit,
            Side::Sell => maker_price >= limit,
        }
    }
}

/// How the order is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Trades at `price` or better; the rest may rest.
    Limit,
    /// Trades immediately down to a protection price; never rests.
    Market,
    /// Waits for the last trade to reach `stop_price`, then acts as a market order.
    Stop,
    /// Waits for the last trade to reach `stop_price`, then acts as a limit order at `price`.
    StopLimit,
}

impl OrderType {
    /// Whether the order waits for a trigger before it may trade.
    #[inline]
    pub fn is_stop(self) -> bool {
        matches!(self, OrderType::Stop | OrderType::StopLimit)
    }

    /// Whether, once active, the order trades at any price down to its protection price.
    #[inline]
    pub fn is_market_like(self) -> bool {
        matches!(self, OrderType::Market | OrderType::Stop)
    }
}

/// How long an order stays working.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel: the unfilled rest is cancelled.
    Ioc,
    /// Fill or kill: all at once or nothing.
    Fok,
    /// Good till date: expires at `expire_time` (command time, never the wall clock).
    Gtd,
}

impl TimeInForce {
    /// Whether an unfilled rest may sit in the book.
    #[inline]
    pub fn may_rest(self) -> bool {
        matches!(self, TimeInForce::Gtc | TimeInForce::Gtd)
    }
}

/// What happens when a taker would trade with a resting order of the same account.
/// The taker's mode decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelfTradePrevention {
    /// Self-trades are allowed.
    None,
    /// Cancel the resting (maker) order and keep matching.
    ExpireMaker,
    /// Cancel the rest of the incoming (taker) order.
    ExpireTaker,
    /// Cancel both.
    ExpireBoth,
}

/// An order the engine is working: resting in a book, or waiting for its trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// Engine id (the creating command's sequence).
    pub id: OrderId,
    /// Owner.
    pub account: AccountId,
    /// The owner's id for it.
    pub client_order_id: ClientOrderId,
    /// Instrument traded.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// Pricing.
    pub order_type: OrderType,
    /// Lifetime.
    pub time_in_force: TimeInForce,
    /// Self-trade prevention mode when this order takes.
    pub self_trade_prevention: SelfTradePrevention,
    /// Refuse to take liquidity.
    pub post_only: bool,
    /// May only reduce the account's position.
    pub reduce_only: bool,
    /// Lifecycle status (changed only through [`OrderStatus::on`]).
    pub status: OrderStatus,
    /// Limit price, or for market-like orders the protection price (worst acceptable).
    pub price: Price,
    /// Trigger price of stop orders.
    pub stop_price: Option<Price>,
    /// Total quantity ordered.
    pub quantity: Quantity,
    /// Quantity filled so far.
    pub filled: Quantity,
    /// Quantity still working: `quantity - filled` while the order lives.
    pub leaves: Quantity,
    /// GTD expiry instant.
    pub expire_time: Option<Timestamp>,
    /// Timestamp of the creating command.
    pub created: Timestamp,
}
