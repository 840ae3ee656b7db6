//! The pipeline against real files and threads: equivalence with direct replay, durable
//! acknowledgements, exposure back to zero, backpressure as a value, and a crash test that
//! SIGKILLs a child process running the pipeline under load.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use oms_core::book::NaiveBook;
use oms_core::journal::{self, recover};
use oms_core::pipeline::{FsyncPolicy, Outcome, OutcomeTracker, SubmitError, SubscriptionError, WaitMode};
use oms_core::prelude::*;

const WAIT: Duration = Duration::from_secs(30);

/// The harness's set-up (assets, instruments, funded accounts) as plain actions.
fn setup_actions() -> Vec<Action> {
    Harness::new().log.iter().map(|c| c.action).collect()
}

fn client_order_ids() -> Vec<ClientOrderId> {
    (0..4_096).map(|i| ClientOrderId::new(&format!("p-{i}")).expect("valid")).collect()
}

fn wall_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Replays the journal command by command, returning each sequence's outcome and the
/// engine. Independent of `recover` so the two can be compared.
fn replay_outcomes(dir: &Path) -> (std::collections::BTreeMap<u64, (Command, Outcome)>, Engine) {
    let mut engine = Engine::new(EngineConfig::default());
    let mut outcomes = std::collections::BTreeMap::new();
    for (_, path) in journal::list_segments(dir).expect("segments") {
        let bytes = std::fs::read(&path).expect("read segment");
        journal::scan_segment(&bytes, |sequence, payload, _| {
            let command = oms_core::codec::decode_command(Sequence(sequence), payload).expect("decodes");
            let mut events = Vec::new();
            engine.apply(&command, &mut events);
            let mut tracker = OutcomeTracker::new(command.sequence, &command.action);
            events.iter().for_each(|e| tracker.observe(e));
            assert!(outcomes.insert(sequence, (command, tracker.finish())).is_none(), "sequence {sequence} twice");
        });
    }
    (outcomes, engine)
}

#[test]
fn pipeline_equals_replay_and_acks_only_durable_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut handle =
        Engine::builder().journal(dir.path(), FsyncPolicy::Batch).ring_slots(1 << 10).start().expect("starts");
    let subscription = handle.subscribe(1 << 16);
    let collector = std::thread::spawn(move || {
        let mut seen = Vec::new();
        loop {
            match subscription.recv_timeout(Duration::from_secs(60)) {
                Ok(item) => seen.push(item),
                Err(SubscriptionError::Closed) => return seen,
                Err(other) => panic!("subscription ended with {other}"),
            }
        }
    });
    let cids = client_order_ids();
    let mut actions = setup_actions();
    let first_order = actions.len() as u64 + 1;
    for k in 0..6_000u64 {
        actions.push(mixed(first_order + k, wall_ns() + 1_000_000_000 + k, &cids));
    }
    actions.extend(ACCOUNTS.map(|account| Action::MassCancel(MassCancel { account, instrument: None })));
    // Keep up to 256 commands in flight and redeem tickets in order: the outcome board
    // holds 4 × ring_slots outcomes, and a waiter further behind is told `Lagged`.
    let (mut tickets, mut outcomes) = (Vec::new(), Vec::new());
    let mut in_flight = std::collections::VecDeque::new();
    for action in actions {
        let ticket = handle.submit_blocking(action).expect("submits");
        tickets.push(ticket);
        in_flight.push_back(ticket);
        while in_flight.len() > 256 {
            redeem(&handle, in_flight.pop_front().expect("non-empty"), &mut outcomes);
        }
    }
    while let Some(ticket) = in_flight.pop_front() {
        redeem(&handle, ticket, &mut outcomes);
    }
    let report = handle.shutdown().expect("shuts down");
    let streamed = collector.join().expect("collector");
    assert_eq!(report.last_sequence, tickets.len() as u64);

    // Replay the journal twice, independently, and on the naive book.
    let (replayed, engine) = replay_outcomes(dir.path());
    assert_eq!(engine.state_hash(), report.state_hash, "pipeline state differs from journal replay");
    let mut naive = Engine::<NaiveBook>::with_book(EngineConfig::default());
    let mut naive_events = Vec::new();
    for (command, _) in replayed.values() {
        naive.apply(command, &mut naive_events);
    }
    assert_eq!(naive.state_hash(), report.state_hash);
    assert_eq!(
        streamed.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
        naive_events,
        "streamed events differ from replay"
    );
    for (ticket, outcome) in tickets.iter().zip(&outcomes) {
        assert_eq!(replayed[&ticket.sequence.0].1, *outcome, "outcome of {:?}", ticket.sequence);
    }
    assert!(outcomes.iter().map(|o| o.trades).sum::<u32>() > 500, "the workload trades");
    // Everything was cancelled at the end: exposure is back to zero everywhere.
    assert_eq!(engine.working_orders(), 0);
    for account in engine.accounts() {
        assert!(account.balances.iter().all(|b| b.reserved == 0), "reserved left on {:?}", account.id);
        assert_eq!(account.working_notional_quote, 0);
    }
    assert_conserved(&engine);
    // A restart recovers from the shutdown snapshot with nothing to replay.
    let restarted = Engine::builder().journal(dir.path(), FsyncPolicy::Batch).start().expect("restarts");
    assert_eq!(restarted.recovery().snapshot_sequence, Some(report.last_sequence));
    assert_eq!(restarted.recovery().replayed, 0);
    assert_eq!(restarted.shutdown().expect("shuts down").state_hash, report.state_hash);
}

