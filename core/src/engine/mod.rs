//! The single-threaded engine: commands in, events out.
//!
//! [`Engine::apply`] is deterministic: it reads no clock (time comes from the command),
//! iterates no hash map, and draws no randomness, so the same commands always produce the
//! same events and the same [`Engine::state_hash`]. After construction and warm-up (assets,
//! instruments and accounts defined) it allocates nothing per command: books, indexes and
//! scratch buffers are sized from [`EngineConfig`] up front.
//!
//! The engine is generic over the book so that the whole engine can run on the naive
//! reference book in differential tests.

mod admin;
mod admission;
mod execution;
mod hash;
mod snapshot;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use crate::book::{LevelBook, LevelSummary, PriceTimeBook};
use crate::model::{
    AccountId, Action, Asset, AssetId, ClientOrderId, Command, Event, EventSink, Instrument, InstrumentId,
    InstrumentStatus, Order, OrderId, Origin, Price, RejectReason, Rejected, RiskLimits, Sequence, Side, Timestamp,
};

/// Most upstream streams (e.g. Kafka partitions) whose applied offsets the engine tracks.
pub const STREAMS_MAX: usize = 1_024;
use crate::risk::{Account, Accounts};

pub use snapshot::SnapshotError;

/// Capacities fixed at construction. Everything the engine holds is bounded by these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Instrument ids run from 0 to this (exclusive).
    pub instruments_max: usize,
    /// Asset ids run from 0 to this (exclusive).
    pub assets_max: usize,
    /// Most accounts.
    pub accounts_max: usize,
    /// Most resting orders per instrument book.
    pub book_orders_max: usize,
    /// Most untriggered stop orders per instrument.
    pub stop_orders_max: usize,
    /// Limits given to accounts created by a deposit.
    pub default_limits: RiskLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            instruments_max: 16,
            assets_max: 16,
            accounts_max: 1_024,
            book_orders_max: 65_536,
            stop_orders_max: 4_096,
            default_limits: RiskLimits::PERMISSIVE,
        }
    }
}

/// One instrument's trading state.
#[derive(Debug)]
struct Market<B> {
    instrument: Instrument,
    status: InstrumentStatus,
    /// Resting limit orders.
    book: B,
    /// Untriggered stops keyed by trigger price: buy stops on the `Sell` ladder (lowest
    /// trigger first, fired when the last price rises to it), sell stops on the `Buy`
    /// ladder (highest first).
    stops: B,
    last_price: Option<Price>,
}

impl<B> Market<B> {
    /// Price that collars and protection prices are measured from.
    fn reference_price(&self) -> Price {
        self.last_price.unwrap_or(self.instrument.reference_price())
    }
}

/// Where a stop of `side` waits in the stop book.
#[inline]
fn stop_ladder(side: Side) -> Side {
    side.opposite()
}

/// Per-asset engine totals used by conservation checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AssetTotals {
    /// Deposits minus withdrawals, minor units.
    pub supply: i64,
    /// Fees collected, minor units.
    pub fees: i64,
}

/// The matching and risk engine; see the module docs.
#[derive(Debug)]
pub struct Engine<B: PriceTimeBook = LevelBook> {
    config: EngineConfig,
    assets: Vec<Option<Asset>>,
    asset_totals: Vec<AssetTotals>,
    markets: Vec<Option<Market<B>>>,
    accounts: Accounts,
    /// Instrument of every working order (for cancels by id alone).
    order_instruments: FxHashMap<OrderId, InstrumentId>,
    /// Working orders by the owner's id, to refuse duplicates.
    client_order_ids: FxHashMap<(AccountId, ClientOrderId), OrderId>,
    /// GTD expiries, soonest first. Entries of orders that ended early stay until popped
    /// (lazy deletion) and are skipped then.
    expiries: BinaryHeap<Reverse<(Timestamp, OrderId)>>,
    expiries_max: usize,
    global_kill: bool,
    last_sequence: Option<Sequence>,
    now: Timestamp,
    trades: u64,
    /// Reused buffer of order ids for mass cancels.
    scratch_ids: Vec<OrderId>,
    /// Highest offset applied per input stream, sorted by stream (see [`Origin`]).
    stream_offsets: Vec<(u32, u64)>,
}

impl Engine<LevelBook> {
    /// An empty engine with the fast book.
    pub fn new(config: EngineConfig) -> Self {
        Self::with_book(config)
    }
}

