//! `oms serve --role engine --kafka …`: runs one engine shard per assigned partition of
//! `orders` (docs/adr/0003-scale-out.md).
//!
//! ```text
//!  orders ──poll──► main thread ──try_submit_from(partition, offset)──► shard pipeline
//!                       ▲                                                   │ durable
//!          commit the   │                                                   ▼
//!          durable offsets ◄── mark ── shard publisher ── events ──► executions / prices / risk-events
//! ```
//!
//! * A shard is a whole pipeline (journal, snapshots, books of the symbols hashed to its
//!   partition, its own allocation of every account's funds) in `<data-dir>/shards/<p>/`,
//!   with sequences (and so order ids) starting after `(p + 1) << 40`.
//! * Gaining a partition opens its shard: an exclusive lock on the directory (a zombie
//!   previous owner cannot write), recovery from snapshot + journal, then records at or
//!   below the shard's applied offset are skipped (already applied), and the decisions
//!   of journaled commands not yet published are published again.
//! * Losing a partition drains the shard (snapshot) and releases the lock.
//! * The offset of a record is committed only after its command is durable in the journal
//!   and its decision has been handed to the producer.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam_channel::{Receiver, Sender};
use oms_core::pipeline::{EngineHandle, SubmitError, Subscription, Ticket};
use oms_core::prelude::*;
use oms_core::risk::{Balance, Position};
use oms_http::market::BookSnapshot;
use oms_kafka::messages::{
    Catalog, CommandOrigin, Inbound, InboundCommand, decode_inbound, encode_command_events, encode_position,
    encode_validation_result,
};
use oms_kafka::{ConsumerEvent, DurableMarker, EngineConsumer, InboundRecord, KafkaConfig, KafkaProducer};

use super::probe::Probe;
use crate::config::{ServeArgs, engine_config};

/// Sequences of shard `p` start after `(p + 1) << SHARD_SEQUENCE_BITS`: 2^40 commands per
/// shard, and an order id names its shard (`id >> 40` − 1).
pub const SHARD_SEQUENCE_BITS: u32 = 40;
/// Commands a shard may have submitted but not yet published.
const IN_FLIGHT_MAX: usize = 65_536;
/// Events a shard's publisher may fall behind before its subscription is cut.
const SUBSCRIPTION_EVENTS_MAX: usize = 1 << 18;
/// How long an idle shard stage sleeps between looks at its ring. Several shards share a
/// pod, each with three stage threads; at 50 µs an idle 4-shard engine burned half a core.
/// Every command already crosses two Kafka hops, so half a millisecond is noise.
const SHARD_IDLE_SLEEP: Duration = Duration::from_micros(500);
/// Longest wait for one command's durability before the shard is declared failed.
const DURABLE_WAIT: Duration = Duration::from_secs(30);
/// How long the producer keeps retrying a decision before the role gives up and exits
/// (a restart republishes it). Longer than the ingress default: no client waits on this
/// producer directly, and a broker hiccup should not restart every engine.
const DECISION_DELIVERY_TIMEOUT_MS: u32 = 30_000;
/// How often a shard samples its books and balances for `book` and `balance` messages
/// (only what changed is published), like `--role all` samples depth for its WebSockets.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Levels per side in a `book` message (the REST route's default depth).
const BOOK_LEVELS: usize = 50;

/// The first sequence of shard `partition`, minus one.
pub fn shard_sequence_base(partition: i32) -> u64 {
    (u64::from(partition.unsigned_abs()) + 1) << SHARD_SEQUENCE_BITS
}

/// Genesis of shard `partition`: the market definition, and each account's funds divided
/// over the shards that own a symbol (the shard's sub-ledger; the remainder goes to the
/// first of them). A shard that owns no symbol gets none: nothing could spend them, and no
/// transfer could name that shard to move them out.
fn shard_genesis(market: &[Action], partition: i32, partitions: i32) -> Vec<Action> {
    let mut trading: Vec<i32> = market
        .iter()
        .filter_map(|action| match action {
            Action::AddInstrument(spec) => {
                Some(oms_kafka::topics::partition_for_key(spec.symbol.as_str().as_bytes(), partitions.max(1)))
            }
            _ => None,
        })
        .collect();
    trading.sort_unstable();
    trading.dedup();
    // No instruments at all: shard 0 keeps the funds, as a single engine would.
    if trading.is_empty() {
        trading.push(0);
    }
    let shards = trading.len() as i64;
    let first = trading[0];
    let holds = trading.contains(&partition);
    market
        .iter()
        .filter_map(|action| match *action {
            Action::Deposit(_) if !holds => None,
            Action::Deposit(transfer) => {
                let share = transfer.amount / shards;
                let amount = if partition == first { transfer.amount - share * (shards - 1) } else { share };
                // A deposit smaller than the shard count leaves some shards nothing.
                (amount > 0).then_some(Action::Deposit(BalanceTransfer { amount, ..transfer }))
            }
            other => Some(other),
        })
        .collect()
}