fn redeem(handle: &oms_core::pipeline::EngineHandle, ticket: oms_core::pipeline::Ticket, outcomes: &mut Vec<Outcome>) {
    let outcome = handle.wait(ticket, WAIT).expect("outcome");
    assert!(handle.durable_sequence() >= ticket.sequence.0, "acknowledged before durable");
    outcomes.push(outcome);
}

#[test]
fn full_ring_is_backpressure_not_a_block() {
    // Sleeping stages and a 64-slot ring: a burst outruns them and must be told so.
    let mut handle = Engine::builder()
        .ring_slots(64)
        .wait_strategy(WaitMode::Sleep(Duration::from_millis(20)))
        .start()
        .expect("starts");
    let mut accepted = Vec::new();
    let mut refused = 0;
    let started = Instant::now();
    for _ in 0..10_000 {
        match handle.try_submit(Action::Heartbeat) {
            Ok(ticket) => accepted.push(ticket),
            Err(SubmitError::Backpressure) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(5), "try_submit must not block");
    assert!(refused > 0, "a 64-slot ring cannot absorb 10 000 commands at once");
    for ticket in accepted {
        handle.wait(ticket, WAIT).expect("every accepted command completes");
    }
    handle.shutdown().expect("shuts down");
}

#[test]
fn genesis_applies_once_and_bad_settings_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = || {
        setup_actions()
            .into_iter()
            .fold(Engine::builder().journal(dir.path(), FsyncPolicy::None), |b, a| b.genesis(a))
            .start()
    };
    let first = start().expect("starts");
    let report = first.shutdown().expect("shuts down");
    let second = start().expect("restarts without re-applying genesis");
    assert_eq!(second.recovery().last_sequence, report.last_sequence);
    assert_eq!(second.shutdown().expect("shuts down").state_hash, report.state_hash);
    assert!(Engine::builder().ring_slots(1000).start().is_err(), "not a power of two");
    assert!(Engine::builder().cores(0, 1, 4096).start().is_err(), "core 4096 does not exist");
    let closed = Engine::builder().start().expect("starts");
    let mut clone = closed.clone();
    closed.shutdown().expect("shuts down");
    assert_eq!(clone.try_submit(Action::Heartbeat), Err(SubmitError::Closed));
}

// ----- Crash test --------------------------------------------------------------------------

const CHILD_DIR: &str = "OMS_CRASH_CHILD_DIR";

