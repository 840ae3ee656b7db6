//! `oms-sim`: runs seeds of the deterministic simulation; exits non-zero on a violation,
//! printing the seed, the failing step and the smallest set of fault kinds that still
//! reproduces it.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use oms_sim::{Faults, RunStats, SimConfig, run};

/// Deterministic simulation of the OMS core with injected faults.
#[derive(Debug, Parser)]
#[command(name = "oms-sim", version)]
struct Args {
    /// Number of seeds to run (starting at --seed).
    #[arg(long, default_value_t = 16)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Steps (journal batches of 1-8 commands) per seed.
    #[arg(long, default_value_t = 2_000)]
    steps: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    let mut total = RunStats::default();
    for seed in args.seed..args.seed.saturating_add(args.seeds) {
        let config = SimConfig { seed, steps: args.steps, faults: Faults::ALL };
        match run(config) {
            Ok(stats) => add(&mut total, &stats),
            Err(failure) => {
                eprintln!("VIOLATION seed {seed}: {failure}");
                let (faults, step) = shrink(config, failure.step);
                eprintln!(
                    "shortest reproduction: seed {seed}, {step} steps, faults {faults:?}\n  \
                     cargo run --release -p oms-sim -- --seeds 1 --seed {seed} --steps {step}"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "ok: {} seeds x {} steps in {:.1}s: {} commands, {} acknowledged, {} crashes survived ({} torn writes), \
         {} failed fsyncs, {} redeliveries refused, {} orders verified, {} full replays, {} snapshots",
        args.seeds,
        args.steps,
        started.elapsed().as_secs_f64(),
        total.commands,
        total.acknowledged,
        total.crashes,
        total.torn_writes,
        total.failed_syncs,
        total.duplicates_refused,
        total.orders_accepted,
        total.replays_checked,
        total.snapshots,
    );
    ExitCode::SUCCESS
}

fn add(total: &mut RunStats, run: &RunStats) {
    total.steps += run.steps;
    total.commands += run.commands;
    total.acknowledged += run.acknowledged;
    total.crashes += run.crashes;
    total.torn_writes += run.torn_writes;
    total.failed_syncs += run.failed_syncs;
    total.duplicates_refused += run.duplicates_refused;
    total.orders_accepted += run.orders_accepted;
    total.replays_checked += run.replays_checked;
    total.snapshots += run.snapshots;
}

/// Turns off fault kinds one at a time while the run still fails; the failing step of the
/// last failing configuration is the shortest prefix (the workload depends only on the
/// seed and the step, so a run of that many steps reproduces it).
fn shrink(config: SimConfig, step: u64) -> (Faults, u64) {
    let mut best = (config.faults, step);
    let disable: [fn(&mut Faults); 3] = [|f| f.crashes = false, |f| f.failed_syncs = false, |f| f.redelivery = false];
    for off in disable {
        let mut faults = best.0;
        off(&mut faults);
        if faults == best.0 {
            continue;
        }
        if let Err(failure) = run(SimConfig { faults, steps: best.1, ..config }) {
            best = (faults, failure.step);
        }
    }
    best
}
