//! Every (status, event) pair of the order state machine, written out as an independent
//! table: a change to `OrderStatus::on` that is not mirrored here fails.

use oms_core::model::{OrderEvent as E, OrderStatus as S};

/// The expected next status for each pair; `None` = illegal.
fn expected(status: S, event: E) -> Option<S> {
    const TABLE: &[(S, E, S)] = &[
        (S::New, E::Accept, S::Accepted),
        (S::New, E::Reject, S::Rejected),
        (S::Accepted, E::Trigger, S::Triggered),
        (S::Accepted, E::PartialFill, S::PartiallyFilled),
        (S::Accepted, E::FullFill, S::Filled),
        (S::Accepted, E::Amend, S::Accepted),
        (S::Accepted, E::Cancel, S::Cancelled),
        (S::Accepted, E::Expire, S::Expired),
        (S::Triggered, E::PartialFill, S::PartiallyFilled),
        (S::Triggered, E::FullFill, S::Filled),
        (S::Triggered, E::Amend, S::Triggered),
        (S::Triggered, E::Cancel, S::Cancelled),
        (S::Triggered, E::Expire, S::Expired),
        (S::PartiallyFilled, E::PartialFill, S::PartiallyFilled),
        (S::PartiallyFilled, E::FullFill, S::Filled),
        (S::PartiallyFilled, E::Amend, S::PartiallyFilled),
        (S::PartiallyFilled, E::Cancel, S::Cancelled),
        (S::PartiallyFilled, E::Expire, S::Expired),
        (S::Filled, E::Settle, S::Settled),
    ];
    TABLE.iter().find(|(s, e, _)| *s == status && *e == event).map(|(_, _, next)| *next)
}

#[test]
fn every_status_event_pair_matches_the_table() {
    let mut legal = 0;
    let mut visited = 0;
    for status in S::ALL {
        for event in E::ALL {
            visited += 1;
            let actual = status.on(event);
            match expected(status, event) {
                Some(next) => {
                    legal += 1;
                    assert_eq!(actual, Ok(next), "{status:?} + {event:?}");
                }
                None => {
                    let error = actual.expect_err("illegal pair accepted");
                    assert_eq!((error.from, error.event), (status, event));
                }
            }
        }
    }
    assert_eq!(visited, 81, "9 statuses × 9 events");
    assert_eq!(legal, 19);
}

#[test]
fn final_statuses_accept_nothing_but_filled_settles() {
    for status in S::ALL.into_iter().filter(|s| s.is_final()) {
        for event in E::ALL {
            let legal = status.on(event).is_ok();
            assert_eq!(legal, status == S::Filled && event == E::Settle, "{status:?} + {event:?}");
        }
    }
}
