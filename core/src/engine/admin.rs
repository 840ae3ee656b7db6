//! Administrative commands: assets, instruments, balances, limits, kill switches.
//! Not on the order hot path; allocation here (new books, new accounts) is expected.

use super::{Engine, Market};
use crate::book::PriceTimeBook;
use crate::model::{
    AdminApplied, Asset, AssetSpec, BalanceChanged, BalanceTransfer, CancelReason, Event, EventSink, Instrument,
    InstrumentSpec, InstrumentStatus, KillSwitch, KillSwitchScope, RejectReason, RiskLimits, Sequence,
    SetInstrumentStatus, SetRiskLimits, TransferIn, TransferOut,
};

impl<B: PriceTimeBook> Engine<B> {
    pub(super) fn define_asset(&mut self, sequence: Sequence, spec: &AssetSpec, sink: &mut impl EventSink) {
        let index = spec.id.0 as usize;
        let result = match self.assets.get(index) {
            None => Err(RejectReason::IdOutOfRange),
            Some(Some(_)) => Err(RejectReason::AlreadyDefined),
            Some(None) => Asset::new(*spec).ok_or(RejectReason::InvalidDefinition),
        };
        match result {
            Ok(asset) => {
                self.assets[index] = Some(asset);
                sink.emit(&Event::AdminApplied(AdminApplied::AssetDefined(spec.id)));
            }
            Err(reason) => Self::reject(sink, sequence, None, None, reason),
        }
    }

    pub(super) fn add_instrument(&mut self, sequence: Sequence, spec: &InstrumentSpec, sink: &mut impl EventSink) {
        match self.validate_instrument(spec) {
            Ok(instrument) => {
                self.markets[spec.id.0 as usize] = Some(Market {
                    instrument,
                    status: InstrumentStatus::Trading,
                    book: B::with_capacity(self.config.book_orders_max),
                    stops: B::with_capacity(self.config.stop_orders_max),
                    last_price: None,
                });
                sink.emit(&Event::AdminApplied(AdminApplied::InstrumentAdded(spec.id)));
            }
            Err(reason) => Self::reject(sink, sequence, None, None, reason),
        }
    }

    fn validate_instrument(&self, spec: &InstrumentSpec) -> Result<Instrument, RejectReason> {
        let slot = self.markets.get(spec.id.0 as usize).ok_or(RejectReason::IdOutOfRange)?;
        if slot.is_some() {
            return Err(RejectReason::AlreadyDefined);
        }
        if self.instruments().any(|i| i.spec().symbol == spec.symbol) {
            return Err(RejectReason::AlreadyDefined);
        }
        let base = self.asset(spec.base).ok_or(RejectReason::UnknownAsset)?;
        let quote = self.asset(spec.quote).ok_or(RejectReason::UnknownAsset)?;
        Instrument::new(*spec, base, quote).map_err(|_| RejectReason::InvalidDefinition)
    }

    pub(super) fn set_instrument_status(
        &mut self,
        sequence: Sequence,
        set: &SetInstrumentStatus,
        sink: &mut impl EventSink,
    ) {
        match self.markets.get_mut(set.instrument.0 as usize).and_then(Option::as_mut) {
            Some(market) => {
                market.status = set.status;
                sink.emit(&Event::AdminApplied(AdminApplied::InstrumentStatusSet(set.instrument, set.status)));
            }
            None => Self::reject(sink, sequence, None, None, RejectReason::UnknownInstrument),
        }
    }

    pub(super) fn deposit(&mut self, sequence: Sequence, transfer: &BalanceTransfer, sink: &mut impl EventSink) {
        match self.check_deposit(transfer) {
            Ok((asset, supply)) => self.credit(transfer, asset, supply, sink),
            Err(reason) => Self::reject(sink, sequence, Some(transfer.account), None, reason),
        }
    }

    /// Whether `transfer` can be credited: the asset's index and its supply after it.
    fn check_deposit(&self, transfer: &BalanceTransfer) -> Result<(usize, i64), RejectReason> {
        let asset = self.check_transfer(transfer)?;
        let supply =
            self.asset_totals[asset].supply.checked_add(transfer.amount).ok_or(RejectReason::BalanceOverflow)?;
        if !self.accounts.can_hold(transfer.account) {
            return Err(RejectReason::AccountCapacity);
        }
        Ok((asset, supply))
    }

    fn credit(&mut self, transfer: &BalanceTransfer, asset: usize, supply: i64, sink: &mut impl EventSink) {
        let slot = self.create_account(transfer.account).expect("capacity checked");
        self.asset_totals[asset].supply = supply;
        // Every balance is bounded by the asset's total supply, which fits an i64.
        self.accounts.at_mut(slot).balances[asset].available += transfer.amount;
        self.emit_balance(slot, asset, sink);
    }

    /// Withdraws towards the shard of `to`, which must be a known instrument (the route).
    pub(super) fn transfer_out(&mut self, sequence: Sequence, transfer: &TransferOut, sink: &mut impl EventSink) {
        if self.market(transfer.to).is_none() {
            return Self::reject(sink, sequence, Some(transfer.account), None, RejectReason::UnknownInstrument);
        }
        self.withdraw(sequence, &transfer.balance_transfer(), sink);
    }

