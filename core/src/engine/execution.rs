//! Execution: matching a taker against the book, settling fills, ending orders (cancel,
//! expiry, self-trade prevention), firing stops. No recursion: stops fired by a trade are
//! handled by the loop in [`Engine::fire_triggered_stops`], one at a time.

use std::cmp::Reverse;
use std::ops::ControlFlow;

use super::admission::{add_working, transition};
use super::{Engine, stop_ladder};
use crate::book::PriceTimeBook;
use crate::model::{
    CancelOrder, CancelReason, Event, EventSink, Fill, InstrumentId, MassCancel, Order, OrderCancelled, OrderEvent,
    OrderId, OrderUpdate, Price, Quantity, RejectReason, SelfTradePrevention, Sequence, Side, TimeInForce, Timestamp,
    Trade, TradeId, fee_for,
};

/// How a working order ends early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    Cancelled(CancelReason),
    Expired,
}

impl<B: PriceTimeBook> Engine<B> {
    /// Runs an active (non-stop or triggered) order as taker, then rests or cancels the rest.
    pub(super) fn execute(&mut self, mut taker: Order, sink: &mut impl EventSink) {
        if taker.time_in_force == TimeInForce::Fok && !self.fillable_completely(&taker) {
            self.end_order(taker, Ending::Cancelled(CancelReason::FillOrKill), sink);
            return;
        }
        let taker_blocked = self.match_taker(&mut taker, sink);
        if taker.leaves.0 == 0 {
            self.forget(&taker);
            return;
        }
        let reason = if taker_blocked {
            Some(CancelReason::SelfTradePrevention)
        } else if taker.order_type.is_market_like() || !taker.time_in_force.may_rest() {
            Some(CancelReason::ImmediateOrCancel)
        } else if self.market_mut(taker.instrument).book.is_full() {
            // Only a triggered stop-limit can find the book full: admission reserved room
            // for everything else. It cannot rest, so it is cancelled like an IOC rest.
            Some(CancelReason::ImmediateOrCancel)
        } else {
            None
        };
        match reason {
            Some(reason) => self.end_order(taker, Ending::Cancelled(reason), sink),
            None => {
                let market = self.market_mut(taker.instrument);
                market.book.insert(taker.side, taker.price, taker).expect("room checked above");
            }
        }
    }

    /// Matches `taker` against the opposite side; returns whether self-trade prevention
    /// stopped the taker.
    fn match_taker(&mut self, taker: &mut Order, sink: &mut impl EventSink) -> bool {
        let maker_side = taker.side.opposite();
        while taker.leaves.0 > 0 {
            let market = self.market_mut(taker.instrument);
            let Some((price, maker)) = market.book.best(maker_side) else {
                break;
            };
            if !taker.side.crosses(taker.price, price) {
                break;
            }
            #[cfg(feature = "sabotage")]
            if crate::sabotage::armed(crate::sabotage::Sabotage::CrossBook) && !taker.order_type.is_market_like() {
                break;
            }
            let maker = *maker;
            if maker.account == taker.account && taker.self_trade_prevention != SelfTradePrevention::None {
                match taker.self_trade_prevention {
                    SelfTradePrevention::ExpireMaker => {
                        self.cancel_resting(maker, CancelReason::SelfTradePrevention, sink);
                        continue;
                    }
                    SelfTradePrevention::ExpireTaker => return true,
                    SelfTradePrevention::ExpireBoth | SelfTradePrevention::None => {
                        self.cancel_resting(maker, CancelReason::SelfTradePrevention, sink);
                        return true;
                    }
                }
            }
            let quantity = Quantity(taker.leaves.0.min(maker.leaves.0));
            self.fill(taker, maker, price, quantity, sink);
        }
        false
    }

