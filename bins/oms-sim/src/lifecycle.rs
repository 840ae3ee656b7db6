//! Order lifecycles as the event stream tells them: every status an event reports must be
//! reachable from the order's previous status through the state machine
//! ([`OrderStatus::on`]), and no event may name an order that is unknown or already final.

use std::collections::BTreeMap;

use oms_core::prelude::*;

/// An order event that the state machine does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IllegalLifecycle {
    /// Order.
    pub order: OrderId,
    /// Status before the event (`None`: unknown or already final).
    pub from: Option<OrderStatus>,
    /// What happened.
    pub event: OrderEvent,
    /// Status the event reported.
    pub reported: OrderStatus,
}

/// Status of every order that is still live.
#[derive(Clone, Debug, Default)]
pub struct Lifecycles {
    live: BTreeMap<OrderId, OrderStatus>,
    /// Orders seen reaching a final status.
    pub ended: u64,
    /// Orders seen accepted.
    pub accepted: u64,
}

impl Lifecycles {
    /// Checks one event and records its effect.
    pub fn observe(&mut self, event: &Event) -> Result<(), IllegalLifecycle> {
        match event {
            Event::OrderAccepted(order) => {
                self.accepted += 1;
                self.step(order.id, Some(OrderStatus::New), OrderEvent::Accept, order.status)
            }
            Event::OrderTriggered(u) => self.known(u.order_id, OrderEvent::Trigger, u.status),
            Event::Trade(trade) => {
                for fill in [trade.maker, trade.taker] {
                    let event = if fill.leaves.0 == 0 { OrderEvent::FullFill } else { OrderEvent::PartialFill };
                    self.known(fill.order_id, event, fill.status)?;
                }
                Ok(())
            }
            Event::OrderCancelled(c) => self.known(c.order.order_id, OrderEvent::Cancel, c.order.status),
            Event::OrderExpired(u) => self.known(u.order_id, OrderEvent::Expire, u.status),
            Event::OrderAmended(a) => self.known(a.order.order_id, OrderEvent::Amend, a.order.status),
            Event::Rejected(_) | Event::BalanceChanged(_) | Event::AdminApplied(_) => Ok(()),
        }
    }

    fn known(&mut self, order: OrderId, event: OrderEvent, reported: OrderStatus) -> Result<(), IllegalLifecycle> {
        let from = self.live.get(&order).copied();
        self.step(order, from, event, reported)
    }

    fn step(
        &mut self,
        order: OrderId,
        from: Option<OrderStatus>,
        event: OrderEvent,
        reported: OrderStatus,
    ) -> Result<(), IllegalLifecycle> {
        let illegal = IllegalLifecycle { order, from, event, reported };
        let next = from.ok_or(illegal)?.on(event).map_err(|_| illegal)?;
        if next != reported {
            return Err(illegal);
        }
        if next.is_final() {
            self.live.remove(&order);
            self.ended += 1;
        } else {
            self.live.insert(order, next);
        }
        Ok(())
    }

    /// Orders still live.
    pub fn live(&self) -> usize {
        self.live.len()
    }
}
