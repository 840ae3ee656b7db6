//! Price-time priority order books.
//!
//! [`PriceTimeBook`] is the narrow interface the matcher needs: queues of orders at price
//! levels on two ladders, front-of-queue access, O(1) removal by id and in-place updates.
//! [`LevelBook`] is the fast implementation; [`NaiveBook`] is an obviously-correct
//! reference kept as the test oracle (exchange-core's Direct vs Naive pair). The engine is
//! generic over the book, so the differential tests run the *whole* engine on both and
//! compare events and state hashes.
//!
//! A ladder is named by the [`Side`] of the orders on it: the `Buy` ladder (bids) puts the
//! highest price first, the `Sell` ladder (asks) the lowest. Stop books reuse the same
//! structure keyed by trigger price (see `engine::stops`).

mod level_book;
mod naive_book;

use std::ops::ControlFlow;

pub use level_book::LevelBook;
pub use naive_book::NaiveBook;

use crate::model::{Order, OrderId, Price, Quantity, Side};

/// The book holds `capacity` orders already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookFull;

/// Aggregated quantity at one price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelSummary {
    /// Price of the level.
    pub price: Price,
    /// Sum of working quantity.
    pub quantity: Quantity,
    /// Number of orders queued.
    pub orders: u32,
}

/// Queues of orders by price level, best level first, oldest order first within a level.
pub trait PriceTimeBook {
    /// An empty book that will never hold more than `orders_max` orders and never
    /// allocates after construction.
    fn with_capacity(orders_max: usize) -> Self;

    /// Orders held.
    fn len(&self) -> usize;

    /// Whether no order is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Most orders it may hold.
    fn capacity(&self) -> usize;

    /// Whether another insert would fail.
    fn is_full(&self) -> bool {
        self.len() >= self.capacity()
    }

    /// Queues `order` at the back of `price` on `ladder`. The id must not be present.
    fn insert(&mut self, ladder: Side, price: Price, order: Order) -> Result<(), BookFull>;

    /// Removes and returns the order.
    fn remove(&mut self, id: OrderId) -> Option<Order>;

    /// The order with this id.
    fn get(&self, id: OrderId) -> Option<&Order>;

    /// Changes an order in place, keeping its queue position. Level totals follow the
    /// change of `leaves`. Returns `false` when the id is unknown.
    fn update(&mut self, id: OrderId, change: impl FnOnce(&mut Order)) -> bool;

    /// The front order of the best level on `ladder`, with the level's price.
    fn best(&self, ladder: Side) -> Option<(Price, &Order)>;

    /// Visits orders on `ladder` in priority order until `visit` breaks.
    fn walk(&self, ladder: Side, visit: impl FnMut(Price, &Order) -> ControlFlow<()>);

    /// Visits levels on `ladder`, best first, until `visit` breaks.
    fn walk_levels(&self, ladder: Side, visit: impl FnMut(LevelSummary) -> ControlFlow<()>);
}

#[cfg(test)]
mod tests;