/// A submitted command waiting for durability and publication.
struct Pending {
    ticket: Ticket,
    partition: i32,
    offset: i64,
    command: InboundCommand,
    /// For a `validateOrder`: the engine's verdict, sent by the read that checked it.
    verdict: Option<Receiver<Result<(), RejectReason>>>,
}

/// One open shard.
struct Shard {
    handle: EngineHandle,
    catalog: Catalog,
    /// Highest offset of this partition the shard has applied (skip at or below).
    applied: Option<u64>,
    pending: Sender<Pending>,
    publisher: Option<JoinHandle<anyhow::Result<()>>>,
    stop: Arc<AtomicBool>,
    /// Held while the shard is open; dropping it releases the directory.
    _lock: File,
}

/// Everything the role needs, shared by its shards.
struct Role {
    data_dir: PathBuf,
    fsync: oms_core::journal::FsyncPolicy,
    market: Vec<Action>,
    partitions: i32,
    producer: Arc<KafkaProducer>,
    marker: DurableMarker,
}

/// Runs the engine role until SIGTERM/SIGINT.
pub fn run(args: &ServeArgs, kafka: &KafkaConfig, market: Vec<Action>) -> anyhow::Result<()> {
    let ensured = oms_kafka::topics::ensure_topics(kafka).context("ensuring the Kafka topics")?;
    let partitions = ensured
        .iter()
        .find(|t| t.name == kafka.topics.orders.name)
        .map_or(kafka.topics.orders.partitions, |t| t.partitions);
    let consumer = EngineConsumer::new(kafka, &kafka.topics.orders.name).context("joining the engine group")?;
    let mut decision_producer = kafka.clone();
    decision_producer.producer.delivery_timeout_ms = DECISION_DELIVERY_TIMEOUT_MS;
    let role = Role {
        data_dir: args.data_dir.join("shards"),
        fsync: args.fsync,
        market,
        partitions,
        producer: Arc::new(KafkaProducer::new(&decision_producer).context("creating the Kafka producer")?),
        marker: consumer.durable_marker(),
    };
    std::fs::create_dir_all(&role.data_dir).with_context(|| format!("creating {}", role.data_dir.display()))?;
    let stop = crate::roles::stop_on_signal()?;
    let probe = Probe::serve(&args.listen, "engine")?;
    probe.set_ready(true, "in the engine group");
    tracing::info!(partitions, brokers = %kafka.brokers, "engine role: joining the group");
    let mut shards: BTreeMap<i32, Shard> = BTreeMap::new();
    let mut last_commit = Instant::now();
    let mut last_metrics = Instant::now();
    let mut records = 0u64;
    while !stop.load(Ordering::Acquire) {
        probe.beat();
        if last_metrics.elapsed() >= Duration::from_secs(1) {
            probe.set_metrics(format!(
                "# TYPE oms_engine_shards_open gauge\noms_engine_shards_open {}\n\
                 # TYPE oms_engine_records_total counter\noms_engine_records_total {records}\n",
                shards.len()
            ));
            last_metrics = Instant::now();
        }
        match consumer.poll(Duration::from_millis(50)) {
            Ok(Some(ConsumerEvent::Assigned(gained))) => {
                let committed = consumer.committed_offsets(Duration::from_secs(10)).unwrap_or_default();
                for partition in gained {
                    let history = committed.iter().find(|(p, _)| *p == partition).and_then(|(_, o)| *o);
                    role.check_storage(partition, history)?;
                    let shard = role.open(partition).with_context(|| format!("opening shard {partition}"))?;
                    shards.insert(partition, shard);
                }
            }
            Ok(Some(ConsumerEvent::Revoked(lost))) => {
                for partition in lost {
                    if let Some(shard) = shards.remove(&partition) {
                        shard.close(partition)?;
                    }
                }
            }
            Ok(Some(ConsumerEvent::Record(record))) => match shards.get_mut(&record.partition) {
                Some(shard) => {
                    records += 1;
                    shard.submit(&role, &record)?;
                }
                None => tracing::warn!(partition = record.partition, "record of a partition without a shard"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "consumer"),
        }
        for (partition, shard) in &mut shards {
            if shard.publisher.as_ref().is_some_and(JoinHandle::is_finished) {
                let result = shard.publisher.take().map(JoinHandle::join);
                anyhow::bail!("shard {partition} publisher stopped: {result:?}");
            }
        }
        if last_commit.elapsed() >= Duration::from_millis(20) {
            if let Err(e) = consumer.commit_durable() {
                tracing::warn!(error = %e, "offset commit (retried with the next one)");
            }
            last_commit = Instant::now();
        }
    }
    tracing::info!("engine role: stopping");
    for (partition, shard) in std::mem::take(&mut shards) {
        shard.close(partition)?;
    }
    let _ = consumer.commit_durable();
    consumer.close();
    Ok(())
}

impl Role {
    /// Refuses to start a shard from nothing when the group has already committed offsets
    /// for its partition: its journal then lives somewhere this process cannot see (a pod's
    /// own volume), and a fresh shard would lose its books and reuse its order ids. Fail
    /// closed; ADR 0003 says how the shard directories must be shared.
    fn check_storage(&self, partition: i32, committed: Option<i64>) -> anyhow::Result<()> {
        let dir = self.data_dir.join(partition.to_string());
        let journaled = oms_core::journal::list_segments(&dir).map(|s| !s.is_empty()).unwrap_or(false);
        if let Some(offset) = committed.filter(|o| *o > 0)
            && !journaled
        {
            anyhow::bail!(
                "partition {partition} has history (group offset {offset}) but {} holds no journal: \
                 mount the shard directories every engine shares (docs/adr/0003-scale-out.md) rather than \
                 start the shard from nothing",
                dir.display()
            );
        }
        Ok(())
    }

    /// Opens shard `partition`: lock, recover, republish, start its publisher.
    fn open(&self, partition: i32) -> anyhow::Result<Shard> {
        let dir = self.data_dir.join(partition.to_string());
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let lock = lock_directory(&dir)?;
        let mut builder = Engine::builder()
            .config(engine_config())
            .journal(&dir, self.fsync)
            .sequence_base(shard_sequence_base(partition))
            .ring_slots(1 << 14)
            .wait_strategy(oms_core::pipeline::WaitMode::Backoff(SHARD_IDLE_SLEEP));
        for action in shard_genesis(&self.market, partition, self.partitions) {
            builder = builder.genesis(action);
        }
        let mut handle = builder.start().with_context(|| format!("starting shard {partition} (recovery)"))?;
        let stream = partition.unsigned_abs();
        let (applied, catalog, positions) = read_engine(&mut handle, move |engine| {
            let catalog = Catalog::new(engine.instruments().copied(), engine.assets().copied());
            (engine.stream_offset(stream), catalog, Positions::of(engine))
        })?;
        let subscription = handle.subscribe(SUBSCRIPTION_EVENTS_MAX);
        let published = republish(&dir, &catalog, &self.producer, &handle)?;
        let (pending, incoming) = crossbeam_channel::bounded(IN_FLIGHT_MAX);
        let stop = Arc::new(AtomicBool::new(false));
        let publisher = Publisher {
            handle: handle.clone(),
            subscription,
            catalog: catalog.clone(),
            producer: Arc::clone(&self.producer),
            marker: self.marker.clone(),
            checkpoint: dir.join(PUBLISHED_FILE),
            published,
            sampled: Sampled::new(&positions, partition, self.partitions),
            positions,
        };
        let thread_stop = Arc::clone(&stop);
        let publisher = std::thread::Builder::new()
            .name(format!("oms-shard-{partition}-publish"))
            .spawn(move || publisher.run(&incoming, &thread_stop))
            .context("spawning a shard publisher")?;
        tracing::info!(partition, applied = ?applied, recovered = handle.recovery().last_sequence, "shard open");
        Ok(Shard { handle, catalog, applied, pending, publisher: Some(publisher), stop, _lock: lock })
    }
}

impl Shard {
    /// Submits one record (or skips it when the shard applied it already).
    fn submit(&mut self, role: &Role, record: &InboundRecord) -> anyhow::Result<()> {
        let offset = record.offset.unsigned_abs();
        if self.applied.is_some_and(|applied| offset <= applied) {
            // Journaled before (we are a new owner, or this is a redelivery): durable already.
            role.marker.mark(record.partition, record.offset);
            return Ok(());
        }
        let inbound = match decode_inbound(&record.payload, &self.catalog) {
            Ok(inbound) => inbound,
            Err(e) => {
                // A poison record must not block the partition: refuse it loudly, count it,
                // and move on (its offset is committed like any decided command).
                tracing::warn!(partition = record.partition, offset = record.offset, error = %e, "refused record");
                role.marker.mark(record.partition, record.offset);
                return Ok(());
            }
        };
        // A what-if check runs on the engine thread in sequence with the commands before it,
        // as a read: it journals a heartbeat, not the order.
        let (command, check) = match inbound {
            Inbound::Apply(command) => (command, None),
            Inbound::Validate(command @ InboundCommand { action: Action::NewOrder(order), .. }) => {
                (command, Some((order, crossbeam_channel::bounded(1))))
            }
            // `decode_inbound` only makes validations of orders; anything else is refused
            // like a poison record, never applied.
            Inbound::Validate(_) => {
                tracing::warn!(
                    partition = record.partition,
                    offset = record.offset,
                    "refused a validation of no order"
                );
                role.marker.mark(record.partition, record.offset);
                return Ok(());
            }
        };
        let ticket = loop {
            let submitted = match &check {
                Some((order, (tx, _))) => {
                    let (order, tx) = (*order, tx.clone());
                    self.handle.try_read(Box::new(move |engine| {
                        let _ = tx.send(engine.check_new_order(&order));
                    }))
                }
                None => self.handle.try_submit_from(record.origin(), command.action),
            };
            match submitted {
                Ok(ticket) => break ticket,
                Err(SubmitError::Backpressure) => std::thread::yield_now(),
                Err(e) => anyhow::bail!("shard {} refused a command: {e}", record.partition),
            }
        };
        self.applied = Some(offset);
        let verdict = check.map(|(_, (_, rx))| rx);
        self.pending
            .send(Pending { ticket, partition: record.partition, offset: record.offset, command, verdict })
            .map_err(|_| anyhow::anyhow!("shard {} publisher is gone", record.partition))
    }

    /// Drains and stops the shard; the lock is released when it is dropped.
    fn close(mut self, partition: i32) -> anyhow::Result<()> {
        drop(self.pending);
        self.stop.store(true, Ordering::Release);
        if let Some(publisher) = self.publisher.take() {
            match publisher.join() {
                Ok(result) => result?,
                Err(_) => anyhow::bail!("shard {partition} publisher panicked"),
            }
        }
        let report = self.handle.shutdown().map_err(|e| anyhow::anyhow!("shard {partition} shutdown: {e}"))?;
        tracing::info!(
            partition,
            last_sequence = report.last_sequence,
            state_hash = format!("{:016x}", report.state_hash),
            "shard closed"
        );
        Ok(())
    }
}

/// Runs `read` on a shard's engine thread and waits for it.
fn read_engine<R: Send + 'static>(
    handle: &mut EngineHandle,
    read: impl FnOnce(&Engine) -> R + Send + 'static,
) -> anyhow::Result<R> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let ticket = handle
        .try_read(Box::new(move |engine| {
            let _ = tx.send(read(engine));
        }))
        .map_err(|e| anyhow::anyhow!("engine read: {e}"))?;
    handle.wait(ticket, DURABLE_WAIT).map_err(|e| anyhow::anyhow!("engine read: {e}"))?;
    rx.recv_timeout(DURABLE_WAIT).context("engine read")
}