/// The child side: runs the pipeline with a journal and prints every acknowledgement.
/// Does nothing unless started by `sigkill_under_load_loses_no_acknowledged_command`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let setup = setup_actions();
    let mut builder = Engine::builder().journal(&dir, FsyncPolicy::Batch).ring_slots(1 << 10).snapshot_every(700);
    for action in setup {
        builder = builder.genesis(action);
    }
    let mut handle = builder.start().expect("child starts");
    let cids = client_order_ids();
    let base = handle.recovery().last_sequence.max(handle.published_sequence());
    println!("READY {base}");
    let mut pending = std::collections::VecDeque::new();
    for k in 1..=1_000_000u64 {
        let action = mixed(base + k, wall_ns() + 1_000_000_000, &cids);
        pending.push_back(handle.submit_blocking(action).expect("submits"));
        // Keep a few commands in flight so the kill lands mid-batch.
        while pending.len() > 8 {
            let ticket = pending.pop_front().expect("non-empty");
            let o = handle.wait(ticket, WAIT).expect("outcome");
            println!("ACK {} {:?} {} {:?}", o.sequence.0, o.status, o.filled.0, o.reject);
        }
    }
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut acked: Vec<(u64, String)> = Vec::new();
    for round in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("piped");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut this_round = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("utf-8");
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (sequence, detail) = rest.split_once(' ').expect("ACK format");
                acked.push((sequence.parse().expect("sequence"), detail.to_owned()));
                this_round += 1;
            }
            if this_round >= 1_500 + round * 500 || Instant::now() > deadline {
                break;
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        assert!(this_round >= 1_500, "round {round}: child produced only {this_round} acks");
        // Recovery must succeed (truncating a torn tail if the kill left one).
        let recovered =
            recover::<oms_core::book::LevelBook>(dir.path(), EngineConfig::default(), &mut CountingSink::default())
                .expect("recovers after SIGKILL");
        let (replayed, engine) = replay_outcomes(dir.path());
        assert_eq!(recovered.engine.state_hash(), engine.state_hash());
        for (sequence, detail) in &acked {
            let (_, outcome) =
                replayed.get(sequence).unwrap_or_else(|| panic!("acknowledged sequence {sequence} lost"));
            let expected = format!("{:?} {} {:?}", outcome.status, outcome.filled.0, outcome.reject);
            assert_eq!(detail, &expected, "sequence {sequence} recovered differently");
        }
        assert_conserved(&engine);
    }
    assert!(acked.len() >= 5_500);
}

#[test]
fn reads_see_every_command_sequenced_before_them() {
    let mut builder = Engine::builder();
    for action in setup_actions() {
        builder = builder.genesis(action);
    }
    let mut handle = builder.start().expect("starts");
    let resting = handle.submit_blocking(Action::NewOrder(limit(ALICE, Side::Buy, 95, 3))).expect("submits");
    let (tx, rx) = std::sync::mpsc::channel();
    let read = handle
        .try_read(Box::new(move |engine: &Engine| {
            let order = engine.order(OrderId(resting.sequence.0)).map(|o| (o.leaves, o.status));
            let check = engine.check_new_order(&limit(BOB, Side::Sell, 95, 10_000_000));
            let mut levels = 0;
            engine.depth(BTC_USD, Side::Buy, 10, |_| levels += 1);
            let _ = tx.send((order, check, levels));
        }))
        .expect("queues the read");
    assert!(read.sequence > resting.sequence);
    let (order, check, levels) = rx.recv_timeout(WAIT).expect("read ran");
    assert_eq!(order, Some((Quantity(3), OrderStatus::Accepted)));
    assert_eq!(check, Err(RejectReason::QuantityAboveMax));
    assert_eq!(levels, 1);
    handle.wait(read, WAIT).expect("the read's heartbeat is acknowledged after durability");
    handle.shutdown().expect("shuts down");
}

