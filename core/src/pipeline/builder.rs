//! `Engine::builder()`: configuration, recovery, thread placement, start.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use disruptor::{ProcessorSettings, build_multi_producer};
use thiserror::Error;

use super::handle::{EngineHandle, RecoveryReport, Shared};
use super::outcome::OutcomeBoard;
use super::stages::{EngineStage, JournalStage, PublishStage, Reads, SequenceBase, Slot};
use super::subscription::Subscribers;
use super::wait::WaitMode;
use crate::book::LevelBook;
use crate::engine::{Engine, EngineConfig};
use crate::journal::{FsyncPolicy, JournalConfig, JournalWriter, RecoveryError, recover};
use crate::model::{
    AccountId, Action, AssetId, AssetSpec, BalanceTransfer, CountingSink, InstrumentSpec, RiskLimits, SetRiskLimits,
};

/// Why the pipeline did not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The journal could not be recovered.
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    /// The journal could not be opened for writing.
    #[error("cannot open the journal: {0}")]
    Journal(#[from] std::io::Error),
    /// A setting is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A start-up command was refused by the engine.
    #[error("start-up command {index} was refused: {reason}")]
    Genesis {
        /// Position in the builder's list.
        index: usize,
        /// Engine's reason or wait failure.
        reason: String,
    },
}

/// Fewest cores for automatic pinning: three stages plus room for producers and the OS.
pub const AUTO_PIN_CORES_MIN: usize = 5;

/// Builds and starts the pipeline; see [`Engine::builder`].
#[derive(Clone, Debug)]
pub struct EngineBuilder {
    config: EngineConfig,
    genesis: Vec<Action>,
    data_dir: Option<PathBuf>,
    fsync: FsyncPolicy,
    segment_bytes_max: u64,
    ring_slots: usize,
    wait: WaitMode,
    cores: Option<[usize; 3]>,
    snapshot_every_commands: u64,
    sequence_base: u64,
}

impl Engine<LevelBook> {
    /// Starts configuring a pipeline around an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            config: EngineConfig::default(),
            genesis: Vec::new(),
            data_dir: None,
            fsync: FsyncPolicy::Batch,
            segment_bytes_max: 256 << 20,
            ring_slots: 1 << 14,
            wait: WaitMode::Yield,
            cores: None,
            snapshot_every_commands: 1_000_000,
            sequence_base: 0,
        }
    }
}

impl EngineBuilder {
    /// Engine capacities.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }
    /// An asset defined when the journal is empty.
    pub fn asset(mut self, spec: AssetSpec) -> Self {
        self.genesis.push(Action::DefineAsset(spec));
        self
    }
    /// An instrument added when the journal is empty.
    pub fn instrument(mut self, spec: InstrumentSpec) -> Self {
        self.genesis.push(Action::AddInstrument(spec));
        self
    }
    /// Funds an account (creating it) when the journal is empty.
    pub fn deposit(self, account: AccountId, asset: AssetId, amount: i64) -> Self {
        self.genesis(Action::Deposit(BalanceTransfer { account, asset, amount }))
    }
    /// Sets an account's limits (creating it) when the journal is empty.
    pub fn risk_limits(self, account: AccountId, limits: RiskLimits) -> Self {
        self.genesis(Action::SetRiskLimits(SetRiskLimits { account, limits }))
    }
    /// Any command applied when the journal is empty (deposits, risk limits, ...), in order
    /// after the assets and instruments given before it.
    pub fn genesis(mut self, action: Action) -> Self {
        self.genesis.push(action);
        self
    }
    /// Journal and snapshots under `dir` with the given durability; without this the
    /// pipeline runs in memory and acknowledges immediately.
    pub fn journal(mut self, dir: impl Into<PathBuf>, fsync: FsyncPolicy) -> Self {
        self.data_dir = Some(dir.into());
        self.fsync = fsync;
        self
    }
    /// Segment size bound.
    pub fn segment_bytes_max(mut self, bytes: u64) -> Self {
        self.segment_bytes_max = bytes;
        self
    }
    /// Ring size (a power of two).
    pub fn ring_slots(mut self, slots: usize) -> Self {
        self.ring_slots = slots;
        self
    }
    /// Idle wait of the stage threads.
    pub fn wait_strategy(mut self, wait: WaitMode) -> Self {
        self.wait = wait;
        self
    }
    /// Pin the journal, engine and publish stages to these cores (must exist). Without
    /// this, stages are pinned to the three highest cores when the machine has at least
    /// [`AUTO_PIN_CORES_MIN`] cores, and left to the scheduler otherwise.
    pub fn cores(mut self, journal: usize, engine: usize, publish: usize) -> Self {
        self.cores = Some([journal, engine, publish]);
        self
    }

