//! One simulated run: a node (engine + journal writer on the simulated disk, the same code
//! the pipeline runs) fed by two at-least-once streams and a direct channel, a reference
//! engine fed each command exactly once, and faults injected between and inside disk
//! operations. Everything is decided by one seed, so a failure replays exactly.
//!
//! Checked after every command: the node's state hash equals the reference's (so a
//! redelivery changed nothing and nothing was applied twice), the node's events equal the
//! reference's, every whole-state invariant of [`oms_core::audit`], every order lifecycle
//! step, and per-asset supply against the deposits and withdrawals the reference accepted.
//! Checked after every crash: the recovered sequence lies between the last acknowledged
//! and the last written command, the recovered state equals the reference's at that
//! sequence, and a pure journal replay (snapshots removed) gives the same hash.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use oms_core::audit;
use oms_core::book::LevelBook;
use oms_core::journal::{
    Disk, FsyncPolicy, JournalConfig, JournalWriter, recover_on, snapshots_dir, write_snapshot_on,
};
use oms_core::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::disk::{Fault, SimDisk};
use crate::lifecycle::{IllegalLifecycle, Lifecycles};
use crate::workload::{self, Workload};

/// Input streams (Kafka partitions) feeding the node.
const STREAMS: usize = 2;
/// A snapshot is written after this many commands.
const SNAPSHOT_EVERY_COMMANDS: u64 = 200;
/// Most commands per journal batch.
const BATCH_COMMANDS_MAX: u32 = 8;

/// Which kinds of fault a run injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    /// Power loss inside a disk operation (torn writes) and process kills.
    pub crashes: bool,
    /// `fdatasync` failing with EIO.
    pub failed_syncs: bool,
    /// Duplicate deliveries and rewinds of the input streams.
    pub redelivery: bool,
}

impl Faults {
    /// Every fault kind.
    pub const ALL: Faults = Faults { crashes: true, failed_syncs: true, redelivery: true };
}

/// Settings of one run.
#[derive(Clone, Copy, Debug)]
pub struct SimConfig {
    /// Decides the workload, the faults and the torn-write lengths.
    pub seed: u64,
    /// Steps (journal batches) to run.
    pub steps: u64,
    /// Fault kinds to inject.
    pub faults: Faults,
}

/// What went wrong, at which command.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Violation {
    /// A whole-state invariant broke.
    #[error("after sequence {sequence}: {violation}")]
    Invariant {
        /// Last command applied.
        sequence: u64,
        /// Which invariant.
        violation: audit::Violation,
    },
    /// An order event the state machine does not allow.
    #[error("after sequence {sequence}: illegal lifecycle step {step:?}")]
    Lifecycle {
        /// Command.
        sequence: u64,
        /// The step.
        step: IllegalLifecycle,
    },
    /// The node's state differs from the reference (something applied twice, or lost, or
    /// non-deterministic).
    #[error("after sequence {sequence}: node state {node:#x} != reference {reference:#x}")]
    Diverged {
        /// Command.
        sequence: u64,
        /// Node hash.
        node: u64,
        /// Reference hash.
        reference: u64,
    },
    /// The node's events differ from the reference's.
    #[error("sequence {sequence}: node events differ from the reference: {node} vs {reference}")]
    EventsDiffer {
        /// Command.
        sequence: u64,
        /// Node events.
        node: String,
        /// Reference events.
        reference: String,
    },
    /// Total supply of an asset differs from accepted deposits minus withdrawals.
    #[error("after sequence {sequence}: supply of {asset:?} is {engine}, deposits - withdrawals = {expected}")]
    Supply {
        /// Command.
        sequence: u64,
        /// Asset.
        asset: AssetId,
        /// Engine's figure.
        engine: i64,
        /// Sum of accepted transfers.
        expected: i64,
    },
    /// Recovery came back without a command that was acknowledged.
    #[error("acknowledged up to {acknowledged}, recovered only up to {recovered}")]
    LostAcknowledged {
        /// Highest acknowledged sequence.
        acknowledged: u64,
        /// Recovered sequence.
        recovered: u64,
    },
    /// Recovery came back with commands that were never written.
    #[error("written up to {written}, recovered up to {recovered}")]
    Phantom {
        /// Highest written sequence.
        written: u64,
        /// Recovered sequence.
        recovered: u64,
    },
    /// Recovery refused to start or failed.
    #[error("recovery failed: {0}")]
    Recovery(String),
    /// The recovered state is not the state after its last command.
    #[error("recovered to {sequence}: state {recovered:#x} != reference {reference:#x}")]
    RecoveredWrong {
        /// Recovered sequence.
        sequence: u64,
        /// Recovered hash.
        recovered: u64,
        /// Reference hash at that sequence.
        reference: u64,
    },
    /// Replaying the whole journal gives another state than the node has.
    #[error("full journal replay to {sequence} gives {replayed:#x}, node has {node:#x}")]
    Replay {
        /// Last sequence replayed.
        sequence: u64,
        /// Replayed hash.
        replayed: u64,
        /// Node hash.
        node: u64,
    },
}

