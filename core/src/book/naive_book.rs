//! The reference book: one vector in arrival order, scanned for every question.
//!
//! Deliberately simple enough to be obviously right; it is the oracle for [`LevelBook`]
//! (and for the whole engine, which is generic over the book). It allocates freely and is
//! O(n) everywhere; never use it outside tests.
//!
//! [`LevelBook`]: super::LevelBook

use std::ops::ControlFlow;

use super::{BookFull, LevelSummary, PriceTimeBook};
use crate::model::{Order, OrderId, Price, Quantity, Side};

/// Obviously-correct reference book; see the module docs.
#[derive(Debug, Default)]
pub struct NaiveBook {
    /// `(ladder, price, order)` in arrival order, which is time priority.
    entries: Vec<(Side, Price, Order)>,
    orders_max: usize,
}

impl NaiveBook {
    /// Entries of `ladder` in priority order: better price first, then arrival.
    fn sorted(&self, ladder: Side) -> Vec<(Price, Order)> {
        let mut queue: Vec<(Price, Order)> = self
            .entries
            .iter()
            .filter(|(side, _, _)| *side == ladder)
            .map(|(_, price, order)| (*price, *order))
            .collect();
        // Stable sort keeps arrival order within a price.
        match ladder {
            Side::Buy => queue.sort_by_key(|entry| std::cmp::Reverse(entry.0)),
            Side::Sell => queue.sort_by_key(|entry| entry.0),
        }
        queue
    }
}

impl PriceTimeBook for NaiveBook {
    fn with_capacity(orders_max: usize) -> Self {
        Self { entries: Vec::new(), orders_max }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn capacity(&self) -> usize {
        self.orders_max
    }

    fn insert(&mut self, ladder: Side, price: Price, order: Order) -> Result<(), BookFull> {
        if self.is_full() {
            return Err(BookFull);
        }
        assert!(self.get(order.id).is_none(), "order id already in book");
        self.entries.push((ladder, price, order));
        Ok(())
    }

    fn remove(&mut self, id: OrderId) -> Option<Order> {
        let at = self.entries.iter().position(|(_, _, o)| o.id == id)?;
        Some(self.entries.remove(at).2)
    }

    fn get(&self, id: OrderId) -> Option<&Order> {
        self.entries.iter().find(|(_, _, o)| o.id == id).map(|(_, _, o)| o)
    }

    fn update(&mut self, id: OrderId, change: impl FnOnce(&mut Order)) -> bool {
        match self.entries.iter_mut().find(|(_, _, o)| o.id == id) {
            Some((_, _, order)) => {
                change(order);
                true
            }
            None => false,
        }
    }

    fn best(&self, ladder: Side) -> Option<(Price, &Order)> {
        let best_price =
            self.entries.iter().filter(|(side, _, _)| *side == ladder).map(|(_, price, _)| *price).reduce(|a, b| {
                match ladder {
                    Side::Buy => a.max(b),
                    Side::Sell => a.min(b),
                }
            })?;
        self.entries
            .iter()
            .find(|(side, price, _)| *side == ladder && *price == best_price)
            .map(|(_, price, order)| (*price, order))
    }

    fn walk(&self, ladder: Side, mut visit: impl FnMut(Price, &Order) -> ControlFlow<()>) {
        for (price, order) in self.sorted(ladder) {
            if visit(price, &order).is_break() {
                return;
            }
        }
    }

    fn walk_levels(&self, ladder: Side, mut visit: impl FnMut(LevelSummary) -> ControlFlow<()>) {
        let queue = self.sorted(ladder);
        let mut at = 0;
        while at < queue.len() {
            let price = queue[at].0;
            let level: Vec<_> = queue[at..].iter().take_while(|(p, _)| *p == price).collect();
            let quantity = level.iter().map(|(_, o)| o.leaves.0).sum();
            let summary = LevelSummary { price, quantity: Quantity(quantity), orders: level.len() as u32 };
            at += level.len();
            if visit(summary).is_break() {
                return;
            }
        }
    }
}