#[test]
fn journal_failure_fails_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut builder =
        Engine::builder().journal(dir.path(), FsyncPolicy::Batch).segment_bytes_max(4_096).ring_slots(256);
    for action in setup_actions() {
        builder = builder.genesis(action);
    }
    let mut handle = builder.start().expect("starts");
    // Occupy every future segment name: the next roll cannot create its file, a real I/O
    // error in the middle of the run.
    let segments = journal::segments_dir(dir.path());
    let first_blocked = handle.published_sequence() + 1;
    for sequence in first_blocked..first_blocked + 5_000 {
        std::fs::write(segments.join(journal::segment_name(sequence)), b"occupied").expect("block a name");
    }
    let cids = client_order_ids();
    let mut acknowledged = Vec::new();
    let mut refused_at_submit = false;
    let mut journal_failed_waits = 0;
    for k in 0..2_000u64 {
        let sequence = handle.published_sequence().max(acknowledged.last().copied().unwrap_or(0)) + 1;
        match handle.submit_blocking(mixed(sequence, wall_ns() + 1_000_000_000 + k, &cids)) {
            Ok(ticket) => match handle.wait(ticket, WAIT) {
                Ok(_) => acknowledged.push(ticket.sequence.0),
                Err(oms_core::pipeline::WaitError::JournalFailed) => journal_failed_waits += 1,
                Err(other) => panic!("unexpected wait error {other}"),
            },
            Err(SubmitError::JournalFailed) => {
                refused_at_submit = true;
                break;
            }
            Err(other) => panic!("unexpected submit error {other}"),
        }
    }
    assert!(handle.journal_failed(), "the roll failure must mark the journal failed");
    assert!(refused_at_submit, "new commands are refused once the journal failed");
    assert!(!acknowledged.is_empty(), "commands before the failure were acknowledged");
    // Every acknowledged command is in the journal: nothing acknowledged was lost.
    for (_, path) in journal::list_segments(dir.path()).expect("segments") {
        if std::fs::read(&path).map(|b| b.starts_with(b"occupied")).unwrap_or(true) {
            std::fs::remove_file(&path).expect("unblock");
        }
    }
    let (replayed, _) = replay_outcomes(dir.path());
    for sequence in &acknowledged {
        assert!(replayed.contains_key(sequence), "acknowledged sequence {sequence} is not in the journal");
    }
    println!(
        "acknowledged {} then failed closed ({journal_failed_waits} waits told JournalFailed)",
        acknowledged.len()
    );
}

#[test]
fn a_sequence_base_numbers_a_shard_apart_and_its_journal_stays_its_own() {
    const BASE: u64 = 3 << 40;
    let dir = tempfile::tempdir().expect("tempdir");
    let start = || {
        setup_actions()
            .into_iter()
            .fold(Engine::builder().journal(dir.path(), FsyncPolicy::Batch).sequence_base(BASE), |b, a| b.genesis(a))
            .start()
    };
    let mut handle = start().expect("starts");
    let ticket = handle.try_submit(Action::NewOrder(limit(ALICE, Side::Buy, 100, 1))).expect("submits");
    let outcome = handle.wait(ticket, WAIT).expect("acknowledged");
    assert!(ticket.sequence.0 > BASE + 1, "genesis came first, from BASE + 1: {ticket:?}");
    assert_eq!(outcome.status, Some(OrderStatus::Accepted));
    handle.shutdown().expect("stops");
    let segments = journal::list_segments(dir.path()).expect("segments");
    assert_eq!(segments.first().map(|s| s.0), Some(BASE + 1), "the first segment is named after BASE + 1");
    // Restart: numbering continues; genesis is not applied again.
    let mut handle = start().expect("restarts");
    let next = handle.try_submit(Action::Heartbeat).expect("submits");
    assert_eq!(next.sequence.0, ticket.sequence.0 + 1, "numbering continues after the last journaled command");
    handle.shutdown().expect("stops");
    // Another shard's base over this journal is refused, as is a journal missing its start.
    let other = Engine::builder().journal(dir.path(), FsyncPolicy::Batch).sequence_base(4 << 40).start();
    assert!(matches!(other, Err(oms_core::pipeline::StartError::Config(m)) if m.contains("another shard")));
    for snapshot in std::fs::read_dir(dir.path().join("snapshots")).expect("snapshots") {
        std::fs::remove_file(snapshot.expect("entry").path()).expect("remove snapshot");
    }
    std::fs::remove_file(&segments[0].1).expect("remove first segment");
    let missing = Engine::builder().journal(dir.path(), FsyncPolicy::Batch).sequence_base(BASE).start();
    assert!(matches!(missing, Err(oms_core::pipeline::StartError::Config(m)) if m.contains("missing")));
}
