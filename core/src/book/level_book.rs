//! The fast book: a slab of nodes linked into per-level FIFO queues, and per ladder a
//! sorted vector of levels with the best level at the end.
//!
//! Why this shape: the hot operations are "look at the best level" (last element, O(1)),
//! "append to a level near the top" (binary search over a small contiguous array),
//! "remove by id" (hash lookup + O(1) unlink) and "pop the emptied best level" (truncate).
//! A `BTreeMap<Price, VecDeque<_>>` allocates per level and per order and chases pointers;
//! a tick-indexed array wastes memory on wide price ranges. Levels deep in the book cost a
//! memmove on insert/delete, which for the usual few hundred levels is a few cache lines.
//! All storage is reserved up front, so nothing allocates after construction.

use std::ops::ControlFlow;

use rustc_hash::FxHashMap;

use super::{BookFull, LevelSummary, PriceTimeBook};
use crate::model::{Order, OrderId, Price, Quantity, Side};

/// Slab index of a node; `NIL` marks the end of a queue.
type NodeIndex = u32;
const NIL: NodeIndex = NodeIndex::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    order: Order,
    /// Queue key: the limit price in order books, the trigger price in stop books.
    price: Price,
    ladder: Side,
    prev: NodeIndex,
    next: NodeIndex,
}

#[derive(Clone, Copy, Debug)]
struct Level {
    price: Price,
    /// Sum of `leaves` of the queued orders, in lots.
    quantity: i64,
    orders: u32,
    head: NodeIndex,
    tail: NodeIndex,
}

/// Levels of one side, sorted so that the best level is last.
#[derive(Debug)]
struct Ladder {
    side: Side,
    levels: Vec<Level>,
}

impl Ladder {
    fn new(side: Side, levels_max: usize) -> Self {
        Self { side, levels: Vec::with_capacity(levels_max) }
    }

    /// Binary search in worst-to-best order: bids ascend, asks descend.
    #[inline]
    fn search(&self, price: Price) -> Result<usize, usize> {
        match self.side {
            Side::Buy => self.levels.binary_search_by(|l| l.price.cmp(&price)),
            Side::Sell => self.levels.binary_search_by(|l| price.cmp(&l.price)),
        }
    }
}

/// Fast price-time book; see the module docs.
#[derive(Debug)]
pub struct LevelBook {
    nodes: Vec<Node>,
    free: Vec<NodeIndex>,
    index: FxHashMap<OrderId, NodeIndex>,
    bids: Ladder,
    asks: Ladder,
    orders_max: usize,
}

impl LevelBook {
    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn allocate(&mut self, node: Node) -> NodeIndex {
        if let Some(slot) = self.free.pop() {
            self.nodes[slot as usize] = node;
            slot
        } else {
            // Below capacity (checked by the caller), so this push never reallocates.
            self.nodes.push(node);
            (self.nodes.len() - 1) as NodeIndex
        }
    }
}

impl PriceTimeBook for LevelBook {
    fn with_capacity(orders_max: usize) -> Self {
        assert!(orders_max < NIL as usize, "book capacity must fit a node index");
        let mut index = FxHashMap::default();
        index.reserve(orders_max);
        Self {
            nodes: Vec::with_capacity(orders_max),
            free: Vec::with_capacity(orders_max),
            index,
            // Every order could sit on its own level.
            bids: Ladder::new(Side::Buy, orders_max),
            asks: Ladder::new(Side::Sell, orders_max),
            orders_max,
        }
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn capacity(&self) -> usize {
        self.orders_max
    }

    fn insert(&mut self, ladder: Side, price: Price, order: Order) -> Result<(), BookFull> {
        if self.is_full() {
            return Err(BookFull);
        }
        assert!(!self.index.contains_key(&order.id), "order id already in book");
        let slot = self.allocate(Node { order, price, ladder, prev: NIL, next: NIL });
        self.index.insert(order.id, slot);
        let leaves = order.leaves.0;
        let side = self.ladder_mut(ladder);
        match side.search(price) {
            Ok(at) => {
                let level = &mut side.levels[at];
                let tail = level.tail;
                level.tail = slot;
                level.quantity += leaves;
                level.orders += 1;
                self.nodes[tail as usize].next = slot;
                self.nodes[slot as usize].prev = tail;
            }
            Err(at) => {
                let level = Level { price, quantity: leaves, orders: 1, head: slot, tail: slot };
                side.levels.insert(at, level);
            }
        }
        Ok(())
    }

    fn remove(&mut self, id: OrderId) -> Option<Order> {
        let slot = self.index.remove(&id)?;
        let node = self.nodes[slot as usize];
        let side = match node.ladder {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let at = side.search(node.price).expect("a queued order's level exists");
        let level = &mut side.levels[at];
        level.quantity -= node.order.leaves.0;
        level.orders -= 1;
        if level.orders == 0 {
            side.levels.remove(at);
        } else {
            if node.prev == NIL {
                level.head = node.next;
            } else {
                self.nodes[node.prev as usize].next = node.next;
            }
            if node.next == NIL {
                level.tail = node.prev;
            } else {
                self.nodes[node.next as usize].prev = node.prev;
            }
        }
        self.free.push(slot);
        Some(node.order)
    }

    fn get(&self, id: OrderId) -> Option<&Order> {
        self.index.get(&id).map(|slot| &self.nodes[*slot as usize].order)
    }

    fn update(&mut self, id: OrderId, change: impl FnOnce(&mut Order)) -> bool {
        let Some(&slot) = self.index.get(&id) else {
            return false;
        };
        let node = &mut self.nodes[slot as usize];
        let before = node.order.leaves;
        change(&mut node.order);
        assert_eq!(node.order.id, id, "update must not change the order id");
        let delta = node.order.leaves.0 - before.0;
        if delta != 0 {
            let (ladder, price) = (node.ladder, node.price);
            let side = self.ladder_mut(ladder);
            let at = side.search(price).expect("a queued order's level exists");
            side.levels[at].quantity += delta;
        }
        true
    }

    #[inline]
    fn best(&self, ladder: Side) -> Option<(Price, &Order)> {
        let level = self.ladder(ladder).levels.last()?;
        Some((level.price, &self.nodes[level.head as usize].order))
    }

    fn walk(&self, ladder: Side, mut visit: impl FnMut(Price, &Order) -> ControlFlow<()>) {
        for level in self.ladder(ladder).levels.iter().rev() {
            let mut at = level.head;
            while at != NIL {
                let node = &self.nodes[at as usize];
                if visit(level.price, &node.order).is_break() {
                    return;
                }
                at = node.next;
            }
        }
    }

    fn walk_levels(&self, ladder: Side, mut visit: impl FnMut(LevelSummary) -> ControlFlow<()>) {
        for level in self.ladder(ladder).levels.iter().rev() {
            let summary = LevelSummary { price: level.price, quantity: Quantity(level.quantity), orders: level.orders };
            if visit(summary).is_break() {
                return;
            }
        }
    }
}
