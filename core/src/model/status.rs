//! The order state machine: one exhaustive table of legal transitions.
//!
//! Every change of [`OrderStatus`] goes through [`OrderStatus::on`]. There is no `_` arm:
//! adding a status or an event fails to compile until every pair is decided. An illegal
//! pair inside the engine is a bug, so the engine asserts on it.

use thiserror::Error;

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Received, not yet checked.
    New,
    /// Passed validation and risk; working (resting, or a stop waiting for its trigger).
    Accepted,
    /// A stop whose trigger fired; now working as a market or limit order.
    Triggered,
    /// Some quantity filled, the rest working.
    PartiallyFilled,
    /// Fully filled; balances are moved by the engine at fill time.
    Filled,
    /// Cancelled (by the owner, mass cancel, kill switch, IOC/FOK rest, self-trade prevention).
    Cancelled,
    /// Refused by validation or risk; never worked.
    Rejected,
    /// GTD order reached its expiry time.
    Expired,
    /// Fills booked downstream (clearing / persistence). The engine settles balances at fill
    /// time and ends at `Filled`; history stores move `Filled → Settled` once the
    /// executions are persisted, through this same table.
    Settled,
}

impl OrderStatus {
    /// Whether no further event can change the order's quantities.
    pub fn is_final(self) -> bool {
        match self {
            OrderStatus::New | OrderStatus::Accepted | OrderStatus::Triggered | OrderStatus::PartiallyFilled => false,
            OrderStatus::Filled
            | OrderStatus::Cancelled
            | OrderStatus::Rejected
            | OrderStatus::Expired
            | OrderStatus::Settled => true,
        }
    }

    /// The status as every API spells it (`NEW`, `PARTIALLY_FILLED`, ...): HTTP, Kafka
    /// messages and MongoDB documents all use this one table.
    pub fn code(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::Accepted => "ACCEPTED",
            OrderStatus::Triggered => "TRIGGERED",
            OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Expired => "EXPIRED",
            OrderStatus::Settled => "SETTLED",
        }
    }

    /// All statuses, for table tests and exhaustive reports.
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::New,
        OrderStatus::Accepted,
        OrderStatus::Triggered,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
        OrderStatus::Settled,
    ];
}

/// Something that happens to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderEvent {
    /// Validation and risk passed.
    Accept,
    /// Validation or risk refused it.
    Reject,
    /// A stop's trigger price was reached.
    Trigger,
    /// A fill that leaves quantity working.
    PartialFill,
    /// A fill that completes the order.
    FullFill,
    /// Price and/or quantity changed.
    Amend,
    /// Cancelled for any reason.
    Cancel,
    /// GTD time reached.
    Expire,
    /// Fills booked downstream.
    Settle,
}

impl OrderEvent {
    /// All events, for table tests.
    pub const ALL: [OrderEvent; 9] = [
        OrderEvent::Accept,
        OrderEvent::Reject,
        OrderEvent::Trigger,
        OrderEvent::PartialFill,
        OrderEvent::FullFill,
        OrderEvent::Amend,
        OrderEvent::Cancel,
        OrderEvent::Expire,
        OrderEvent::Settle,
    ];
}

/// An event that is not legal in the order's current status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("order event {event:?} is illegal in status {from:?}")]
pub struct IllegalTransition {
    /// Status the order was in.
    pub from: OrderStatus,
    /// Event that was refused.
    pub event: OrderEvent,
}

impl OrderStatus {
    /// The status after `event`, or why it cannot happen.
    #[rustfmt::skip]
    pub fn on(self, event: OrderEvent) -> Result<OrderStatus, IllegalTransition> {
        use OrderEvent as E;
        use OrderStatus as S;
        let next = match (self, event) {
            (S::New, E::Accept)                  => S::Accepted,
            (S::New, E::Reject)                  => S::Rejected,
            // Nothing trades, triggers or cancels before the order is accepted.
            (S::New, E::Trigger | E::PartialFill | E::FullFill | E::Amend | E::Cancel | E::Expire | E::Settle) => return Err(self.illegal(event)),

            (S::Accepted, E::Trigger)            => S::Triggered,
            (S::Accepted, E::PartialFill)        => S::PartiallyFilled,
            (S::Accepted, E::FullFill)           => S::Filled,
            (S::Accepted, E::Amend)              => S::Accepted,
            (S::Accepted, E::Cancel)             => S::Cancelled,
            (S::Accepted, E::Expire)             => S::Expired,
            (S::Accepted, E::Accept | E::Reject | E::Settle) => return Err(self.illegal(event)),

            (S::Triggered, E::PartialFill)       => S::PartiallyFilled,
            (S::Triggered, E::FullFill)          => S::Filled,
            (S::Triggered, E::Amend)             => S::Triggered,
            (S::Triggered, E::Cancel)            => S::Cancelled,
            (S::Triggered, E::Expire)            => S::Expired,
            // A stop triggers once; a triggered order is never re-accepted or rejected.
            (S::Triggered, E::Accept | E::Reject | E::Trigger | E::Settle) => return Err(self.illegal(event)),

            (S::PartiallyFilled, E::PartialFill) => S::PartiallyFilled,
            (S::PartiallyFilled, E::FullFill)    => S::Filled,
            (S::PartiallyFilled, E::Amend)       => S::PartiallyFilled,
            (S::PartiallyFilled, E::Cancel)      => S::Cancelled,
            (S::PartiallyFilled, E::Expire)      => S::Expired,
            // A partially filled stop-limit already triggered before it could fill.
            (S::PartiallyFilled, E::Accept | E::Reject | E::Trigger | E::Settle) => return Err(self.illegal(event)),

            (S::Filled, E::Settle)               => S::Settled,
            (S::Filled, E::Accept | E::Reject | E::Trigger | E::PartialFill | E::FullFill | E::Amend | E::Cancel | E::Expire) => return Err(self.illegal(event)),

            // Final states accept nothing. A cancelled order with fills settles those fills
            // in the history store without changing its status.
            (S::Cancelled | S::Rejected | S::Expired | S::Settled, E::Accept | E::Reject | E::Trigger | E::PartialFill | E::FullFill | E::Amend | E::Cancel | E::Expire | E::Settle) => return Err(self.illegal(event)),
        };
        Ok(next)
    }

    fn illegal(self, event: OrderEvent) -> IllegalTransition {
        IllegalTransition { from: self, event }
    }
}