/// `<shard>/LOCK`, held exclusively while a process owns the shard.
fn lock_directory(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join("LOCK");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    // The previous owner may still be dying (its session expired before its process did):
    // wait for its lock, bounded, rather than writing the same journal twice.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => anyhow::bail!("locking {}: {e:?}", path.display()),
        }
    }
}

/// File holding the last sequence whose messages the broker acknowledged.
const PUBLISHED_FILE: &str = "published";

fn read_published(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join(PUBLISHED_FILE)).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0)
}

/// Publishes again the events of journaled commands after the published checkpoint (a
/// crash can fall between the journal and the broker). Consumers upsert by id, so
/// duplicates are harmless. Returns the checkpoint to continue from.
fn republish(dir: &Path, catalog: &Catalog, producer: &KafkaProducer, handle: &EngineHandle) -> anyhow::Result<u64> {
    let published = read_published(dir);
    let last = handle.recovery().last_sequence;
    if last <= published {
        return Ok(published);
    }
    let mut groups: BTreeMap<u64, (Command, Vec<Event>)> = BTreeMap::new();
    oms_core::journal::replay_commands(dir, engine_config(), |command, event| {
        let sequence = command.sequence.0;
        if sequence > published && sequence <= last {
            groups.entry(sequence).or_insert_with(|| (*command, Vec::new())).1.push(*event);
        }
    })
    .context("replaying the journal to republish")?;
    let mut receipts = Vec::new();
    for (sequence, (command, events)) in &groups {
        let transfer = matches!(command.action, Action::TransferOut(_));
        if !transfer && events.iter().all(|e| matches!(e, Event::AdminApplied(_) | Event::BalanceChanged(_))) {
            continue;
        }
        let origin = CommandOrigin {
            sequence: Sequence(*sequence),
            command: None,
            origin: command.origin,
            action: Some(command.action),
        };
        let messages = encode_command_events(&origin, events, catalog).context("encoding republished events")?;
        for message in &messages {
            receipts.push(producer.publish_message(message).context("republishing")?);
        }
        if carries_transfer(&messages) {
            // In order, like the publisher: see `Publisher::run`.
            for receipt in receipts.drain(..) {
                receipt.wait(DURABLE_WAIT).context("republished transfer not acknowledged")?;
            }
        }
    }
    for receipt in receipts {
        receipt.wait(DURABLE_WAIT).context("republished message not acknowledged")?;
    }
    tracing::info!(from = published + 1, to = last, commands = groups.len(), "republished decisions");
    std::fs::write(dir.join(PUBLISHED_FILE), last.to_string()).context("writing the published checkpoint")?;
    Ok(last)
}

