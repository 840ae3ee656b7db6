//! Journal and recovery against real files: round trip, torn tails, bit flips, gaps,
//! snapshots, and the fsync policies.

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;

use common::*;
use oms_core::journal::{self, FsyncPolicy, JournalConfig, JournalWriter, RecoveryError, recover};
use oms_core::prelude::*;

/// A realistic log: the harness set-up plus a few hundred orders, cancels and amends.
fn command_log() -> (Vec<Command>, u64) {
    let mut h = Harness::new();
    for n in 0..300i64 {
        let account = ACCOUNTS[(n % 4) as usize];
        let side = if n % 2 == 0 { Side::Buy } else { Side::Sell };
        let price = if side == Side::Buy { 95 + n % 7 } else { 98 + n % 7 };
        h.send(Action::NewOrder(with_cid(limit(account, side, price, 1 + n % 3), &format!("j{n}"))));
        if n % 5 == 4 {
            h.send(Action::CancelOrder(CancelOrder { account, order_id: OrderId(h.sequence - 3) }));
        }
    }
    (h.log.clone(), h.engine.state_hash())
}

fn write_log(commands: &[Command], config: JournalConfig) {
    let mut writer = JournalWriter::open(config, 1).expect("open journal");
    for chunk in commands.chunks(37) {
        for command in chunk {
            writer.append(command).expect("append");
        }
        writer.commit().expect("commit");
    }
    assert_eq!(writer.durable().load(Ordering::Acquire), commands.len() as u64);
}

fn recover_engine(dir: &Path) -> Result<journal::Recovered<oms_core::book::LevelBook>, RecoveryError> {
    recover(dir, EngineConfig::default(), &mut CountingSink::default())
}

fn hash_after(commands: &[Command]) -> u64 {
    let mut engine = Engine::new(EngineConfig::default());
    for command in commands {
        engine.apply(command, &mut CountingSink::default());
    }
    engine.state_hash()
}

fn last_segment(dir: &Path) -> std::path::PathBuf {
    journal::list_segments(dir).expect("list").pop().expect("a segment").1
}

#[test]
fn recovery_replays_the_journal_to_the_same_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (commands, hash) = command_log();
    write_log(&commands, JournalConfig::new(dir.path()));
    let recovered = recover_engine(dir.path()).expect("recovers");
    assert_eq!(recovered.last_sequence, commands.len() as u64);
    assert_eq!(recovered.replayed, commands.len() as u64);
    assert_eq!(recovered.engine.state_hash(), hash);
    assert_eq!(recovered.truncated_bytes, 0);
}

#[test]
fn small_segments_roll_and_recover() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (commands, hash) = command_log();
    let config = JournalConfig { segment_bytes_max: 4_096, ..JournalConfig::new(dir.path()) };
    write_log(&commands, config);
    assert!(journal::list_segments(dir.path()).expect("list").len() > 5);
    assert_eq!(recover_engine(dir.path()).expect("recovers").engine.state_hash(), hash);
}

#[test]
fn torn_tail_is_truncated_and_the_journal_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (commands, _) = command_log();
    write_log(&commands, JournalConfig::new(dir.path()));
    let segment = last_segment(dir.path());
    let full = std::fs::metadata(&segment).expect("meta").len();
    // Cut the last record in half, as a crash mid-write would.
    std::fs::OpenOptions::new().write(true).open(&segment).expect("open").set_len(full - 20).expect("cut");
    let recovered = recover_engine(dir.path()).expect("a torn tail is not fatal");
    let kept = commands.len() - 1;
    assert_eq!(recovered.last_sequence, kept as u64);
    assert_eq!(recovered.engine.state_hash(), hash_after(&commands[..kept]));
    assert!(recovered.truncated_bytes > 0);
    assert_eq!(std::fs::metadata(&segment).expect("meta").len(), full - 20 - recovered.truncated_bytes);
    // The writer continues after the truncated tail and a second recovery sees it all.
    let mut writer = JournalWriter::open(JournalConfig::new(dir.path()), kept as u64 + 1).expect("reopen");
    writer.append(&commands[kept]).expect("append");
    writer.commit().expect("commit");
    assert_eq!(recover_engine(dir.path()).expect("recovers").engine.state_hash(), hash_after(&commands));
}