    /// Credits another shard's transfer once per source position. The position is consumed
    /// only with the credit, so a transfer refused here (the account table full) can be
    /// sent again and apply then, while a copy of an applied one is `DuplicateDelivery`.
    pub(super) fn transfer_in(&mut self, sequence: Sequence, transfer: &TransferIn, sink: &mut impl EventSink) {
        let deposit = transfer.balance_transfer();
        let checked = transfer.stream().ok_or(RejectReason::IdOutOfRange).and_then(|stream| {
            self.check_offset(stream, transfer.source_offset)?;
            Ok((stream, self.check_deposit(&deposit)?))
        });
        match checked {
            Ok((stream, (asset, supply))) => {
                self.consume_offset(stream, transfer.source_offset).expect("offset checked");
                self.credit(&deposit, asset, supply, sink);
            }
            Err(reason) => Self::reject(sink, sequence, Some(transfer.account), None, reason),
        }
    }

    pub(super) fn withdraw(&mut self, sequence: Sequence, transfer: &BalanceTransfer, sink: &mut impl EventSink) {
        let checked = self.check_transfer(transfer).and_then(|asset| {
            let slot = self.accounts.slot(transfer.account).ok_or(RejectReason::UnknownAccount)?;
            if self.accounts.at(slot).balances[asset].available < transfer.amount {
                return Err(RejectReason::InsufficientBalance);
            }
            Ok((asset, slot))
        });
        match checked {
            Ok((asset, slot)) => {
                self.asset_totals[asset].supply -= transfer.amount;
                self.accounts.at_mut(slot).balances[asset].available -= transfer.amount;
                self.emit_balance(slot, asset, sink);
            }
            Err(reason) => Self::reject(sink, sequence, Some(transfer.account), None, reason),
        }
    }

    fn check_transfer(&self, transfer: &BalanceTransfer) -> Result<usize, RejectReason> {
        self.asset(transfer.asset).ok_or(RejectReason::UnknownAsset)?;
        if transfer.amount <= 0 {
            return Err(RejectReason::AmountNotPositive);
        }
        Ok(transfer.asset.0 as usize)
    }

    fn create_account(&mut self, id: crate::model::AccountId) -> Option<usize> {
        let (limits, assets, instruments) =
            (self.config.default_limits, self.config.assets_max, self.config.instruments_max);
        self.accounts.get_or_create(id, limits, assets, instruments)
    }

    fn emit_balance(&self, slot: usize, asset: usize, sink: &mut impl EventSink) {
        let account = self.accounts.at(slot);
        let balance = account.balances[asset];
        sink.emit(&Event::BalanceChanged(BalanceChanged {
            account: account.id,
            asset: crate::model::AssetId(asset as u16),
            available: balance.available,
            reserved: balance.reserved,
        }));
    }

    pub(super) fn set_risk_limits(&mut self, sequence: Sequence, set: &SetRiskLimits, sink: &mut impl EventSink) {
        if !limits_valid(&set.limits) {
            return Self::reject(sink, sequence, Some(set.account), None, RejectReason::InvalidRiskLimits);
        }
        let Some(slot) = self.create_account(set.account) else {
            return Self::reject(sink, sequence, Some(set.account), None, RejectReason::AccountCapacity);
        };
        self.accounts.at_mut(slot).limits = set.limits;
        sink.emit(&Event::AdminApplied(AdminApplied::RiskLimitsSet(set.account)));
    }

    pub(super) fn kill_switch(&mut self, sequence: Sequence, kill: &KillSwitch, sink: &mut impl EventSink) {
        let account = match kill.scope {
            KillSwitchScope::Global => {
                self.global_kill = kill.engaged;
                None
            }
            KillSwitchScope::Account(id) => {
                // Engaging holds even for an account this engine does not know yet: funds
                // that reach it later (another shard's transfer) must not trade. Releasing
                // an unknown account has nothing to release.
                match (self.accounts.slot(id), kill.engaged) {
                    (Some(slot), _) => self.accounts.at_mut(slot).killed = kill.engaged,
                    (None, false) => {}
                    (None, true) => match self.create_account(id) {
                        Some(slot) => self.accounts.at_mut(slot).killed = true,
                        None => return Self::reject(sink, sequence, Some(id), None, RejectReason::AccountCapacity),
                    },
                }
                Some(id)
            }
        };
        sink.emit(&Event::AdminApplied(AdminApplied::KillSwitchSet(kill.scope, kill.engaged)));
        if kill.engaged && kill.cancel_open_orders {
            self.cancel_where(account, None, CancelReason::KillSwitch, sink);
        }
    }
}

fn limits_valid(limits: &RiskLimits) -> bool {
    limits.order_quantity_max_base >= 0
        && limits.order_notional_max_quote >= 0
        && limits.position_max_base >= 0
        && limits.rate_window_ns > 0
        && limits.daily_loss_max_quote >= 0
        && limits.concentration_max_bps <= 10_000
        && limits.concentration_floor_quote >= 0
}