/// Whether a command's messages include a `transferIn` for another shard (the only
/// command an engine sends to `orders`).
fn carries_transfer(messages: &[oms_kafka::messages::OutboundMessage]) -> bool {
    messages.iter().any(|m| m.topic == oms_kafka::messages::TopicKind::Orders)
}

/// Messages handed to the producer, per command sequence, oldest first.
type Receipts = std::collections::VecDeque<(u64, Vec<oms_kafka::DeliveryReceipt>)>;

/// A shard's publisher thread: waits for each command in submission order, publishes its
/// events, and marks its offset durable for the commit.
struct Publisher {
    handle: EngineHandle,
    subscription: Subscription,
    catalog: Catalog,
    producer: Arc<KafkaProducer>,
    marker: DurableMarker,
    checkpoint: PathBuf,
    published: u64,
    positions: Positions,
    sampled: Sampled,
}

/// What one sample read: the sequence it is as of, each owned instrument's levels, and every
/// account's balance per asset.
type SampleRead = (Sequence, Vec<(InstrumentId, BookSnapshot)>, Vec<((AccountId, AssetId), Balance)>);

/// What a shard last published of its books and balances: the next sample publishes only
/// what differs. Starts empty, so a shard's first sample publishes every non-empty book and
/// balance (a new owner repairs what its predecessor did not get out).
struct Sampled {
    shard: u32,
    /// Instruments whose books this shard holds (their symbols hash to its partition).
    instruments: Vec<InstrumentId>,
    books: BTreeMap<InstrumentId, BookSnapshot>,
    balances: BTreeMap<(AccountId, AssetId), Balance>,
    /// A command or an expiry changed something since the last sample. A read travels as a
    /// journaled heartbeat, so sampling only when something changed keeps an idle shard
    /// from journaling ten heartbeats a second.
    dirty: bool,
    /// The read in flight: published once the journal has everything it saw.
    reading: Option<(Ticket, Receiver<SampleRead>)>,
    at: Instant,
}