    /// One trade between `taker` and the resting `maker` at the maker's price.
    fn fill(
        &mut self,
        taker: &mut Order,
        mut maker: Order,
        price: Price,
        quantity: Quantity,
        sink: &mut impl EventSink,
    ) {
        for order in [&mut *taker, &mut maker] {
            order.filled.0 += quantity.0;
            order.leaves.0 -= quantity.0;
            let event = if order.leaves.0 == 0 { OrderEvent::FullFill } else { OrderEvent::PartialFill };
            order.status = transition(order.status, event);
        }
        let (buyer, seller) = match taker.side {
            Side::Buy => (&*taker, &maker),
            Side::Sell => (&maker, &*taker),
        };
        let (buyer_fee, seller_fee) = self.settle(buyer, seller, taker.side, price, quantity);
        let (taker_fee, maker_fee) = match taker.side {
            Side::Buy => (buyer_fee, seller_fee),
            Side::Sell => (seller_fee, buyer_fee),
        };
        self.trades += 1;
        let market = self.market_mut(taker.instrument);
        market.last_price = Some(price);
        if maker.leaves.0 == 0 {
            market.book.remove(maker.id);
            self.forget(&maker);
        } else {
            market.book.update(maker.id, |o| *o = maker);
        }
        let side = |o: &Order, fee| Fill {
            order_id: o.id,
            account: o.account,
            fee,
            status: o.status,
            filled: o.filled,
            leaves: o.leaves,
        };
        sink.emit(&Event::Trade(Trade {
            trade_id: TradeId(self.trades),
            instrument: taker.instrument,
            price,
            quantity,
            taker_side: taker.side,
            maker: side(&maker, maker_fee),
            taker: side(taker, taker_fee),
            timestamp: self.now,
        }));
    }

    /// Moves balances for a fill and releases the filled part of both reservations.
    /// Returns the fees (buyer's in base, seller's in quote).
    fn settle(
        &mut self,
        buyer: &Order,
        seller: &Order,
        taker_side: Side,
        price: Price,
        quantity: Quantity,
    ) -> (i64, i64) {
        let index = buyer.instrument.0 as usize;
        let market = self.markets[index].as_ref().expect("market of a working order exists");
        let instrument = &market.instrument;
        let spec = instrument.spec();
        let (base_asset, quote_asset) = (spec.base.0 as usize, spec.quote.0 as usize);
        let (maker_rate, taker_rate) = (spec.maker_fee_ppm, spec.taker_fee_ppm);
        // Both values were computed without overflow at admission at a price at least as
        // far from zero, so these cannot overflow.
        let base = instrument.base_units(quantity).expect("checked at admission");
        let cost = instrument.notional(price, quantity).expect("checked at admission");
        let buyer_held = instrument.notional(buyer.price, quantity).expect("checked at admission");
        let seller_notional = instrument.notional(seller.price, quantity).expect("checked at admission");
        let (buyer_rate, seller_rate) = match taker_side {
            Side::Buy => (taker_rate, maker_rate),
            Side::Sell => (maker_rate, taker_rate),
        };
        let buyer_fee = fee_for(base, buyer_rate);
        let seller_fee = fee_for(cost, seller_rate);
        let now = self.now;
        let buyer_slot = self.accounts.slot(buyer.account).expect("owner exists");
        let account = self.accounts.at_mut(buyer_slot);
        account.balances[quote_asset].reserved -= buyer_held;
        account.balances[quote_asset].available += buyer_held - cost;
        account.balances[base_asset].available += base - buyer_fee;
        add_working(account, index, Side::Buy, -base, -buyer_held);
        let pnl = account.positions[index].apply_trade(base, cost);
        account.book_realized(now, pnl);
        let seller_slot = self.accounts.slot(seller.account).expect("owner exists");
        let account = self.accounts.at_mut(seller_slot);
        account.balances[base_asset].reserved -= base;
        account.balances[quote_asset].available += cost - seller_fee;
        add_working(account, index, Side::Sell, -base, -seller_notional);
        let pnl = account.positions[index].apply_trade(-base, cost);
        account.book_realized(now, pnl);
        self.asset_totals[base_asset].fees += buyer_fee;
        self.asset_totals[quote_asset].fees += seller_fee;
        #[cfg(feature = "sabotage")]
        if crate::sabotage::armed(crate::sabotage::Sabotage::LoseFee) {
            self.asset_totals[quote_asset].fees -= seller_fee;
        }
        #[cfg(feature = "sabotage")]
        if crate::sabotage::armed(crate::sabotage::Sabotage::HiddenState)
            && crate::sabotage::hidden_tick().is_multiple_of(7)
        {
            // Depends on how many trades this *thread* has seen, not on engine state.
            self.trades += 1;
        }
        (buyer_fee, seller_fee)
    }

