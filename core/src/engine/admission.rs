//! Admission of new orders and amends: static validation, pre-trade risk, then the
//! reservation. Everything up to the reservation is read-only, so a refusal changes nothing.

use super::{Engine, Market, stop_ladder};
use crate::book::PriceTimeBook;
use crate::model::{
    AmendOrder, Event, EventSink, NewOrder, Order, OrderEvent, OrderId, OrderStatus, OrderType, Price, Quantity,
    RejectReason, Rejected, Sequence, Side, TimeInForce,
};
use crate::risk::{NewOrderRisk, OrderExposure, Reservation, check_new_order, exposure_of};

type Admitted = (Order, Reservation, usize);

impl<B: PriceTimeBook> Engine<B> {
    pub(super) fn new_order(&mut self, sequence: Sequence, request: &NewOrder, sink: &mut impl EventSink) {
        let order_id = OrderId(sequence.0);
        match self.admit(order_id, request) {
            Err(reason) => sink.emit(&Event::Rejected(Rejected {
                sequence,
                account: Some(request.account),
                order_id: Some(order_id),
                client_order_id: Some(request.client_order_id),
                reason,
            })),
            Ok((order, reservation, slot)) => self.accept(order, reservation, slot, sink),
        }
    }

    /// Runs every validation and risk check for `request` as if it arrived now, without
    /// changing anything (`/api/risk/validate`, dry runs).
    pub fn check_new_order(&self, request: &NewOrder) -> Result<(), RejectReason> {
        self.admit(OrderId(u64::MAX), request).map(|_| ())
    }

    /// Every check for a new order; returns the order as it will work, what it reserves,
    /// and the owner's account slot.
    fn admit(&self, order_id: OrderId, request: &NewOrder) -> Result<Admitted, RejectReason> {
        use RejectReason as R;
        let market = self.market(request.instrument).ok_or(R::UnknownInstrument)?;
        if market.status != crate::model::InstrumentStatus::Trading {
            return Err(R::InstrumentHalted);
        }
        let slot = self.accounts.slot(request.account).ok_or(R::UnknownAccount)?;
        check_quantity(market, request.quantity)?;
        check_shape(request, self.now)?;
        let price = effective_price(market, request)?;
        check_notional(market, price, request.quantity)?;
        if self.client_order_ids.contains_key(&(request.account, request.client_order_id)) {
            return Err(R::DuplicateClientOrderId);
        }
        if request.post_only && would_take(market, request.side, price) {
            return Err(R::PostOnlyWouldTake);
        }
        let rests = request.order_type == OrderType::Limit && request.time_in_force.may_rest();
        if (rests || request.order_type == OrderType::StopLimit) && market.book.is_full()
            || request.order_type.is_stop() && market.stops.is_full()
        {
            return Err(R::BookFull);
        }
        let risk = NewOrderRisk {
            side: request.side,
            price,
            quantity: request.quantity,
            reduce_only: request.reduce_only,
            now: self.now,
            global_kill: self.global_kill,
        };
        let reservation = check_new_order(self.accounts.at(slot), &market.instrument, &risk)?;
        let order = request.to_order(order_id, price, self.now);
        Ok((order, reservation, slot))
    }

    /// Applies the reservation, records the order and sends it on its way.
    fn accept(&mut self, mut order: Order, reservation: Reservation, slot: usize, sink: &mut impl EventSink) {
        order.status = transition(order.status, OrderEvent::Accept);
        let now = self.now;
        let account = self.accounts.at_mut(slot);
        account.count_order(now);
        hold(account, order.instrument.0 as usize, order.side, &reservation);
        account.open_orders += 1;
        self.order_instruments.insert(order.id, order.instrument);
        self.client_order_ids.insert((order.account, order.client_order_id), order.id);
        if let Some(expire) = order.expire_time {
            self.schedule_expiry(expire, order.id);
        }
        sink.emit(&Event::OrderAccepted(order));
        let instrument = order.instrument;
        if order.order_type.is_stop() && !self.stop_reached(&order) {
            let stop_price = order.stop_price.expect("stop orders carry a stop price (admission)");
            let market = self.market_mut(instrument);
            market
                .stops
                .insert(stop_ladder(order.side), stop_price, order)
                .expect("stop book has room (checked at admission)");
            return;
        }
        if order.order_type.is_stop() {
            order.status = transition(order.status, OrderEvent::Trigger);
            sink.emit(&Event::OrderTriggered(self.update_of(&order)));
        }
        self.execute(order, sink);
        self.fire_triggered_stops(instrument, sink);
    }