/// A failed run: the step and the violation.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("step {step}: {violation}")]
pub struct Failure {
    /// Step (1-based) at which the violation was found; a run of this many steps with the
    /// same seed reproduces it.
    pub step: u64,
    /// What broke.
    pub violation: Violation,
}

/// Figures of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Steps run.
    pub steps: u64,
    /// Commands applied by the node (redeliveries included, crashes' lost tails included).
    pub commands: u64,
    /// Highest acknowledged sequence at the end.
    pub acknowledged: u64,
    /// Crashes survived (power losses and process kills).
    pub crashes: u64,
    /// Of which power losses with torn writes.
    pub torn_writes: u64,
    /// `fdatasync` failures survived.
    pub failed_syncs: u64,
    /// Redeliveries the engine refused.
    pub duplicates_refused: u64,
    /// Orders accepted (each one's lifecycle checked step by step).
    pub orders_accepted: u64,
    /// Full journal replays compared.
    pub replays_checked: u64,
    /// Snapshots written.
    pub snapshots: u64,
}

/// The engine fed every command exactly once, with the history to rebuild any prefix.
struct Reference {
    engine: Engine<LevelBook>,
    /// Commands by sequence (index = sequence - 1), duplicates replaced by heartbeats.
    log: Vec<Command>,
    applied: [Option<u64>; STREAMS],
    supply: [i64; 4],
}

impl Reference {
    fn new() -> Self {
        Self {
            engine: Engine::new(workload::engine_config()),
            log: Vec::new(),
            applied: [None; STREAMS],
            supply: [0; 4],
        }
    }

    /// Whether the reference already applied this delivery.
    fn is_duplicate(&self, origin: Origin) -> bool {
        match origin {
            Origin::Direct => false,
            Origin::Stream { stream, offset } => self.applied[stream as usize].is_some_and(|done| offset <= done),
        }
    }

    /// Applies `command` (a duplicate becomes a heartbeat); returns its events.
    fn apply(&mut self, command: Command) -> Vec<Event> {
        let command = if self.is_duplicate(command.origin) {
            Command { origin: Origin::Direct, action: Action::Heartbeat, ..command }
        } else {
            command
        };
        if let Origin::Stream { stream, offset } = command.origin {
            self.applied[stream as usize] = Some(offset);
        }
        let mut events = Vec::new();
        self.engine.apply(&command, &mut events);
        let refused = events.iter().any(|e| matches!(e, Event::Rejected(_)));
        match command.action {
            Action::Deposit(t) if !refused => self.supply[t.asset.0 as usize] += t.amount,
            Action::Withdraw(t) if !refused => self.supply[t.asset.0 as usize] -= t.amount,
            _ => {}
        }
        self.log.push(command);
        events
    }

    /// The reference as of `sequence`, with every event of the prefix.
    fn prefix(&self, sequence: u64, mut visit: impl FnMut(&Event)) -> Reference {
        let mut rebuilt = Reference::new();
        for command in &self.log[..sequence as usize] {
            for event in rebuilt.apply(*command) {
                visit(&event);
            }
        }
        rebuilt
    }
}

/// One input stream: the log a producer appended to, and the consumer's progress.
#[derive(Default)]
struct Stream {
    entries: Vec<Action>,
    /// Next offset the consumer delivers.
    position: u64,
    /// Highest offset committed (its command was acknowledged).
    committed: Option<u64>,
}

/// The node's process: engine and journal writer.
struct Node {
    engine: Engine<LevelBook>,
    writer: JournalWriter<SimDisk>,
}