    /// Whether a FOK taker could fill completely right now, self-trade prevention included.
    fn fillable_completely(&self, taker: &Order) -> bool {
        let Some(market) = self.market(taker.instrument) else {
            return false;
        };
        let mut available = 0i64;
        market.book.walk(taker.side.opposite(), |price, maker| {
            if !taker.side.crosses(taker.price, price) {
                return ControlFlow::Break(());
            }
            if maker.account == taker.account {
                match taker.self_trade_prevention {
                    SelfTradePrevention::None => {}
                    SelfTradePrevention::ExpireMaker => return ControlFlow::Continue(()),
                    SelfTradePrevention::ExpireTaker | SelfTradePrevention::ExpireBoth => {
                        return ControlFlow::Break(());
                    }
                }
            }
            available += maker.leaves.0;
            if available >= taker.leaves.0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        available >= taker.leaves.0
    }

    /// Removes a resting order from the book and ends it.
    fn cancel_resting(&mut self, order: Order, reason: CancelReason, sink: &mut impl EventSink) {
        self.market_mut(order.instrument).book.remove(order.id);
        self.end_order(order, Ending::Cancelled(reason), sink);
    }

    /// Ends a working order that is no longer in any book: releases what its working
    /// quantity holds and emits the ending.
    pub(super) fn end_order(&mut self, mut order: Order, ending: Ending, sink: &mut impl EventSink) {
        let cancelled = order.leaves;
        #[cfg(feature = "sabotage")]
        let leak = crate::sabotage::armed(crate::sabotage::Sabotage::LeakReservation);
        #[cfg(not(feature = "sabotage"))]
        let leak = false;
        if !leak {
            self.release(&order, cancelled);
        }
        #[cfg(feature = "sabotage")]
        let stale = crate::sabotage::armed(crate::sabotage::Sabotage::StaleStatus).then_some(order.status);
        order.status = transition(
            order.status,
            match ending {
                Ending::Cancelled(_) => OrderEvent::Cancel,
                Ending::Expired => OrderEvent::Expire,
            },
        );
        order.leaves = Quantity::ZERO;
        self.forget(&order);
        #[allow(unused_mut, reason = "mutated only with the sabotage feature")]
        let mut update = self.update_of(&order);
        #[cfg(feature = "sabotage")]
        if let Some(stale) = stale {
            update.status = stale;
        }
        sink.emit(&match ending {
            Ending::Cancelled(reason) => Event::OrderCancelled(OrderCancelled { order: update, cancelled, reason }),
            Ending::Expired => Event::OrderExpired(update),
        });
    }

    /// Releases the reservation and exposure of `leaves` of `order`.
    fn release(&mut self, order: &Order, leaves: Quantity) {
        let market = self.market(order.instrument).expect("market of a working order exists");
        let exposure = crate::risk::exposure_of(&market.instrument, order.side, order.price, leaves)
            .expect("no larger than at admission");
        let index = order.instrument.0 as usize;
        let slot = self.accounts.slot(order.account).expect("owner exists");
        let account = self.accounts.at_mut(slot);
        let balance = &mut account.balances[exposure.asset.0 as usize];
        balance.reserved -= exposure.reserved;
        balance.available += exposure.reserved;
        add_working(account, index, order.side, -exposure.base, -exposure.notional);
    }

    /// Drops a finished order from the indexes and the owner's open-order count.
    fn forget(&mut self, order: &Order) {
        self.order_instruments.remove(&order.id);
        self.client_order_ids.remove(&(order.account, order.client_order_id));
        let slot = self.accounts.slot(order.account).expect("owner exists");
        self.accounts.at_mut(slot).open_orders -= 1;
    }

    pub(super) fn update_of(&self, order: &Order) -> OrderUpdate {
        OrderUpdate {
            order_id: order.id,
            account: order.account,
            instrument: order.instrument,
            status: order.status,
            filled: order.filled,
            leaves: order.leaves,
        }
    }

    // ----- Stops ---------------------------------------------------------------------

    /// Whether the last trade has reached the stop's trigger price.
    pub(super) fn stop_reached(&self, order: &Order) -> bool {
        let (Some(market), Some(stop)) = (self.market(order.instrument), order.stop_price) else {
            return false;
        };
        match (market.last_price, order.side) {
            (Some(last), Side::Buy) => last >= stop,
            (Some(last), Side::Sell) => last <= stop,
            (None, _) => false,
        }
    }

    /// Fires every stop whose trigger the last price has reached, buy stops first, each
    /// run to completion before the next (its trades may move the price again).
    pub(super) fn fire_triggered_stops(&mut self, instrument: InstrumentId, sink: &mut impl EventSink) {
        loop {
            let market = self.market_mut(instrument);
            let Some(last) = market.last_price else {
                return;
            };
            let buy = market.stops.best(stop_ladder(Side::Buy)).filter(|(stop, _)| *stop <= last);
            let sell = market.stops.best(stop_ladder(Side::Sell)).filter(|(stop, _)| *stop >= last);
            let Some(id) = buy.or(sell).map(|(_, order)| order.id) else {
                return;
            };
            let mut order = market.stops.remove(id).expect("just seen");
            order.status = transition(order.status, OrderEvent::Trigger);
            sink.emit(&Event::OrderTriggered(self.update_of(&order)));
            self.execute(order, sink);
        }
    }

    // ----- Cancels and expiry --------------------------------------------------------

    pub(super) fn cancel_order(&mut self, sequence: Sequence, request: &CancelOrder, sink: &mut impl EventSink) {
        let owned = self.order(request.order_id).is_some_and(|o| o.account == request.account);
        if !owned {
            // Someone else's order is reported as unknown: ids must not leak ownership.
            Self::reject(sink, sequence, Some(request.account), Some(request.order_id), RejectReason::UnknownOrder);
            return;
        }
        self.take_and_end(request.order_id, Ending::Cancelled(CancelReason::Requested), sink);
    }

    /// Removes a working order from its book or stop book and ends it.
    fn take_and_end(&mut self, id: OrderId, ending: Ending, sink: &mut impl EventSink) -> bool {
        let Some(&instrument) = self.order_instruments.get(&id) else {
            return false;
        };
        let market = self.market_mut(instrument);
        let Some(order) = market.book.remove(id).or_else(|| market.stops.remove(id)) else {
            return false;
        };
        self.end_order(order, ending, sink);
        true
    }

    pub(super) fn mass_cancel(&mut self, sequence: Sequence, request: &MassCancel, sink: &mut impl EventSink) {
        if self.accounts.slot(request.account).is_none() {
            Self::reject(sink, sequence, Some(request.account), None, RejectReason::UnknownAccount);
            return;
        }
        if request.instrument.is_some_and(|id| self.market(id).is_none()) {
            Self::reject(sink, sequence, Some(request.account), None, RejectReason::UnknownInstrument);
            return;
        }
        self.cancel_where(Some(request.account), request.instrument, CancelReason::MassCancel, sink);
    }

    /// Cancels every working order of `account` (all accounts when `None`) on `instrument`
    /// (all when `None`), in instrument order then book priority order.
    pub(super) fn cancel_where(
        &mut self,
        account: Option<crate::model::AccountId>,
        instrument: Option<InstrumentId>,
        reason: CancelReason,
        sink: &mut impl EventSink,
    ) {
        let mut ids = std::mem::take(&mut self.scratch_ids);
        ids.clear();
        for market in self.markets.iter().flatten() {
            if instrument.is_some_and(|id| id != market.instrument.id()) {
                continue;
            }
            let mut collect = |_: Price, o: &Order| {
                if account.is_none_or(|a| a == o.account) {
                    ids.push(o.id);
                }
                ControlFlow::Continue(())
            };
            market.book.walk(Side::Buy, &mut collect);
            market.book.walk(Side::Sell, &mut collect);
            market.stops.walk(stop_ladder(Side::Buy), &mut collect);
            market.stops.walk(stop_ladder(Side::Sell), &mut collect);
        }
        for id in &ids {
            self.take_and_end(*id, Ending::Cancelled(reason), sink);
        }
        self.scratch_ids = ids;
    }

    pub(super) fn schedule_expiry(&mut self, expire: Timestamp, id: OrderId) {
        if self.expiries.len() >= self.expiries_max {
            // Only stale entries can fill the heap beyond the working-order bound.
            let live = &self.order_instruments;
            self.expiries.retain(|Reverse((_, id))| live.contains_key(id));
        }
        self.expiries.push(Reverse((expire, id)));
    }

    /// Expires every GTD order whose time has come, soonest first.
    pub(super) fn expire_due(&mut self, sink: &mut impl EventSink) {
        while let Some(&Reverse((expire, id))) = self.expiries.peek() {
            if expire > self.now {
                return;
            }
            self.expiries.pop();
            let due = self.order(id).is_some_and(|o| o.expire_time == Some(expire));
            if due {
                self.take_and_end(id, Ending::Expired, sink);
            }
        }
    }
}