    /// The cores the stages will be pinned to, if any.
    fn placement(&self) -> Option<[usize; 3]> {
        if self.cores.is_some() {
            return self.cores;
        }
        let mut ids: Vec<usize> = core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect();
        ids.sort_unstable();
        match ids.as_slice() {
            [.., journal, engine, publish] if ids.len() >= AUTO_PIN_CORES_MIN => Some([*journal, *engine, *publish]),
            _ => None,
        }
    }
    /// Snapshot after this many commands (and always at shutdown).
    pub fn snapshot_every(mut self, commands: u64) -> Self {
        self.snapshot_every_commands = commands;
        self
    }

    /// Sequences of a new journal start after `base` (default 0), so the first command is
    /// `base + 1`. Order ids are sequences, so engines with disjoint bases (one per shard)
    /// hand out disjoint order ids. A recovered journal keeps its own numbering but must
    /// lie above `base`.
    pub fn sequence_base(mut self, base: u64) -> Self {
        self.sequence_base = base;
        self
    }

    fn validate(&self) -> Result<(), StartError> {
        let bad = |m: &str| Err(StartError::Config(m.to_owned()));
        if !self.ring_slots.is_power_of_two() || !(64..=1 << 22).contains(&self.ring_slots) {
            return bad("ring_slots must be a power of two in 64..=4194304");
        }
        if self.snapshot_every_commands == 0 {
            return bad("snapshot_every must be positive");
        }
        if self.segment_bytes_max < 4_096 {
            return bad("segment_bytes_max must be at least 4096");
        }
        if let Some(cores) = self.cores {
            let available: Vec<usize> =
                core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect();
            if let Some(missing) = cores.iter().find(|c| !available.contains(c)) {
                return Err(StartError::Config(format!(
                    "core {missing} does not exist (this machine has {available:?})"
                )));
            }
            if self.wait == WaitMode::BusySpin && available.len() < 4 {
                return bad(
                    "busy-spin with pinned stages needs at least 4 cores (3 stages + producers); use WaitMode::Yield",
                );
            }
        }
        Ok(())
    }

    /// Recovers from the journal (if any), starts the stage threads, applies the genesis
    /// commands when the journal was empty, and returns the handle.
    pub fn start(self) -> Result<EngineHandle, StartError> {
        self.validate()?;
        let (engine, report, first_logged) = match &self.data_dir {
            Some(dir) => {
                let recovered = recover::<LevelBook>(dir, self.config, &mut CountingSink::default())?;
                let report = RecoveryReport {
                    last_sequence: recovered.last_sequence,
                    snapshot_sequence: recovered.snapshot_sequence,
                    snapshots_skipped: recovered.snapshots_skipped,
                    replayed: recovered.replayed,
                    truncated_bytes: recovered.truncated_bytes,
                };
                (recovered.engine, report, recovered.first_logged)
            }
            None => (Engine::new(self.config), RecoveryReport::default(), None),
        };
        if let Some(first) = first_logged
            && report.snapshot_sequence.is_none()
            && first != self.sequence_base + 1
        {
            return Err(StartError::Config(format!(
                "the journal starts at sequence {first}, not {}: earlier segments are missing",
                self.sequence_base + 1
            )));
        }
        if report.last_sequence != 0 && report.last_sequence <= self.sequence_base {
            return Err(StartError::Config(format!(
                "the journal ends at sequence {} but this engine's sequences start after {} (another shard's data?)",
                report.last_sequence, self.sequence_base
            )));
        }
        // Last sequence used: the journal's, or the base of an empty journal.
        let last = report.last_sequence.max(self.sequence_base);
        let base = SequenceBase(last);
        let journal = match &self.data_dir {
            Some(dir) => {
                let config = JournalConfig {
                    fsync: self.fsync,
                    segment_bytes_max: self.segment_bytes_max,
                    ..JournalConfig::new(dir)
                };
                Some(JournalWriter::open(config, last + 1)?)
            }
            None => None,
        };
        let durable = journal.as_ref().map_or_else(|| Arc::new(AtomicU64::new(u64::MAX)), JournalWriter::durable);
        let journal_failed = journal.as_ref().map_or_else(|| Arc::new(AtomicBool::new(false)), JournalWriter::failed);
        let sync_stats = journal.as_ref().map_or_else(Default::default, JournalWriter::sync_stats);
        let board = Arc::new(OutcomeBoard::new(self.ring_slots * 4, Arc::clone(&journal_failed)));
        let subscribers = Arc::new(Subscribers::default());
        let outbox = Arc::new(ArrayQueue::new(self.ring_slots * 8));
        let last_snapshot = Arc::new(Mutex::new(None));
        let published = Arc::new(AtomicU64::new(last));
        let final_hash = Arc::new(AtomicU64::new(0));
        let reads = Arc::new(Reads::default());
        let engine_stage = EngineStage {
            engine,
            base,
            outbox: Arc::clone(&outbox),
            wait: self.wait,
            durable: Arc::clone(&durable),
            journal_failed: Arc::clone(&journal_failed),
            data_dir: self.data_dir.clone(),
            snapshot_every_commands: self.snapshot_every_commands,
            since_snapshot: 0,
            last_snapshot: Arc::clone(&last_snapshot),
            final_hash: Arc::clone(&final_hash),
            reads: Arc::clone(&reads),
        };
        let publish_stage = PublishStage {
            base,
            outbox,
            durable: Arc::clone(&durable),
            journal_failed: Arc::clone(&journal_failed),
            wait: self.wait,
            board: Arc::clone(&board),
            subscribers: Arc::clone(&subscribers),
            published: Arc::clone(&published),
        };
        let producer = self.wire(journal, engine_stage, publish_stage, base);
        let shared = Arc::new(Shared {
            board,
            subscribers,
            base,
            closed: AtomicBool::new(false),
            journal_failed,
            durable,
            published,
            last_snapshot,
            final_hash,
            reads,
            sync_stats,
            submitted: AtomicU64::new(last),
            recovery: report,
        });
        let mut handle = EngineHandle::new(producer, shared);
        if report.last_sequence == 0 {
            self.apply_genesis(&mut handle)?;
        }
        Ok(handle)
    }