impl Sampled {
    fn new(positions: &Positions, partition: i32, partitions: i32) -> Self {
        let instruments = positions
            .instruments
            .values()
            .filter(|i| {
                oms_kafka::topics::partition_for_key(i.spec().symbol.as_str().as_bytes(), partitions) == partition
            })
            .map(Instrument::id)
            .collect();
        Self {
            shard: partition.unsigned_abs(),
            instruments,
            books: BTreeMap::new(),
            balances: BTreeMap::new(),
            dirty: true,
            reading: None,
            at: Instant::now(),
        }
    }
}

/// The shard's positions, folded trade by trade with the engine's own arithmetic, so each
/// trade can publish both sides' new position without asking the engine thread.
struct Positions {
    book: BTreeMap<(AccountId, InstrumentId), Position>,
    instruments: BTreeMap<InstrumentId, Instrument>,
    assets: BTreeMap<AssetId, Asset>,
    /// Sequence the positions are as of.
    as_of: Sequence,
}

impl Positions {
    /// The engine's positions now (run on the engine thread).
    fn of(engine: &Engine) -> Self {
        let instruments: BTreeMap<_, _> = engine.instruments().map(|i| (i.id(), *i)).collect();
        let assets = engine.assets().map(|a| (a.spec().id, *a)).collect();
        let mut book = BTreeMap::new();
        for account in engine.accounts() {
            for (index, position) in account.positions.iter().enumerate() {
                let instrument = InstrumentId(index as u32);
                if instruments.contains_key(&instrument) && (position.net_base != 0 || position.realized_pnl_quote != 0)
                {
                    book.insert((account.id, instrument), *position);
                }
            }
        }
        Self { book, instruments, assets, as_of: engine.last_sequence().unwrap_or(Sequence(0)) }
    }

