//! Fuzz-style properties for the JSON order parser: arbitrary bytes and arbitrary JSON
//! shaped like an order never panic, and anything accepted converts into an order whose
//! values are exactly on the instrument's ticks and lots. (`cargo fuzz` needs a nightly
//! toolchain, which this project's machines do not have; proptest runs in the test command.)

mod common;

use oms_core::prelude::*;
use oms_http::catalog::Catalog;
use oms_http::dto::PlaceOrder;
use proptest::prelude::*;

fn catalog() -> Catalog {
    let mut engine = Engine::new(EngineConfig::default());
    let actions = common::btc_usd_market();
    for (n, action) in actions.into_iter().enumerate() {
        engine.apply(
            &Command { sequence: Sequence(n as u64 + 1), timestamp: Timestamp(1), origin: Origin::Direct, action },
            &mut CountingSink::default(),
        );
    }
    Catalog::from_engine(&engine)
}

fn decimal_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Mostly plausible values (on or near ticks and lots), so acceptance is exercised.
        3 => "[1-9][0-9]{0,4}(\\.[0-9]{1,4})?",
        2 => "0\\.[0-9]{1,5}",
        1 => "-?[0-9]{0,25}(\\.[0-9]{0,30})?",
        1 => Just("NaN".to_owned()),
        1 => Just("1e9".to_owned()),
        1 => Just(" 1".to_owned()),
        1 => Just("".to_owned()),
        1 => "[ -~]{0,12}",
    ]
}

fn order_json() -> impl Strategy<Value = String> {
    (
        prop_oneof![4 => Just("BTC-USD".to_owned()), 1 => "[A-Z-]{0,10}"],
        prop_oneof![3 => Just("buy"), 3 => Just("sell"), 1 => Just("hold")],
        prop_oneof![4 => Just("limit"), 1 => Just("market"), 1 => Just("stop"), 1 => Just("stopLimit"), 1 => Just("twap")],
        proptest::option::of(decimal_text()),
        proptest::option::of(decimal_text()),
        decimal_text(),
        proptest::option::of(prop_oneof![Just("GTC"), Just("IOC"), Just("FOK"), Just("GTD"), Just("DAY")]),
        proptest::option::of(prop_oneof![3 => "[a-z0-9-]{1,20}", 1 => "[ -~]{0,40}"]),
    )
        .prop_map(|(symbol, side, kind, price, stop, quantity, tif, cid)| {
            let mut body = serde_json::json!({ "symbol": symbol, "side": side, "type": kind, "quantity": quantity });
            if let Some(p) = price {
                body["price"] = p.into();
            }
            if let Some(s) = stop {
                body["stopPrice"] = s.into();
            }
            if let Some(t) = tif {
                body["timeInForce"] = t.into();
            }
            if let Some(c) = cid {
                body["clientOrderId"] = c.into();
            }
            body.to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let catalog = catalog();
        if let Ok(request) = serde_json::from_slice::<PlaceOrder>(&bytes) {
            let _ = request.to_new_order(&catalog, AccountId(1), "auto-1");
        }
    }

    #[test]
    fn prop_order_shaped_json_converts_exactly_or_is_refused(text in order_json()) {
        let catalog = catalog();
        let Ok(request) = serde_json::from_str::<PlaceOrder>(&text) else { return Ok(()) };
        let Ok(order) = request.to_new_order(&catalog, AccountId(1), "auto-1") else { return Ok(()) };
        // Accepted values round-trip exactly: nothing was rounded on the way in.
        let (_, listing) = catalog.by_symbol(&request.symbol).expect("accepted orders name a known symbol");
        let i = &listing.instrument;
        let quantity: rust_decimal::Decimal = request.quantity.parse().expect("accepted quantity parses");
        prop_assert_eq!(i.quantity_to_decimal(order.quantity), quantity.normalize());
        if let (Some(text), Some(price)) = (&request.price, order.price) {
            let exact: rust_decimal::Decimal = text.parse().expect("accepted price parses");
            prop_assert_eq!(i.price_to_decimal(price), exact.normalize());
        }
        prop_assert!(order.quantity.0 > 0);
    }
}

/// The generator must produce orders that are accepted, or the property above proves nothing.
#[test]
fn order_shaped_generator_reaches_accepted_orders() {
    use proptest::strategy::ValueTree;
    let catalog = catalog();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let accepted = (0..2_000)
        .filter(|_| {
            let text = order_json().new_tree(&mut runner).expect("generates").current();
            serde_json::from_str::<PlaceOrder>(&text)
                .ok()
                .is_some_and(|r| r.to_new_order(&catalog, AccountId(1), "auto-1").is_ok())
        })
        .count();
    assert!(accepted >= 20, "only {accepted} of 2000 generated orders were accepted");
}