impl<B: PriceTimeBook> Engine<B> {
    /// An empty engine on book type `B`.
    pub fn with_book(config: EngineConfig) -> Self {
        let orders_max = config.instruments_max * (config.book_orders_max + config.stop_orders_max);
        let mut order_instruments = FxHashMap::default();
        order_instruments.reserve(orders_max);
        let mut client_order_ids = FxHashMap::default();
        client_order_ids.reserve(orders_max);
        Self {
            config,
            assets: vec![None; config.assets_max],
            asset_totals: vec![AssetTotals::default(); config.assets_max],
            markets: (0..config.instruments_max).map(|_| None).collect(),
            accounts: Accounts::with_capacity(config.accounts_max),
            order_instruments,
            client_order_ids,
            expiries: BinaryHeap::with_capacity(orders_max),
            expiries_max: orders_max,
            global_kill: false,
            last_sequence: None,
            now: Timestamp(0),
            trades: 0,
            scratch_ids: Vec::with_capacity(orders_max),
            stream_offsets: Vec::with_capacity(STREAMS_MAX),
        }
    }

    /// Applies one command, emitting its events in order.
    pub fn apply(&mut self, command: &Command, sink: &mut impl EventSink) {
        if self.last_sequence.is_some_and(|last| command.sequence <= last) {
            sink.emit(&Event::Rejected(Rejected {
                sequence: command.sequence,
                account: None,
                order_id: None,
                client_order_id: None,
                reason: RejectReason::SequenceNotIncreasing,
            }));
            return;
        }
        self.last_sequence = Some(command.sequence);
        // Time never goes backwards, whatever the producer stamped.
        self.now = self.now.max(command.timestamp);
        self.expire_due(sink);
        let sequence = command.sequence;
        if let Origin::Stream { stream, offset } = command.origin {
            // Consume the offset before acting: whatever the action's own outcome, this
            // delivery has been decided and a redelivery must not decide it again.
            if let Err(reason) = self.consume_offset(stream, offset) {
                sink.emit(&Event::Rejected(Rejected {
                    sequence,
                    account: command.action.account(),
                    order_id: None,
                    client_order_id: None,
                    reason,
                }));
                return;
            }
        }
        match &command.action {
            Action::NewOrder(order) => self.new_order(sequence, order, sink),
            Action::CancelOrder(cancel) => self.cancel_order(sequence, cancel, sink),
            Action::AmendOrder(amend) => self.amend_order(sequence, amend, sink),
            Action::MassCancel(mass) => self.mass_cancel(sequence, mass, sink),
            Action::DefineAsset(spec) => self.define_asset(sequence, spec, sink),
            Action::AddInstrument(spec) => self.add_instrument(sequence, spec, sink),
            Action::SetInstrumentStatus(set) => self.set_instrument_status(sequence, set, sink),
            Action::Deposit(transfer) => self.deposit(sequence, transfer, sink),
            Action::Withdraw(transfer) => self.withdraw(sequence, transfer, sink),
            Action::TransferOut(transfer) => self.transfer_out(sequence, transfer, sink),
            Action::TransferIn(transfer) => self.transfer_in(sequence, transfer, sink),
            Action::SetRiskLimits(set) => self.set_risk_limits(sequence, set, sink),
            Action::KillSwitch(kill) => self.kill_switch(sequence, kill, sink),
            Action::Heartbeat => {}
        }
    }

    /// Records `offset` as applied on `stream`, or refuses a redelivery.
    fn consume_offset(&mut self, stream: u32, offset: u64) -> Result<(), RejectReason> {
        #[cfg(feature = "sabotage")]
        if crate::sabotage::armed(crate::sabotage::Sabotage::IgnoreRedelivery) {
            return Ok(());
        }
        self.check_offset(stream, offset)?;
        match self.stream_offsets.binary_search_by_key(&stream, |&(s, _)| s) {
            Ok(at) => self.stream_offsets[at].1 = offset,
            Err(at) => self.stream_offsets.insert(at, (stream, offset)),
        }
        Ok(())
    }

    /// Whether `offset` would be new on `stream` (and the stream could be tracked).
    fn check_offset(&self, stream: u32, offset: u64) -> Result<(), RejectReason> {
        match self.stream_offsets.binary_search_by_key(&stream, |&(s, _)| s) {
            Ok(at) if self.stream_offsets[at].1 >= offset => Err(RejectReason::DuplicateDelivery),
            Ok(_) => Ok(()),
            Err(_) if self.stream_offsets.len() >= STREAMS_MAX => Err(RejectReason::StreamCapacity),
            Err(_) => Ok(()),
        }
    }

    // ----- Queries -------------------------------------------------------------------