#[test]
fn bit_flip_in_the_middle_refuses_to_start_naming_file_and_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (commands, _) = command_log();
    write_log(&commands, JournalConfig::new(dir.path()));
    let segment = last_segment(dir.path());
    let mut bytes = std::fs::read(&segment).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&segment, &bytes).expect("write");
    let before = bytes.len();
    match recover_engine(dir.path()) {
        Err(RecoveryError::Corrupt { path, offset, reason }) => {
            assert_eq!(path, segment);
            assert!(offset <= middle as u64 && middle as u64 - offset < 1_024, "offset {offset} near {middle}");
            assert!(reason.contains("checksum") || reason.contains("length"), "{reason}");
            let message = RecoveryError::Corrupt { path, offset, reason }.to_string();
            assert!(message.contains(".journal") && message.contains("refusing to start"), "{message}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert_eq!(std::fs::metadata(&segment).expect("meta").len(), before as u64, "refusal changes nothing");
}

#[test]
fn bit_flip_in_the_last_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (commands, _) = command_log();
    write_log(&commands, JournalConfig::new(dir.path()));
    let segment = last_segment(dir.path());
    let mut bytes = std::fs::read(&segment).expect("read");
    let last = bytes.len() - 3;
    bytes[last] ^= 0x01;
    std::fs::write(&segment, &bytes).expect("write");
    let recovered = recover_engine(dir.path()).expect("recovers");
    assert_eq!(recovered.last_sequence, commands.len() as u64 - 1);
}

#[test]
fn missing_segment_is_a_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (commands, _) = command_log();
    write_log(&commands, JournalConfig { segment_bytes_max: 4_096, ..JournalConfig::new(dir.path()) });
    let segments = journal::list_segments(dir.path()).expect("list");
    std::fs::remove_file(&segments[2].1).expect("remove");
    assert!(matches!(recover_engine(dir.path()), Err(RecoveryError::Gap { .. })));
}

#[test]
fn snapshot_bounds_replay_and_a_damaged_one_is_passed_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (commands, hash) = command_log();
    write_log(&commands, JournalConfig::new(dir.path()));
    let split = commands.len() * 2 / 3;
    let mut engine = Engine::new(EngineConfig::default());
    for command in &commands[..split] {
        engine.apply(command, &mut CountingSink::default());
    }
    let path = journal::write_snapshot(dir.path(), &engine).expect("snapshot");
    let recovered = recover_engine(dir.path()).expect("recovers");
    assert_eq!(recovered.snapshot_sequence, Some(split as u64));
    assert_eq!(recovered.replayed, (commands.len() - split) as u64);
    assert_eq!(recovered.engine.state_hash(), hash);
    // Damage the snapshot: recovery falls back to the full journal and says so.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[100] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    let recovered = recover_engine(dir.path()).expect("recovers from the journal");
    assert_eq!((recovered.snapshot_sequence, recovered.snapshots_skipped), (None, 1));
    assert_eq!(recovered.engine.state_hash(), hash);
}

#[test]
fn interval_policy_makes_writes_durable_within_the_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (commands, _) = command_log();
    let config = JournalConfig {
        fsync: FsyncPolicy::Interval(std::time::Duration::from_millis(2)),
        ..JournalConfig::new(dir.path())
    };
    let mut writer = JournalWriter::open(config, 1).expect("open");
    for command in &commands {
        writer.append(command).expect("append");
    }
    writer.commit().expect("commit");
    let durable = writer.durable();
    // Bounded wait: the syncer runs every 2 ms; 5 s is a generous ceiling, not a sleep.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while durable.load(Ordering::Acquire) < commands.len() as u64 {
        assert!(std::time::Instant::now() < deadline, "interval sync never happened");
        std::thread::yield_now();
    }
}

#[test]
fn fsync_policy_parses_and_refuses_nonsense() {
    assert_eq!("batch".parse(), Ok(FsyncPolicy::Batch));
    assert_eq!("none".parse(), Ok(FsyncPolicy::None));
    assert_eq!("interval:5".parse(), Ok(FsyncPolicy::Interval(std::time::Duration::from_millis(5))));
    for bad in ["", "always", "interval:", "interval:0", "interval:-1", "interval:99999", "interval:5ms"] {
        assert!(bad.parse::<FsyncPolicy>().is_err(), "{bad:?}");
    }
}

mod fuzz {
    use oms_core::codec::decode_command;
    use oms_core::journal::{SEGMENT_MAGIC, scan_segment};
    use oms_core::model::Sequence;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        /// The record scanner and the payload decoder never panic on arbitrary segment bytes.
        #[test]
        fn prop_arbitrary_segments_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2_000)) {
            let mut bytes = SEGMENT_MAGIC.to_vec();
            bytes.extend_from_slice(&body);
            let _ = scan_segment(&bytes, |sequence, payload, _| {
                let _ = decode_command(Sequence(sequence), payload);
            });
        }
    }
}