    /// Books a command's trades; returns the position messages, one per side per trade.
    fn apply(
        &mut self,
        sequence: Sequence,
        events: &[Event],
    ) -> anyhow::Result<Vec<oms_kafka::messages::OutboundMessage>> {
        let mut messages = Vec::new();
        for event in events {
            let Event::Trade(trade) = event else { continue };
            let Some(instrument) = self.instruments.get(&trade.instrument) else { continue };
            let base = instrument.base_units(trade.quantity).context("trade base units")?;
            let notional = instrument.notional(trade.price, trade.quantity).context("trade notional")?;
            let (buyer, seller) = match trade.taker_side {
                Side::Buy => (trade.taker.account, trade.maker.account),
                Side::Sell => (trade.maker.account, trade.taker.account),
            };
            for (account, signed) in [(buyer, base), (seller, -base)] {
                let position = self.book.entry((account, trade.instrument)).or_default();
                position.apply_trade(signed, notional);
                messages.push(self.message(sequence, account, trade.instrument)?);
            }
        }
        Ok(messages)
    }

    /// Every position, as of the shard's last sequence (published when a shard opens, so a
    /// new owner repairs whatever its predecessor did not get out).
    fn all(&self) -> anyhow::Result<Vec<oms_kafka::messages::OutboundMessage>> {
        self.book.keys().map(|&(account, instrument)| self.message(self.as_of, account, instrument)).collect()
    }

    fn message(
        &self,
        sequence: Sequence,
        account: AccountId,
        instrument: InstrumentId,
    ) -> anyhow::Result<oms_kafka::messages::OutboundMessage> {
        let spec = self.instruments.get(&instrument).context("instrument of a position")?;
        let base = self.assets.get(&spec.spec().base).context("base asset")?;
        let quote = self.assets.get(&spec.spec().quote).context("quote asset")?;
        let position = self.book.get(&(account, instrument)).copied().unwrap_or_default();
        Ok(encode_position(sequence, account, spec, base, quote, &position)?)
    }
}

impl Publisher {
    fn run(mut self, incoming: &Receiver<Pending>, stop: &AtomicBool) -> anyhow::Result<()> {
        let mut receipts = Receipts::new();
        let mut untracked: Vec<Event> = Vec::new();
        let mut untracked_at = Sequence(0);
        let mut opening = Vec::new();
        for message in self.positions.all()? {
            opening.push(self.producer.publish_message(&message)?);
        }
        receipts.push_back((self.published, opening));
        loop {
            let pending = match incoming.recv_timeout(Duration::from_millis(20)) {
                Ok(pending) => pending,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    self.sample(&mut receipts)?;
                    self.settle(&mut receipts, false)?;
                    if stop.load(Ordering::Acquire) && incoming.is_empty() {
                        break;
                    }
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            };
            let outcome = self.handle.wait(pending.ticket, DURABLE_WAIT).map_err(|e| {
                anyhow::anyhow!(
                    "shard command {:?}: {e} (durable {}, published {}, journal failed {})",
                    pending.ticket.sequence,
                    self.handle.durable_sequence(),
                    self.handle.published_sequence(),
                    self.handle.journal_failed()
                )
            })?;
            let sequence = pending.ticket.sequence;
            let mut events = Vec::with_capacity(outcome.events as usize);
            while events.len() < outcome.events as usize {
                let (at, event) = self
                    .subscription
                    .recv_timeout(DURABLE_WAIT)
                    .map_err(|e| anyhow::anyhow!("shard event stream: {e}"))?;
                if at < sequence {
                    // Not a command from `orders` (the sequencer's heartbeats, reads): no
                    // client waits, but expiries it caused are published.
                    if at != untracked_at {
                        self.publish_untracked(untracked_at, &mut untracked, &mut receipts)?;
                        untracked_at = at;
                    }
                    untracked.push(event);
                    continue;
                }
                // The stream is in sequence order and the outcome counted this command's
                // events, so a later sequence here means the two disagree.
                anyhow::ensure!(at == sequence, "events of {sequence:?} ended early at {at:?}");
                events.push(event);
            }
            self.publish_untracked(untracked_at, &mut untracked, &mut receipts)?;
            let origin = CommandOrigin {
                sequence,
                command: Some(pending.command),
                origin: Origin::Stream {
                    stream: pending.partition.unsigned_abs(),
                    offset: pending.offset.unsigned_abs(),
                },
                action: None,
            };
            if let Some(verdict) = &pending.verdict {
                // The check's heartbeat may have expired orders: those are published as any
                // heartbeat's; the answer is one `commandResult`. Nothing to republish after
                // a crash (nothing was decided): the client's wait times out, or the
                // redelivered record is checked again.
                self.publish_untracked(sequence, &mut events, &mut receipts)?;
                let verdict = verdict.recv_timeout(DURABLE_WAIT).context("the engine dropped a validation")?;
                let answer = encode_validation_result(&origin, verdict)?;
                receipts.push_back((sequence.0, vec![self.producer.publish_message(&answer)?]));
                self.marker.mark(pending.partition, pending.offset);
                self.sample(&mut receipts)?;
                self.settle(&mut receipts, false)?;
                continue;
            }
            let mut sent = Vec::new();
            let messages = encode_command_events(&origin, &events, &self.catalog)?;
            for message in &messages {
                sent.push(self.producer.publish_message(message)?);
            }
            for message in self.positions.apply(sequence, &events)? {
                sent.push(self.producer.publish_message(&message)?);
            }
            receipts.push_back((sequence.0, sent));
            if carries_transfer(&messages) {
                // The destination credits a source position at most once and takes a lower
                // one for a copy, so its transfers must land in order: nothing after a
                // transfer is sent until the broker has it (a failure stops the shard, which
                // sends it again, in order, from its checkpoint). Transfers are rare.
                self.settle(&mut receipts, true)?;
            }
            self.sampled.dirty = true;
            // Durable in the journal, decision handed to the producer: the offset may be
            // committed (a crash before the broker has it is covered by republishing).
            self.marker.mark(pending.partition, pending.offset);
            self.sample(&mut receipts)?;
            self.settle(&mut receipts, false)?;
        }
        self.settle(&mut receipts, true)
    }