    /// Highest offset applied from `stream`, if any: where a consumer resumes after a
    /// restart (everything at or below it is a duplicate).
    pub fn stream_offset(&self, stream: u32) -> Option<u64> {
        self.stream_offsets.binary_search_by_key(&stream, |&(s, _)| s).ok().map(|at| self.stream_offsets[at].1)
    }

    /// Every input stream with its highest applied offset, by stream.
    pub fn stream_offsets(&self) -> &[(u32, u64)] {
        &self.stream_offsets
    }

    /// Capacities.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Last sequence applied.
    pub fn last_sequence(&self) -> Option<Sequence> {
        self.last_sequence
    }

    /// Engine time (the latest command timestamp seen).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// A defined asset.
    pub fn asset(&self, id: AssetId) -> Option<&Asset> {
        self.assets.get(id.0 as usize)?.as_ref()
    }

    /// Every defined asset, by id.
    pub fn assets(&self) -> impl Iterator<Item = &Asset> {
        self.assets.iter().flatten()
    }

    /// Deposits net of withdrawals, and fees collected, per asset.
    pub fn asset_totals(&self, id: AssetId) -> Option<AssetTotals> {
        self.asset(id)?;
        self.asset_totals.get(id.0 as usize).copied()
    }

    /// A defined instrument.
    pub fn instrument(&self, id: InstrumentId) -> Option<&Instrument> {
        self.market(id).map(|m| &m.instrument)
    }

    /// All defined instruments in id order.
    pub fn instruments(&self) -> impl Iterator<Item = &Instrument> {
        self.markets.iter().flatten().map(|m| &m.instrument)
    }

    /// Trading status of an instrument.
    pub fn instrument_status(&self, id: InstrumentId) -> Option<InstrumentStatus> {
        self.market(id).map(|m| m.status)
    }

    /// Price of the last trade.
    pub fn last_price(&self, id: InstrumentId) -> Option<Price> {
        self.market(id)?.last_price
    }

    /// Best bid and best ask.
    pub fn best_bid_ask(&self, id: InstrumentId) -> (Option<Price>, Option<Price>) {
        match self.market(id) {
            Some(m) => (m.book.best(Side::Buy).map(|b| b.0), m.book.best(Side::Sell).map(|b| b.0)),
            None => (None, None),
        }
    }

    /// Visits the levels of one side of a book, best first, up to `depth` levels.
    pub fn depth(&self, id: InstrumentId, side: Side, depth: usize, mut visit: impl FnMut(LevelSummary)) {
        let Some(market) = self.market(id) else {
            return;
        };
        let mut seen = 0;
        market.book.walk_levels(side, |level| {
            if seen == depth {
                return std::ops::ControlFlow::Break(());
            }
            seen += 1;
            visit(level);
            std::ops::ControlFlow::Continue(())
        });
    }

    /// A working order (resting or untriggered stop).
    pub fn order(&self, id: OrderId) -> Option<&Order> {
        let market = self.market(*self.order_instruments.get(&id)?)?;
        market.book.get(id).or_else(|| market.stops.get(id))
    }

    /// Number of working orders over all instruments.
    pub fn working_orders(&self) -> usize {
        self.order_instruments.len()
    }

    /// An account.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// All accounts in creation order.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.iter()
    }

    /// Whether the global kill switch is engaged.
    pub fn global_kill_switch(&self) -> bool {
        self.global_kill
    }

    /// Visits working orders of an instrument: resting bids, resting asks, buy stops, sell
    /// stops, each in priority order.
    pub fn visit_orders(&self, id: InstrumentId, mut visit: impl FnMut(&Order)) {
        let Some(market) = self.market(id) else {
            return;
        };
        let mut all = |o: &Order| {
            visit(o);
            std::ops::ControlFlow::Continue(())
        };
        market.book.walk(Side::Buy, |_, o| all(o));
        market.book.walk(Side::Sell, |_, o| all(o));
        market.stops.walk(stop_ladder(Side::Buy), |_, o| all(o));
        market.stops.walk(stop_ladder(Side::Sell), |_, o| all(o));
    }

    fn market(&self, id: InstrumentId) -> Option<&Market<B>> {
        self.markets.get(id.0 as usize)?.as_ref()
    }

    fn reject(
        sink: &mut impl EventSink,
        sequence: Sequence,
        account: Option<AccountId>,
        order_id: Option<OrderId>,
        reason: RejectReason,
    ) {
        sink.emit(&Event::Rejected(Rejected { sequence, account, order_id, client_order_id: None, reason }));
    }
}