/// The simulation state.
struct Simulation {
    config: SimConfig,
    dir: PathBuf,
    disk: SimDisk,
    node: Option<Node>,
    reference: Reference,
    workload: Workload,
    lifecycles: Lifecycles,
    streams: [Stream; STREAMS],
    /// Highest sequence handed to the journal.
    written: u64,
    /// Highest sequence acknowledged (durable).
    acknowledged: u64,
    /// Deliveries waiting for their acknowledgement before their offset is committed.
    uncommitted: Vec<(u64, usize, u64)>,
    clock: u64,
    since_snapshot: u64,
    stats: RunStats,
    genesis: Vec<Action>,
}

fn journal_config(dir: &Path) -> JournalConfig {
    JournalConfig {
        fsync: FsyncPolicy::Batch,
        segment_bytes_max: 16 << 10,
        batch_bytes_max: 64 << 10,
        ..JournalConfig::new(dir)
    }
}

/// Runs one seed; `Ok` with the figures, or the first violation.
pub fn run(config: SimConfig) -> Result<RunStats, Failure> {
    let mut sim = Simulation::new(config);
    for step in 1..=config.steps {
        sim.step().map_err(|violation| Failure { step, violation })?;
        sim.stats.steps = step;
    }
    sim.finish().map_err(|violation| Failure { step: config.steps, violation })?;
    Ok(sim.stats)
}

impl Simulation {
    fn new(config: SimConfig) -> Self {
        let mut seeds = ChaCha8Rng::seed_from_u64(config.seed);
        let disk = SimDisk::new(ChaCha8Rng::from_rng(&mut seeds));
        let dir = PathBuf::from("/sim");
        let writer = JournalWriter::open_on(disk.clone(), journal_config(&dir), 1).unwrap_or_else(|e| {
            panic!("a fresh simulated disk cannot fail: {e}");
        });
        let mut genesis = workload::genesis();
        genesis.reverse();
        Self {
            config,
            dir,
            disk,
            node: Some(Node { engine: Engine::new(workload::engine_config()), writer }),
            reference: Reference::new(),
            workload: Workload::new(ChaCha8Rng::from_rng(&mut seeds)),
            lifecycles: Lifecycles::default(),
            streams: Default::default(),
            written: 0,
            acknowledged: 0,
            uncommitted: Vec::new(),
            clock: 1_000_000,
            since_snapshot: 0,
            stats: RunStats::default(),
            genesis,
        }
    }

    /// One journal batch: deliveries, group commit, maybe a snapshot; faults anywhere.
    fn step(&mut self) -> Result<(), Violation> {
        self.arm_faults();
        let batch = 1 + self.workload.pick(BATCH_COMMANDS_MAX);
        for _ in 0..batch {
            let (origin, action) = self.next_delivery();
            if !self.deliver(origin, action)? {
                return self.crash_and_recover();
            }
        }
        if !self.commit() {
            return self.crash_and_recover();
        }
        if self.since_snapshot >= SNAPSHOT_EVERY_COMMANDS {
            self.since_snapshot = 0;
            let node = self.node.as_ref().expect("node is up between steps");
            if write_snapshot_on(&self.disk, &self.dir, &node.engine).is_err() {
                return self.crash_and_recover();
            }
            self.stats.snapshots += 1;
        }
        if self.config.faults.crashes && self.workload.chance(1, 150) {
            // SIGKILL between batches: the page cache survives.
            self.stats.crashes += 1;
            self.node = None;
            self.disk.process_restart();
            return self.recover();
        }
        Ok(())
    }

    fn arm_faults(&mut self) {
        let faults = self.config.faults;
        if faults.crashes && self.workload.chance(1, 60) {
            self.disk.arm(Fault::CrashAt(self.workload.pick(6)));
        } else if faults.failed_syncs && self.workload.chance(1, 80) {
            self.disk.arm(Fault::FailSync);
        }
    }