    /// Publishes the order events of a command that did not come from `orders`.
    fn publish_untracked(
        &mut self,
        sequence: Sequence,
        events: &mut Vec<Event>,
        receipts: &mut Receipts,
    ) -> anyhow::Result<()> {
        let orders = events.iter().any(|e| !matches!(e, Event::AdminApplied(_) | Event::BalanceChanged(_)));
        if orders {
            let origin = CommandOrigin { sequence, command: None, origin: Origin::Direct, action: None };
            let mut sent = Vec::new();
            for message in encode_command_events(&origin, events, &self.catalog)? {
                sent.push(self.producer.publish_message(&message)?);
            }
            for message in self.positions.apply(sequence, events)? {
                sent.push(self.producer.publish_message(&message)?);
            }
            receipts.push_back((sequence.0, sent));
            self.sampled.dirty = true;
        }
        events.clear();
        Ok(())
    }

    /// Every [`SAMPLE_EVERY`], when something changed: asks the engine thread for the
    /// shard's books and balances, without waiting; once the read is back and durable,
    /// publishes a `book` per changed instrument and a `balance` per changed account and
    /// asset. Their delivery is tracked with the last command's, so a failed one stops the
    /// shard like a failed decision.
    fn sample(&mut self, receipts: &mut Receipts) -> anyhow::Result<()> {
        if let Some((ticket, read)) = &self.sampled.reading {
            if self.handle.durable_sequence() < ticket.sequence.0 {
                return Ok(());
            }
            let read = match read.try_recv() {
                Ok(read) => read,
                Err(crossbeam_channel::TryRecvError::Empty) => return Ok(()),
                // The engine dropped the read (it is stopping): nothing to publish.
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    self.sampled.reading = None;
                    return Ok(());
                }
            };
            self.sampled.reading = None;
            return self.publish_sample(read, receipts);
        }
        if !self.sampled.dirty || self.sampled.at.elapsed() < SAMPLE_EVERY {
            return Ok(());
        }
        let ids = self.sampled.instruments.clone();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let read = move |engine: &Engine| {
            let books = ids.iter().map(|&id| (id, BookSnapshot::read(engine, id, BOOK_LEVELS))).collect();
            let balances = engine
                .accounts()
                .flat_map(|a| a.balances.iter().enumerate().map(move |(i, b)| ((a.id, AssetId(i as u16)), *b)))
                .collect();
            let _ = tx.send((engine.last_sequence().unwrap_or(Sequence(0)), books, balances));
        };
        match self.handle.try_read(Box::new(read)) {
            Ok(ticket) => {
                self.sampled.reading = Some((ticket, rx));
                self.sampled.dirty = false;
                self.sampled.at = Instant::now();
                Ok(())
            }
            // The ring is full: the shard is busy, sample on a later turn.
            Err(SubmitError::Backpressure) => Ok(()),
            Err(e) => anyhow::bail!("sampling the shard: {e}"),
        }
    }

    fn publish_sample(
        &mut self,
        (sequence, books, balances): SampleRead,
        receipts: &mut Receipts,
    ) -> anyhow::Result<()> {
        // Sampled, not commanded: no command timestamp to carry.
        let time = Timestamp::now();
        let mut sent = Vec::new();
        for (id, book) in books {
            // Unseen counts as empty: an instrument with no orders yet publishes nothing.
            if self.sampled.books.get(&id).cloned().unwrap_or_default() == book {
                continue;
            }
            let instrument = self.positions.instruments.get(&id).context("instrument of a book")?;
            let message = oms_kafka::messages::encode_book(sequence, instrument, &book.bids, &book.asks, time)?;
            sent.push(self.producer.publish_message(&message)?);
            self.sampled.books.insert(id, book);
        }
        for (key, balance) in balances {
            let Some(asset) = self.positions.assets.get(&key.1) else { continue };
            // Unseen counts as zero: an account without funds on this shard publishes nothing.
            if self.sampled.balances.get(&key).copied().unwrap_or_default() == balance {
                continue;
            }
            let message = oms_kafka::messages::encode_balance(sequence, self.sampled.shard, key.0, asset, balance)?;
            sent.push(self.producer.publish_message(&message)?);
            self.sampled.balances.insert(key, balance);
        }
        if !sent.is_empty() {
            let at = receipts.back().map_or(self.published, |(s, _)| *s);
            receipts.push_back((at, sent));
        }
        Ok(())
    }

    /// Advances the published checkpoint over commands whose messages the broker has all
    /// acknowledged, in order (all of them when `wait`).
    fn settle(&mut self, receipts: &mut Receipts, wait: bool) -> anyhow::Result<()> {
        let before = self.published;
        while let Some((sequence, sent)) = receipts.front_mut() {
            while let Some(receipt) = sent.last() {
                let result = if wait { Some(receipt.wait(DURABLE_WAIT)) } else { receipt.try_result() };
                match result {
                    None => break,
                    Some(Ok(_)) => {
                        sent.pop();
                    }
                    Some(Err(e)) => anyhow::bail!("publishing a decision failed: {e}"),
                }
            }
            if !sent.is_empty() {
                break;
            }
            self.published = self.published.max(*sequence);
            receipts.pop_front();
        }
        if self.published > before {
            // Not synced: losing it only republishes more on the next open.
            std::fs::write(&self.checkpoint, self.published.to_string()).context("writing the published checkpoint")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_funds_go_to_the_shards_that_trade_and_add_up_to_the_deposit() {
        let market = crate::market::Market::parse(include_str!("../demo-market.toml")).expect("demo market");
        let symbols: Vec<Symbol> = market
            .actions()
            .iter()
            .filter_map(|a| if let Action::AddInstrument(spec) = a { Some(spec.symbol) } else { None })
            .collect();
        let mut market = market.actions().to_vec();
        // A deposit smaller than the number of shards: no shard may get a zero deposit.
        market.push(Action::Deposit(BalanceTransfer { account: AccountId(9), asset: AssetId(0), amount: 1 }));
        for partitions in [1, 2, 4, 12] {
            let trading: Vec<i32> = symbols
                .iter()
                .map(|s| oms_kafka::topics::partition_for_key(s.as_str().as_bytes(), partitions))
                .collect();
            let mut funded: BTreeMap<(AccountId, AssetId), i64> = BTreeMap::new();
            for partition in 0..partitions {
                for action in shard_genesis(&market, partition, partitions) {
                    let Action::Deposit(t) = action else { continue };
                    assert!(t.amount > 0, "{partitions} partitions: an empty deposit on shard {partition}");
                    assert!(
                        trading.contains(&partition),
                        "{partitions} partitions: funds on shard {partition}, which trades nothing"
                    );
                    *funded.entry((t.account, t.asset)).or_default() += t.amount;
                }
            }
            let mut deposited: BTreeMap<(AccountId, AssetId), i64> = BTreeMap::new();
            for action in &market {
                if let Action::Deposit(t) = action {
                    *deposited.entry((t.account, t.asset)).or_default() += t.amount;
                }
            }
            assert_eq!(funded, deposited, "{partitions} partitions: every deposit in full");
        }
    }
}