    pub(super) fn amend_order(&mut self, sequence: Sequence, request: &AmendOrder, sink: &mut impl EventSink) {
        match self.admit_amend(request) {
            Err(reason) => Self::reject(sink, sequence, Some(request.account), Some(request.order_id), reason),
            Ok((order, amended, delta)) => self.apply_amend(order, amended, delta, sink),
        }
    }

    /// Checks an amend; returns the order before and after, and the change in exposure.
    fn admit_amend(&self, request: &AmendOrder) -> Result<(Order, Order, ExposureDelta), RejectReason> {
        use RejectReason as R;
        let instrument = *self.order_instruments.get(&request.order_id).ok_or(R::UnknownOrder)?;
        let market = self.market(instrument).ok_or(R::UnknownOrder)?;
        let order = match market.book.get(request.order_id) {
            Some(order) => *order,
            None if market.stops.get(request.order_id).is_some() => {
                return Err(if self.owned(request) { R::OrderNotAmendable } else { R::UnknownOrder });
            }
            None => return Err(R::UnknownOrder),
        };
        if order.account != request.account {
            return Err(R::UnknownOrder);
        }
        if market.status != crate::model::InstrumentStatus::Trading {
            return Err(R::InstrumentHalted);
        }
        if self.global_kill {
            return Err(R::GlobalKillSwitch);
        }
        let slot = self.accounts.slot(order.account).ok_or(R::UnknownAccount)?;
        let account = self.accounts.at(slot);
        if account.killed {
            return Err(R::AccountKillSwitch);
        }
        let price = request.price.unwrap_or(order.price);
        let quantity = request.quantity.unwrap_or(order.quantity);
        if price == order.price && quantity == order.quantity {
            return Err(R::AmendNoChange);
        }
        if price.0 <= 0 {
            return Err(R::PriceNotPositive);
        }
        if quantity.0 <= 0 {
            return Err(R::QuantityNotPositive);
        }
        if quantity <= order.filled {
            return Err(R::AmendQuantityTooSmall);
        }
        check_quantity(market, quantity)?;
        if !market.instrument.within_band(price, market.reference_price()) {
            return Err(R::PriceOutsideBand);
        }
        check_notional(market, price, quantity)?;
        if order.post_only && would_take(market, order.side, price) {
            return Err(R::PostOnlyWouldTake);
        }
        let leaves = Quantity(quantity.0 - order.filled.0);
        let old = exposure_of(&market.instrument, order.side, order.price, order.leaves).ok_or(R::Overflow)?;
        let new = exposure_of(&market.instrument, order.side, price, leaves).ok_or(R::Overflow)?;
        let limits = &account.limits;
        if new.base > limits.order_quantity_max_base {
            return Err(R::OrderQuantityLimit);
        }
        if new.notional > limits.order_notional_max_quote {
            return Err(R::OrderNotionalLimit);
        }
        let delta = ExposureDelta::between(&old, &new);
        let position = &account.positions[instrument.0 as usize];
        let worst = match order.side {
            Side::Buy => i128::from(position.net_base) + i128::from(position.working_buy_base + delta.base),
            Side::Sell => -(i128::from(position.net_base) - i128::from(position.working_sell_base + delta.base)),
        };
        if delta.base > 0 && worst > i128::from(limits.position_max_base) {
            return Err(R::PositionLimit);
        }
        if delta.reserved > account.balances[new.asset.0 as usize].available {
            return Err(R::InsufficientBalance);
        }
        let amended = Order { price, quantity, leaves, ..order };
        Ok((order, amended, delta))
    }