    /// Builds the ring and the stage threads: journal ∥ engine, then publish.
    fn wire(
        &self,
        journal: Option<JournalWriter>,
        engine_stage: EngineStage,
        publish_stage: PublishStage,
        base: SequenceBase,
    ) -> super::handle::Producer {
        let [journal_core, engine_core, publish_core] = self.placement().map_or([None; 3], |c| c.map(Some));
        let ring = build_multi_producer(self.ring_slots, Slot::default, self.wait);
        let on_engine = |s: &mut EngineStage, slot: &Slot, seq, eob| s.on_slot(slot, seq, eob);
        let on_publish = |s: &mut PublishStage, slot: &Slot, seq, eob| s.on_slot(slot, seq, eob);
        match journal {
            Some(writer) => {
                let stage = JournalStage { writer, base };
                let ring = pin(ring, journal_core).thread_name("oms-journal").handle_events_and_state_with(
                    |s: &mut JournalStage, slot: &Slot, seq, eob| s.on_slot(slot, seq, eob),
                    move || stage,
                );
                let ring = pin(ring, engine_core)
                    .thread_name("oms-engine")
                    .handle_events_and_state_with(on_engine, move || engine_stage)
                    .and_then();
                pin(ring, publish_core)
                    .thread_name("oms-publish")
                    .handle_events_and_state_with(on_publish, move || publish_stage)
                    .build()
            }
            None => {
                let ring = pin(ring, engine_core)
                    .thread_name("oms-engine")
                    .handle_events_and_state_with(on_engine, move || engine_stage)
                    .and_then();
                pin(ring, publish_core)
                    .thread_name("oms-publish")
                    .handle_events_and_state_with(on_publish, move || publish_stage)
                    .build()
            }
        }
    }

    fn apply_genesis(&self, handle: &mut EngineHandle) -> Result<(), StartError> {
        for (index, action) in self.genesis.iter().enumerate() {
            let failed = |reason: String| StartError::Genesis { index, reason };
            let ticket = handle.submit_blocking(*action).map_err(|e| failed(e.to_string()))?;
            let outcome = handle.wait(ticket, Duration::from_secs(30)).map_err(|e| failed(e.to_string()))?;
            if let Some(reason) = outcome.reject {
                return Err(failed(reason.to_string()));
            }
        }
        Ok(())
    }
}

/// Pins the next stage added to `builder` when a core is given (validated at start).
fn pin<P: ProcessorSettings<Slot, WaitMode>>(builder: P, core: Option<usize>) -> P {
    match core {
        Some(core) => builder.pin_at_core(core),
        None => builder,
    }
}