    /// Genesis first (direct), then the streams and the direct channel; with redelivery
    /// on, sometimes a duplicate or a rewind.
    fn next_delivery(&mut self) -> (Origin, Action) {
        if let Some(action) = self.genesis.pop() {
            return (Origin::Direct, action);
        }
        if self.workload.chance(1, 6) {
            return (Origin::Direct, self.workload.next_action(self.clock));
        }
        let index = self.workload.pick(STREAMS as u32) as usize;
        if self.config.faults.redelivery && self.workload.chance(1, 15) {
            // Redeliver: the consumer rewinds a few offsets (never past the start).
            let back = 1 + u64::from(self.workload.pick(4));
            let stream = &mut self.streams[index];
            stream.position = stream.position.saturating_sub(back);
        }
        let now = self.clock;
        let stream = &mut self.streams[index];
        if stream.position as usize == stream.entries.len() {
            let action = self.workload.next_action(now);
            self.streams[index].entries.push(action);
        }
        let stream = &mut self.streams[index];
        let offset = stream.position;
        stream.position += 1;
        (Origin::Stream { stream: index as u32, offset }, stream.entries[offset as usize])
    }

    /// Journals and applies one command on the node and the reference and checks
    /// everything; `Ok(false)` when the node died on the way.
    fn deliver(&mut self, origin: Origin, action: Action) -> Result<bool, Violation> {
        self.clock += self.workload.pause_ns();
        let sequence = self.written + 1;
        let command = Command { sequence: Sequence(sequence), timestamp: Timestamp(self.clock), origin, action };
        let node = self.node.as_mut().expect("node is up between steps");
        if node.writer.append(&command).is_err() {
            return Ok(false);
        }
        self.written = sequence;
        let mut events = Vec::new();
        node.engine.apply(&command, &mut events);
        self.stats.commands += 1;
        let duplicate = self.reference.is_duplicate(origin);
        let expected = self.reference.apply(command);
        let mut compared: &[Event] = &events;
        if duplicate {
            match events.split_last() {
                Some((Event::Rejected(r), rest)) if r.reason == RejectReason::DuplicateDelivery => {
                    self.stats.duplicates_refused += 1;
                    compared = rest;
                }
                _ => {
                    return Err(Violation::EventsDiffer {
                        sequence,
                        node: format!("{events:?}"),
                        reference: "a DuplicateDelivery refusal".into(),
                    });
                }
            }
        }
        if compared != expected.as_slice() {
            return Err(Violation::EventsDiffer {
                sequence,
                node: format!("{compared:?}"),
                reference: format!("{expected:?}"),
            });
        }
        let (node_hash, reference_hash) = (node.engine.state_hash(), self.reference.engine.state_hash());
        if node_hash != reference_hash {
            return Err(Violation::Diverged { sequence, node: node_hash, reference: reference_hash });
        }
        audit::check(&node.engine).map_err(|violation| Violation::Invariant { sequence, violation })?;
        for event in &events {
            self.lifecycles.observe(event).map_err(|step| Violation::Lifecycle { sequence, step })?;
            self.workload.observe(event);
        }
        for (asset, &expected) in self.reference.supply.iter().enumerate() {
            let asset = AssetId(asset as u16);
            let engine = node.engine.asset_totals(asset).map_or(0, |t| t.supply);
            if engine != expected {
                return Err(Violation::Supply { sequence, asset, engine, expected });
            }
        }
        if let Origin::Stream { stream, offset } = origin {
            self.uncommitted.push((sequence, stream as usize, offset));
        }
        self.since_snapshot += 1;
        Ok(true)
    }

    /// Group commit; acknowledges what became durable and commits those offsets. `false`
    /// when the node must restart (crash or failed sync).
    fn commit(&mut self) -> bool {
        let node = self.node.as_mut().expect("node is up between steps");
        let result = node.writer.commit();
        // What the writer published as durable is what the pipeline would acknowledge,
        // whether or not the commit then failed.
        let durable = node.writer.durable().load(Ordering::Acquire);
        self.acknowledge(durable);
        result.is_ok()
    }

    fn acknowledge(&mut self, durable: u64) {
        self.acknowledged = self.acknowledged.max(durable);
        let acknowledged = self.acknowledged;
        let streams = &mut self.streams;
        self.uncommitted.retain(|&(sequence, stream, offset)| {
            if sequence > acknowledged {
                return true;
            }
            let committed = &mut streams[stream].committed;
            *committed = Some(committed.map_or(offset, |c| c.max(offset)));
            false
        });
    }