    fn owned(&self, request: &AmendOrder) -> bool {
        self.order(request.order_id).is_some_and(|o| o.account == request.account)
    }

    fn apply_amend(&mut self, order: Order, mut amended: Order, delta: ExposureDelta, sink: &mut impl EventSink) {
        let slot = self.accounts.slot(order.account).expect("owner of a working order exists");
        let asset = self.asset_held(&order);
        let account = self.accounts.at_mut(slot);
        let balance = &mut account.balances[asset];
        balance.available -= delta.reserved;
        balance.reserved += delta.reserved;
        add_working(account, order.instrument.0 as usize, order.side, delta.base, delta.notional);
        amended.status = transition(order.status, OrderEvent::Amend);
        let priority_kept = amended.price == order.price && amended.quantity < order.quantity;
        let event = Event::OrderAmended(crate::model::OrderAmended {
            order: self.update_of(&amended),
            price: amended.price,
            quantity: amended.quantity,
            priority_kept,
        });
        let instrument = order.instrument;
        let market = self.market_mut(instrument);
        if priority_kept {
            market.book.update(order.id, |o| *o = amended);
            sink.emit(&event);
            return;
        }
        market.book.remove(order.id);
        sink.emit(&event);
        // A new price may cross: the amended order takes like a new one, then rests at the
        // back of its level.
        self.execute(amended, sink);
        self.fire_triggered_stops(instrument, sink);
    }

    /// Index of the asset an order holds (quote for buys, base for sells).
    pub(super) fn asset_held(&self, order: &Order) -> usize {
        let spec = self.market(order.instrument).expect("working order's market exists").instrument.spec();
        match order.side {
            Side::Buy => spec.quote.0 as usize,
            Side::Sell => spec.base.0 as usize,
        }
    }

    pub(super) fn market_mut(&mut self, id: crate::model::InstrumentId) -> &mut Market<B> {
        self.markets[id.0 as usize].as_mut().expect("instrument of a working order exists")
    }
}

/// Change of an order's holdings through an amend (new minus old).
#[derive(Clone, Copy, Debug)]
pub(super) struct ExposureDelta {
    reserved: i64,
    base: i64,
    notional: i64,
}

impl ExposureDelta {
    fn between(old: &OrderExposure, new: &OrderExposure) -> Self {
        Self { reserved: new.reserved - old.reserved, base: new.base - old.base, notional: new.notional - old.notional }
    }
}

/// Applies `event` to `status`; an illegal transition inside the engine is a bug.
#[inline]
pub(super) fn transition(status: OrderStatus, event: OrderEvent) -> OrderStatus {
    match status.on(event) {
        Ok(next) => next,
        Err(illegal) => panic!("engine bug: {illegal}"),
    }
}

/// Moves a reservation from available to reserved and counts the order as working.
pub(super) fn hold(account: &mut crate::risk::Account, instrument: usize, side: Side, reservation: &Reservation) {
    let balance = &mut account.balances[reservation.asset.0 as usize];
    balance.available -= reservation.reserved;
    balance.reserved += reservation.reserved;
    add_working(account, instrument, side, reservation.base, reservation.notional);
}

/// Adjusts the working-order exposure counters by signed amounts.
pub(super) fn add_working(account: &mut crate::risk::Account, instrument: usize, side: Side, base: i64, notional: i64) {
    let position = &mut account.positions[instrument];
    match side {
        Side::Buy => position.working_buy_base += base,
        Side::Sell => position.working_sell_base += base,
    }
    position.working_notional_quote += notional;
    account.working_notional_quote += notional;
}

