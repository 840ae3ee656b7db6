//! The simulator must catch real bugs: for each invariant, arm a deliberate bug in the
//! core (cargo feature `sabotage`, armed per thread) and see the simulator report exactly
//! that kind of violation. Plus: a fixed seed set passes with every fault kind on, and a
//! run is a pure function of its seed.

use oms_core::sabotage::{self, Sabotage};
use oms_sim::{Faults, SimConfig, Violation, run};

const STEPS: u64 = 1_500;

/// Runs seeds with `bug` armed until one fails; returns its violation.
fn violation_with(bug: Sabotage, faults: Faults) -> Violation {
    sabotage::disarm_all();
    sabotage::arm(bug);
    let found = (1..=8).find_map(|seed| run(SimConfig { seed, steps: STEPS, faults }).err());
    sabotage::disarm_all();
    found.unwrap_or_else(|| panic!("the simulator did not notice {bug:?} in 8 seeds")).violation
}

#[test]
fn a_crossed_book_is_reported() {
    let violation = violation_with(Sabotage::CrossBook, Faults::ALL);
    assert!(
        matches!(violation, Violation::Invariant { violation: oms_core::audit::Violation::BookCrossed { .. }, .. }),
        "{violation}"
    );
}

#[test]
fn lost_fees_are_reported_as_money_not_conserved() {
    let violation = violation_with(Sabotage::LoseFee, Faults::ALL);
    assert!(
        matches!(violation, Violation::Invariant { violation: oms_core::audit::Violation::NotConserved { .. }, .. }),
        "{violation}"
    );
}

#[test]
fn a_leaked_reservation_is_reported() {
    let violation = violation_with(Sabotage::LeakReservation, Faults::ALL);
    assert!(
        matches!(
            violation,
            Violation::Invariant { violation: oms_core::audit::Violation::ReservedMismatch { .. }, .. }
        ),
        "{violation}"
    );
}

#[test]
fn an_illegal_status_transition_is_reported() {
    let violation = violation_with(Sabotage::StaleStatus, Faults::ALL);
    assert!(matches!(violation, Violation::Lifecycle { .. }), "{violation}");
}

#[test]
fn acknowledging_before_fsync_is_caught_as_a_lost_acknowledged_command() {
    let faults = Faults { crashes: true, failed_syncs: true, redelivery: false };
    let violation = violation_with(Sabotage::AckBeforeSync, faults);
    assert!(matches!(violation, Violation::LostAcknowledged { .. }), "{violation}");
}

#[test]
fn state_outside_the_engine_is_caught_as_divergence() {
    let violation = violation_with(Sabotage::HiddenState, Faults::ALL);
    assert!(matches!(violation, Violation::Diverged { .. } | Violation::EventsDiffer { .. }), "{violation}");
}

#[test]
fn applying_a_redelivery_twice_is_reported() {
    let violation = violation_with(Sabotage::IgnoreRedelivery, Faults::ALL);
    assert!(matches!(violation, Violation::EventsDiffer { .. }), "{violation}");
}

#[test]
fn the_fixed_seed_set_passes_with_every_fault_kind() {
    sabotage::disarm_all();
    let mut crashes = 0;
    let mut refused = 0;
    for seed in 1..=6 {
        let stats = run(SimConfig { seed, steps: STEPS, faults: Faults::ALL })
            .unwrap_or_else(|failure| panic!("seed {seed}: {failure}"));
        crashes += stats.crashes;
        refused += stats.duplicates_refused;
        assert!(stats.orders_accepted > 500, "seed {seed} accepted only {} orders", stats.orders_accepted);
    }
    // The faults really happened.
    assert!(crashes > 20 && refused > 100, "crashes {crashes}, redeliveries refused {refused}");
}

#[test]
fn a_run_is_a_function_of_its_seed() {
    sabotage::disarm_all();
    let config = SimConfig { seed: 42, steps: 400, faults: Faults::ALL };
    let first = run(config).expect("seed 42 passes");
    assert_eq!(run(config).expect("seed 42 passes again"), first);
    let other = run(SimConfig { seed: 43, ..config }).expect("seed 43 passes");
    assert_ne!(other, first, "different seeds should differ");
}