    /// The machine died (or the writer failed closed): power loss, then recovery.
    fn crash_and_recover(&mut self) -> Result<(), Violation> {
        self.stats.crashes += 1;
        self.node = None;
        self.disk.power_loss();
        self.recover()
    }

    /// Restarts the node from the disk and checks the recovered state.
    fn recover(&mut self) -> Result<(), Violation> {
        self.uncommitted.clear();
        let recovered =
            recover_on::<LevelBook>(&self.disk, &self.dir, workload::engine_config(), &mut CountingSink::default())
                .map_err(|e| Violation::Recovery(e.to_string()))?;
        let sequence = recovered.last_sequence;
        if sequence < self.acknowledged {
            return Err(Violation::LostAcknowledged { acknowledged: self.acknowledged, recovered: sequence });
        }
        if sequence > self.written {
            return Err(Violation::Phantom { written: self.written, recovered: sequence });
        }
        // Rebuild the reference, the lifecycles and the workload's view at `sequence`.
        let mut lifecycles = Lifecycles::default();
        let mut illegal = None;
        self.workload.forget_orders();
        let workload = &mut self.workload;
        let reference = self.reference.prefix(sequence, |event| {
            if let Err(step) = lifecycles.observe(event) {
                illegal.get_or_insert(step);
            }
            workload.observe(event);
        });
        if let Some(step) = illegal {
            return Err(Violation::Lifecycle { sequence, step });
        }
        lifecycles.accepted = self.lifecycles.accepted;
        self.reference = reference;
        self.lifecycles = lifecycles;
        let (recovered_hash, reference_hash) = (recovered.engine.state_hash(), self.reference.engine.state_hash());
        if recovered_hash != reference_hash {
            return Err(Violation::RecoveredWrong { sequence, recovered: recovered_hash, reference: reference_hash });
        }
        audit::check(&recovered.engine).map_err(|violation| Violation::Invariant { sequence, violation })?;
        self.check_full_replay(sequence, recovered_hash)?;
        // A restarted consumer resumes after its last committed offset: everything the
        // journal holds beyond it is redelivered and must be refused.
        for stream in &mut self.streams {
            stream.position = stream.committed.map_or(0, |c| c + 1);
        }
        self.written = sequence;
        self.since_snapshot = 0;
        let writer = JournalWriter::open_on(self.disk.clone(), journal_config(&self.dir), sequence + 1)
            .map_err(|e| Violation::Recovery(format!("reopening the journal: {e}")))?;
        self.node = Some(Node { engine: recovered.engine, writer });
        Ok(())
    }

    /// Replays the whole journal with the snapshots removed, on a copy of the disk.
    fn check_full_replay(&mut self, sequence: u64, node: u64) -> Result<(), Violation> {
        let copy = self.disk.fork();
        let snapshots = copy.list_dir(&snapshots_dir(&self.dir)).map_err(|e| Violation::Recovery(e.to_string()))?;
        for snapshot in snapshots {
            copy.remove(&snapshot).map_err(|e| Violation::Recovery(e.to_string()))?;
        }
        let replayed =
            recover_on::<LevelBook>(&copy, &self.dir, workload::engine_config(), &mut CountingSink::default())
                .map_err(|e| Violation::Recovery(format!("full replay: {e}")))?;
        self.stats.replays_checked += 1;
        let replayed_hash = replayed.engine.state_hash();
        if replayed.last_sequence != sequence || replayed_hash != node {
            return Err(Violation::Replay { sequence: replayed.last_sequence, replayed: replayed_hash, node });
        }
        Ok(())
    }

    /// Final sync and replay check.
    fn finish(&mut self) -> Result<(), Violation> {
        let node = self.node.as_mut().expect("node is up between steps");
        let synced = node.writer.sync_all().is_ok();
        let durable = node.writer.durable().load(Ordering::Acquire);
        self.acknowledge(durable);
        if !synced {
            self.crash_and_recover()?;
        }
        let node = self.node.as_ref().expect("node is up after recovery");
        let hash = node.engine.state_hash();
        self.check_full_replay(self.written, hash)?;
        let disk = self.disk.stats();
        self.stats.torn_writes = disk.torn_writes;
        self.stats.failed_syncs = disk.failed_syncs;
        self.stats.acknowledged = self.acknowledged;
        self.stats.orders_accepted = self.lifecycles.accepted;
        Ok(())
    }
}