fn check_quantity<B>(market: &Market<B>, quantity: Quantity) -> Result<(), RejectReason> {
    if quantity.0 <= 0 {
        Err(RejectReason::QuantityNotPositive)
    } else if quantity < market.instrument.quantity_min() {
        Err(RejectReason::QuantityBelowMin)
    } else if quantity > market.instrument.quantity_max() {
        Err(RejectReason::QuantityAboveMax)
    } else {
        Ok(())
    }
}

/// Which fields each order type and time in force requires or forbids.
fn check_shape(request: &NewOrder, now: crate::model::Timestamp) -> Result<(), RejectReason> {
    use RejectReason as R;
    let kind = request.order_type;
    if matches!(kind, OrderType::Limit | OrderType::StopLimit) && request.price.is_none() {
        return Err(R::PriceRequired);
    }
    if request.price.is_some_and(|p| p.0 <= 0) {
        return Err(R::PriceNotPositive);
    }
    match (kind.is_stop(), request.stop_price) {
        (true, None) => return Err(R::StopPriceRequired),
        (false, Some(_)) => return Err(R::StopPriceNotAllowed),
        (true, Some(stop)) if stop.0 <= 0 => return Err(R::PriceNotPositive),
        _ => {}
    }
    let tif = request.time_in_force;
    if kind.is_market_like() && tif.may_rest() {
        return Err(R::TimeInForceNotAllowed);
    }
    match (tif, request.expire_time) {
        (TimeInForce::Gtd, None) => return Err(R::ExpireTimeRequired),
        (TimeInForce::Gtd, Some(expire)) if expire <= now => return Err(R::ExpireTimeInPast),
        (TimeInForce::Gtc | TimeInForce::Ioc | TimeInForce::Fok, Some(_)) => {
            return Err(R::ExpireTimeNotAllowed);
        }
        _ => {}
    }
    if request.post_only && (kind != OrderType::Limit || !tif.may_rest()) {
        return Err(R::PostOnlyNotAllowed);
    }
    Ok(())
}

/// The price the order works at: its limit, or for market-like orders the protection
/// price (the caller's, else the collar edge from the reference or the stop price).
fn effective_price<B>(market: &Market<B>, request: &NewOrder) -> Result<Price, RejectReason> {
    let instrument = &market.instrument;
    match request.order_type {
        OrderType::Limit => {
            let price = request.price.ok_or(RejectReason::PriceRequired)?;
            if instrument.within_band(price, market.reference_price()) {
                Ok(price)
            } else {
                Err(RejectReason::PriceOutsideBand)
            }
        }
        OrderType::StopLimit => {
            let price = request.price.ok_or(RejectReason::PriceRequired)?;
            let stop = request.stop_price.ok_or(RejectReason::StopPriceRequired)?;
            // At trigger time the last price is the stop price: collar the limit around it.
            if instrument.within_band(price, stop) { Ok(price) } else { Err(RejectReason::PriceOutsideBand) }
        }
        OrderType::Market | OrderType::Stop => {
            if let Some(price) = request.price {
                return Ok(price);
            }
            let from = request.stop_price.unwrap_or(market.reference_price());
            instrument.protection_price(from, request.side == Side::Buy).ok_or(RejectReason::ProtectionPriceRequired)
        }
    }
}

fn check_notional<B>(market: &Market<B>, price: Price, quantity: Quantity) -> Result<(), RejectReason> {
    let notional = market.instrument.notional(price, quantity).ok_or(RejectReason::Overflow)?;
    if notional < market.instrument.notional_min() {
        Err(RejectReason::NotionalBelowMin)
    } else if notional > market.instrument.notional_max() {
        Err(RejectReason::NotionalAboveMax)
    } else {
        Ok(())
    }
}

fn would_take<B: PriceTimeBook>(market: &Market<B>, side: Side, price: Price) -> bool {
    market.book.best(side.opposite()).is_some_and(|(best, _)| side.crosses(price, best))
}
