//! Message encoding and strict parsing: exact examples, refusals, and properties.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use oms_core::model::{
    AccountId, Action, AmendOrder, AssetId, BalanceChanged, CancelOrder, ClientOrderId, Event, Fill, InstrumentId,
    KillSwitch, KillSwitchScope, MassCancel, NewOrder, Order, OrderId, OrderStatus, OrderType, Origin, Price, Quantity,
    RejectReason, Rejected, RiskLimits, SelfTradePrevention, Sequence, SetRiskLimits, Side, Symbol, TimeInForce,
    Timestamp, Trade, TradeId, TransferIn, TransferOut,
};
use oms_kafka::messages::wire::SideName;
use oms_kafka::messages::{
    CommandId, CommandOrigin, ExecutionMessage, Inbound, InboundCommand, MESSAGE_BYTES_MAX, MarketReference,
    MessageError, PriceMessage, RiskEventMessage, TopicKind, decode_command, decode_execution, decode_inbound,
    decode_price, decode_risk_event, encode_balance, encode_book, encode_command, encode_command_events,
    encode_validation, encode_validation_result,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn new_order_json() -> Value {
    json!({
        "v": 1, "type": "newOrder", "commandId": "cmd-1", "accountId": "7", "symbol": "BTC-USD",
        "side": "buy", "orderType": "limit", "price": "50000.01", "stopPrice": null, "quantity": "0.5",
        "timeInForce": "GTC", "expireTime": null, "postOnly": false, "reduceOnly": false,
        "clientOrderId": "c-1", "selfTradePrevention": "expireMaker"
    })
}

fn decode(value: &Value) -> Result<InboundCommand, MessageError> {
    decode_command(&serde_json::to_vec(value).unwrap(), &common::catalog())
}

fn limit_buy() -> NewOrder {
    NewOrder {
        account: AccountId(7),
        client_order_id: ClientOrderId::new("c-1").unwrap(),
        instrument: InstrumentId(0),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Some(Price(5_000_001)),
        stop_price: None,
        quantity: Quantity(5_000),
        time_in_force: TimeInForce::Gtc,
        expire_time: None,
        post_only: false,
        reduce_only: false,
        self_trade_prevention: SelfTradePrevention::ExpireMaker,
    }
}

#[test]
fn a_new_order_decodes_into_exact_engine_units() {
    let command = decode(&new_order_json()).unwrap();
    assert_eq!(command.command_id.as_str(), "cmd-1");
    assert_eq!(command.symbol, Some(Symbol::new("BTC-USD").unwrap()));
    assert_eq!(command.action, Action::NewOrder(limit_buy()));
    assert_eq!(command.key(), "BTC-USD");
}

#[test]
fn encoding_gives_back_the_same_bytes_and_key() {
    let command = decode(&new_order_json()).unwrap();
    let message = encode_command(&command, &common::catalog()).unwrap();
    assert_eq!(message.topic, TopicKind::Orders);
    assert_eq!(message.key, "BTC-USD");
    assert_eq!(serde_json::from_slice::<Value>(&message.payload).unwrap(), new_order_json());
}

#[test]
fn cancel_amend_and_mass_cancel_round_trip() {
    let catalog = common::catalog();
    let btc = Some(Symbol::new("BTC-USD").unwrap());
    let id = CommandId::new("k-9").unwrap();
    let commands = [
        InboundCommand {
            command_id: id,
            symbol: btc,
            action: Action::CancelOrder(CancelOrder { account: AccountId(3), order_id: OrderId(42) }),
        },
        InboundCommand {
            command_id: id,
            symbol: btc,
            action: Action::AmendOrder(AmendOrder {
                account: AccountId(3),
                order_id: OrderId(42),
                price: Some(Price(1)),
                quantity: None,
            }),
        },
        InboundCommand {
            command_id: id,
            symbol: btc,
            action: Action::MassCancel(MassCancel { account: AccountId(3), instrument: Some(InstrumentId(0)) }),
        },
        InboundCommand {
            command_id: id,
            symbol: None,
            action: Action::MassCancel(MassCancel { account: AccountId(3), instrument: None }),
        },
    ];
    for command in commands {
        let message = encode_command(&command, &catalog).unwrap();
        assert_eq!(decode_command(&message.payload, &catalog).unwrap(), command);
    }
    assert!(commands[3].is_broadcast());
    assert_eq!(commands[3].key(), "3");
}

#[test]
fn kill_switches_round_trip_to_every_shard_and_a_bad_scope_is_refused() {
    let catalog = common::catalog();
    let id = CommandId::new("adm-1").unwrap();
    for (scope, key) in [(KillSwitchScope::Account(AccountId(7)), "7"), (KillSwitchScope::Global, "global")] {
        let command = InboundCommand {
            command_id: id,
            symbol: None,
            action: Action::KillSwitch(KillSwitch { scope, engaged: true, cancel_open_orders: true }),
        };
        let message = encode_command(&command, &catalog).unwrap();
        assert_eq!(decode_command(&message.payload, &catalog).unwrap(), command);
        assert!(command.is_broadcast(), "every shard must stop");
        assert_eq!(message.key, key);
    }
    let global_with_account = json!({"type": "killSwitch", "v": 1, "commandId": "adm-2", "scope": "global",
        "accountId": "7", "engaged": true, "cancelOpenOrders": false});
    assert!(matches!(decode(&global_with_account), Err(MessageError::InvalidField { field: "scope", .. })));
    let unknown_scope = json!({"type": "killSwitch", "v": 1, "commandId": "adm-3", "scope": "desk",
        "accountId": null, "engaged": true, "cancelOpenOrders": false});
    assert!(matches!(decode(&unknown_scope), Err(MessageError::InvalidField { field: "scope", .. })));
}

fn with(field: &str, value: Value) -> Value {
    let mut message = new_order_json();
    message[field] = value;
    message
}

fn without(field: &str) -> Value {
    let mut message = new_order_json();
    message.as_object_mut().unwrap().remove(field);
    message
}

/// Which error a refusal case expects.
type Expect = fn(&MessageError) -> bool;

#[test]
fn bad_commands_are_refused_with_a_typed_error() {
    use MessageError as E;
    let cases: Vec<(&str, Value, Expect)> = vec![
        ("version 2", with("v", json!(2)), |e| matches!(e, E::UnsupportedVersion(2))),
        ("version as text", with("v", json!("1")), |e| matches!(e, E::Malformed(_))),
        ("unknown type", with("type", json!("withdraw")), |e| matches!(e, E::UnknownType(_))),
        ("missing quantity", without("quantity"), |e| matches!(e, E::Malformed(_))),
        ("extra field", with("leverage", json!("10")), |e| matches!(e, E::Malformed(_))),
        ("zero quantity", with("quantity", json!("0")), |e| matches!(e, E::Value { field: "quantity", .. })),
        ("negative price", with("price", json!("-1")), |e| matches!(e, E::Value { field: "price", .. })),
        ("off-tick price", with("price", json!("50000.001")), |e| matches!(e, E::Value { field: "price", .. })),
        ("off-lot quantity", with("quantity", json!("0.00001")), |e| matches!(e, E::Value { field: "quantity", .. })),
        ("overflowing price", with("price", json!("99999999999999999999999")), |e| {
            matches!(e, E::Value { field: "price", .. })
        }),
        ("exponent", with("price", json!("5e4")), |e| matches!(e, E::InvalidField { field: "price", .. })),
        ("numeric price", with("price", json!(50000)), |e| matches!(e, E::Malformed(_))),
        ("unknown symbol", with("symbol", json!("DOGE-USD")), |e| matches!(e, E::UnknownSymbol(_))),
        ("account overflow", with("accountId", json!("4294967296")), |e| {
            matches!(e, E::Value { field: "accountId", .. })
        }),
        ("signed account", with("accountId", json!("+7")), |e| matches!(e, E::InvalidField { field: "accountId", .. })),
        ("empty command id", with("commandId", json!("")), |e| matches!(e, E::InvalidField { field: "commandId", .. })),
        ("spaced command id", with("commandId", json!("a b")), |e| {
            matches!(e, E::InvalidField { field: "commandId", .. })
        }),
        ("bad side", with("side", json!("short")), |e| matches!(e, E::Malformed(_))),
        ("bad expiry", with("expireTime", json!("tomorrow")), |e| {
            matches!(e, E::InvalidField { field: "expireTime", .. })
        }),
    ];
    for (name, message, expected) in cases {
        match decode(&message) {
            Err(error) => assert!(expected(&error), "{name}: unexpected error {error:?}"),
            Ok(command) => panic!("{name}: accepted as {command:?}"),
        }
    }
}

#[test]
fn oversized_and_non_json_input_is_refused_before_parsing() {
    let catalog = common::catalog();
    let huge = vec![b' '; MESSAGE_BYTES_MAX + 1];
    assert!(matches!(decode_command(&huge, &catalog), Err(MessageError::TooLarge { .. })));
    assert!(matches!(decode_command(b"", &catalog), Err(MessageError::Malformed(_))));
    assert!(matches!(decode_command(b"[1,2]", &catalog), Err(MessageError::Malformed(_))));
    let duplicate = br#"{"v":1,"v":1,"type":"massCancel","commandId":"a","accountId":"1","symbol":null}"#;
    assert!(matches!(decode_command(duplicate, &catalog), Err(MessageError::Malformed(_))));
}

fn fill(order: u64, account: u32, status: OrderStatus, filled: i64, leaves: i64) -> Fill {
    Fill {
        order_id: OrderId(order),
        account: AccountId(account),
        fee: 10,
        status,
        filled: Quantity(filled),
        leaves: Quantity(leaves),
    }
}

#[test]
fn a_command_s_events_become_keyed_counted_messages() {
    let catalog = common::catalog();
    let order = limit_buy();
    let accepted = Order {
        id: OrderId(9),
        account: order.account,
        client_order_id: order.client_order_id,
        instrument: order.instrument,
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        self_trade_prevention: SelfTradePrevention::ExpireMaker,
        post_only: false,
        reduce_only: false,
        status: OrderStatus::Accepted,
        price: Price(5_000_001),
        stop_price: None,
        quantity: Quantity(5_000),
        filled: Quantity(0),
        leaves: Quantity(5_000),
        expire_time: None,
        created: Timestamp(1_700_000_000_000_000_000),
    };
    let trade = Trade {
        trade_id: TradeId(1),
        instrument: InstrumentId(0),
        price: Price(5_000_000),
        quantity: Quantity(2_000),
        taker_side: Side::Buy,
        maker: fill(4, 8, OrderStatus::Filled, 2_000, 0),
        taker: fill(9, 7, OrderStatus::PartiallyFilled, 2_000, 3_000),
        timestamp: Timestamp(1_700_000_000_000_000_000),
    };
    let origin = CommandOrigin {
        origin: Origin::Stream { stream: 2, offset: 41 },
        action: None,
        sequence: Sequence(9),
        command: Some(InboundCommand {
            command_id: CommandId::new("cmd-1").unwrap(),
            symbol: Some(Symbol::new("BTC-USD").unwrap()),
            action: Action::NewOrder(order),
        }),
    };
    let messages =
        encode_command_events(&origin, &[Event::OrderAccepted(accepted), Event::Trade(trade)], &catalog).unwrap();
    let executions: Vec<_> = messages.iter().filter(|m| m.topic == TopicKind::Executions).collect();
    let keys: Vec<&str> = executions.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["9", "4", "9", "9"], "accepted, maker fill, taker fill, result");
    for (index, message) in executions.iter().enumerate() {
        let decoded = decode_execution(&message.payload).unwrap();
        let header = decoded.header();
        assert_eq!((header.event_index as usize, header.event_count), (index, 4));
        assert_eq!(header.command_id.as_deref(), Some("cmd-1"));
        assert_eq!(serde_json::to_vec(&decoded).unwrap(), message.payload, "decode/encode is exact");
    }
    let ExecutionMessage::Fill(maker) = decode_execution(&executions[1].payload).unwrap() else { panic!("a fill") };
    assert_eq!((maker.side, maker.liquidity.as_str(), maker.price.as_str()), (SideName::Sell, "maker", "50000"));
    assert_eq!((maker.fee.as_str(), maker.fee_asset.as_str()), ("0.00001", "USD"), "sellers pay in quote");
    let ExecutionMessage::CommandResult(result) = decode_execution(&executions[3].payload).unwrap() else {
        panic!("the result closes the set")
    };
    assert_eq!((result.status.as_deref(), result.trades), (Some("PARTIALLY_FILLED"), 1));
    let prices: Vec<_> = messages.iter().filter(|m| m.topic == TopicKind::Prices).collect();
    assert_eq!(prices.len(), 1);
    assert_eq!(prices[0].key, "BTC-USD");
    assert!(matches!(decode_price(&prices[0].payload).unwrap(), PriceMessage::Trade(t) if t.quantity == "0.2"));
}

#[test]
fn rejects_go_to_executions_and_risk_events() {
    let catalog = common::catalog();
    let origin = CommandOrigin {
        origin: Origin::Direct,
        action: None,
        sequence: Sequence(12),
        command: Some(InboundCommand {
            command_id: CommandId::new("cmd-2").unwrap(),
            symbol: Some(Symbol::new("BTC-USD").unwrap()),
            action: Action::NewOrder(limit_buy()),
        }),
    };
    let reject = Rejected {
        sequence: Sequence(12),
        account: Some(AccountId(7)),
        order_id: Some(OrderId(12)),
        client_order_id: Some(ClientOrderId::new("c-1").unwrap()),
        reason: RejectReason::InsufficientBalance,
    };
    let messages = encode_command_events(&origin, &[Event::Rejected(reject)], &catalog).unwrap();
    let risk: Vec<_> = messages.iter().filter(|m| m.topic == TopicKind::RiskEvents).collect();
    assert_eq!(risk.len(), 1);
    assert_eq!(risk[0].key, "7");
    let RiskEventMessage::RiskReject(event) = decode_risk_event(&risk[0].payload).unwrap() else { panic!("a reject") };
    assert!(event.breach);
    assert_eq!(event.reason, "insufficient_balance");
    assert_eq!(event.symbol.as_deref(), Some("BTC-USD"));
    let last = messages.iter().rfind(|m| m.topic == TopicKind::Executions).unwrap();
    let ExecutionMessage::CommandResult(result) = decode_execution(&last.payload).unwrap() else { panic!("result") };
    assert_eq!(
        (result.status.as_deref(), result.reject_reason.as_deref()),
        (Some("REJECTED"), Some("insufficient_balance"))
    );
}

#[test]
fn a_mass_cancel_that_cancelled_nothing_still_has_a_result() {
    let origin = CommandOrigin {
        origin: Origin::Direct,
        action: None,
        sequence: Sequence(3),
        command: Some(InboundCommand {
            command_id: CommandId::new("m").unwrap(),
            symbol: None,
            action: Action::MassCancel(MassCancel { account: AccountId(5), instrument: None }),
        }),
    };
    let messages = encode_command_events(&origin, &[], &common::catalog()).unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].key, "5");
    assert!(
        matches!(decode_execution(&messages[0].payload).unwrap(), ExecutionMessage::CommandResult(r) if r.header.event_count == 1)
    );
}

mod property_tests {
    use super::*;

    fn arbitrary_new_order() -> impl Strategy<Value = NewOrder> {
        (
            any::<u32>(),
            "[A-Za-z0-9_.:/-]{1,36}",
            any::<bool>(),
            prop_oneof![
                Just(OrderType::Limit),
                Just(OrderType::Market),
                Just(OrderType::Stop),
                Just(OrderType::StopLimit)
            ],
            proptest::option::of(1..=i64::MAX / 2),
            proptest::option::of(1..=i64::MAX / 2),
            1..=i64::MAX / 2,
            prop_oneof![Just(TimeInForce::Gtc), Just(TimeInForce::Ioc), Just(TimeInForce::Fok), Just(TimeInForce::Gtd)],
            proptest::option::of(0..=u64::MAX / 2),
            (any::<bool>(), any::<bool>()),
        )
            .prop_map(
                |(account, client, buy, order_type, price, stop, quantity, tif, expire, (post, reduce))| NewOrder {
                    account: AccountId(account),
                    client_order_id: ClientOrderId::new(&client).unwrap(),
                    instrument: InstrumentId(0),
                    side: if buy { Side::Buy } else { Side::Sell },
                    order_type,
                    price: price.map(Price),
                    stop_price: stop.map(Price),
                    quantity: Quantity(quantity),
                    time_in_force: tif,
                    expire_time: expire.map(Timestamp),
                    post_only: post,
                    reduce_only: reduce,
                    self_trade_prevention: SelfTradePrevention::ExpireBoth,
                },
            )
    }

    proptest! {
        #[test]
        fn prop_arbitrary_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let catalog = common::catalog();
            let _ = decode_command(&bytes, &catalog);
            let _ = decode_execution(&bytes);
            let _ = decode_price(&bytes);
            let _ = decode_risk_event(&bytes);
        }

        #[test]
        fn prop_command_shaped_json_converts_exactly_or_is_refused(
            price in "[-0-9.e]{0,30}",
            quantity in "[-0-9.]{0,30}",
            account in "[+0-9]{0,12}",
        ) {
            let mut message = new_order_json();
            message["price"] = json!(price);
            message["quantity"] = json!(quantity);
            message["accountId"] = json!(account);
            if let Ok(command) = decode(&message) {
                // Whatever is accepted re-encodes to the same values.
                let again = encode_command(&command, &common::catalog()).unwrap();
                prop_assert_eq!(decode_command(&again.payload, &common::catalog()).unwrap(), command);
            }
        }

        #[test]
        fn prop_new_orders_round_trip_exactly(order in arbitrary_new_order(), id in "[A-Za-z0-9-]{1,64}") {
            let catalog = common::catalog();
            let command = InboundCommand {
                command_id: CommandId::new(&id).unwrap(),
                symbol: Some(Symbol::new("BTC-USD").unwrap()),
                action: Action::NewOrder(order),
            };
            let message = encode_command(&command, &catalog).unwrap();
            let decoded = decode_command(&message.payload, &catalog).unwrap();
            prop_assert_eq!(decoded, command);
            let again = encode_command(&decoded, &catalog).unwrap();
            prop_assert_eq!(again.payload, message.payload);
        }
    }
}

/// Every JSON example in `docs/events.md` decodes with the decoder of its topic.
#[test]
fn the_documented_examples_decode() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md")).unwrap();
    let catalog = common::catalog();
    let mut checked = 0;
    for block in docs.split("```json").skip(1) {
        let json = block.split("```").next().unwrap();
        for value in serde_json::Deserializer::from_str(json).into_iter::<Value>() {
            let value = value.unwrap();
            let bytes = serde_json::to_vec(&value).unwrap();
            let kind = value["type"].as_str().unwrap().to_owned();
            let decoded = match kind.as_str() {
                "newOrder" | "cancelOrder" | "amendOrder" | "massCancel" | "transfer" | "transferIn"
                | "setRiskLimits" => decode_command(&bytes, &catalog).map(drop),
                "validateOrder" => decode_inbound(&bytes, &catalog).map(drop),
                // The command on `orders`, not the risk event of the same name.
                "killSwitch" if value.get("cancelOpenOrders").is_some() => decode_command(&bytes, &catalog).map(drop),
                "trade" | "book" | "candle" => decode_price(&bytes).map(drop),
                "riskReject" | "killSwitch" | "position" | "balance" | "limits" => decode_risk_event(&bytes).map(drop),
                _ => decode_execution(&bytes).map(drop),
            };
            assert!(decoded.is_ok(), "docs example {kind}: {decoded:?}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "found {checked} examples");
}

#[test]
fn a_duplicate_delivery_publishes_nothing() {
    let origin = CommandOrigin {
        origin: Origin::Direct,
        action: None,
        sequence: Sequence(20),
        command: Some(InboundCommand {
            command_id: CommandId::new("cmd-1").unwrap(),
            symbol: Some(Symbol::new("BTC-USD").unwrap()),
            action: Action::NewOrder(limit_buy()),
        }),
    };
    let duplicate = Rejected {
        sequence: Sequence(20),
        account: Some(AccountId(7)),
        order_id: Some(OrderId(20)),
        client_order_id: None,
        reason: RejectReason::DuplicateDelivery,
    };
    assert_eq!(encode_command_events(&origin, &[Event::Rejected(duplicate)], &common::catalog()).unwrap(), vec![]);
}

#[test]
fn sampled_books_and_balances_encode_exactly() {
    let catalog = common::catalog();
    let instrument = *catalog.instrument(InstrumentId(0)).unwrap();
    let bids = [(Price(4_999_999), Quantity(12_000)), (Price(4_999_000), Quantity(1))];
    let book = encode_book(Sequence(41), &instrument, &bids, &[], Timestamp(1_700_000_000_000_000_000)).unwrap();
    assert_eq!((book.topic, book.key.as_str()), (TopicKind::Prices, "BTC-USD"));
    let PriceMessage::Book(decoded) = decode_price(&book.payload).unwrap() else { panic!("a book") };
    assert_eq!(decoded.sequence, "41");
    assert_eq!(decoded.bids, [["49999.99", "1.2"], ["49990", "0.0001"]].map(|l| l.map(String::from)));
    assert!(decoded.asks.is_empty());

    let usd = *catalog.asset(oms_core::model::AssetId(1)).unwrap();
    let funds = oms_core::risk::Balance { available: 1_250_500_000, reserved: 1 };
    let balance = encode_balance(Sequence(42), 3, AccountId(7), &usd, funds).unwrap();
    assert_eq!((balance.topic, balance.key.as_str()), (TopicKind::RiskEvents, "7"));
    let RiskEventMessage::Balance(decoded) = decode_risk_event(&balance.payload).unwrap() else { panic!("a balance") };
    assert_eq!(
        (
            decoded.sequence.as_str(),
            decoded.shard,
            decoded.asset.as_str(),
            decoded.available.as_str(),
            decoded.reserved.as_str()
        ),
        ("42", 3, "USD", "1250.5", "0.000001")
    );
}

fn transfer_json() -> Value {
    json!({
        "v": 1, "type": "transfer", "commandId": "t-1", "accountId": "7", "symbol": "BTC-USD",
        "toSymbol": "BTC-USD", "asset": "USD", "amount": "1250.5"
    })
}

#[test]
fn a_transfer_decodes_exactly_and_bad_amounts_or_assets_are_refused() {
    let command = decode(&transfer_json()).unwrap();
    let out = TransferOut { account: AccountId(7), asset: AssetId(1), amount: 1_250_500_000, to: InstrumentId(0) };
    assert_eq!(command.action, Action::TransferOut(out));
    assert_eq!(command.key(), "BTC-USD", "routed to the source shard");
    let message = encode_command(&command, &common::catalog()).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&message.payload).unwrap(), transfer_json());

    let with = |field: &str, value: Value| {
        let mut message = transfer_json();
        message[field] = value;
        decode(&message)
    };
    for amount in ["0", "-1", "0.0000001", "1e3", ""] {
        assert!(
            matches!(
                with("amount", json!(amount)),
                Err(MessageError::Value { field: "amount", .. } | MessageError::InvalidField { field: "amount", .. })
            ),
            "amount {amount:?}"
        );
    }
    assert!(matches!(with("asset", json!("XRP")), Err(MessageError::InvalidField { field: "asset", .. })));
    assert!(matches!(with("toSymbol", json!("DOGE-USD")), Err(MessageError::UnknownSymbol(_))));
    assert!(matches!(with("accountId", json!("-7")), Err(MessageError::InvalidField { field: "accountId", .. })));
}

#[test]
fn a_debited_transfer_sends_its_credit_to_the_destination_and_a_refused_one_does_not() {
    let catalog = common::catalog();
    let out = TransferOut { account: AccountId(7), asset: AssetId(1), amount: 5_000_000, to: InstrumentId(0) };
    let command = InboundCommand {
        command_id: CommandId::new("t-1").unwrap(),
        symbol: Some(Symbol::new("BTC-USD").unwrap()),
        action: Action::TransferOut(out),
    };
    let live = CommandOrigin {
        origin: Origin::Stream { stream: 2, offset: 41 },
        action: None,
        sequence: Sequence(9),
        command: Some(command),
    };
    let debited =
        [Event::BalanceChanged(BalanceChanged { account: AccountId(7), asset: AssetId(1), available: 1, reserved: 0 })];
    let messages = encode_command_events(&live, &debited, &catalog).unwrap();
    let topics: Vec<TopicKind> = messages.iter().map(|m| m.topic).collect();
    assert_eq!(topics, [TopicKind::Executions, TopicKind::Orders], "the client's decision, then the credit");
    let ExecutionMessage::CommandResult(result) = decode_execution(&messages[0].payload).unwrap() else {
        panic!("a result")
    };
    assert_eq!((result.header.command_id.as_deref(), result.reject_reason), (Some("t-1"), None));
    let credit = decode_command(&messages[1].payload, &catalog).unwrap();
    assert_eq!(messages[1].key, "BTC-USD", "keyed by a symbol the destination trades");
    assert_eq!(credit.command_id.as_str(), "transfer-2-41", "never the client's id");
    assert_eq!(
        credit.action,
        Action::TransferIn(TransferIn {
            account: AccountId(7),
            asset: AssetId(1),
            amount: 5_000_000,
            from_shard: 2,
            source_offset: 41
        })
    );

    // Republished from the journal (no client command id): the same credit, byte for byte.
    let republished = CommandOrigin { command: None, action: Some(Action::TransferOut(out)), ..live };
    let again = encode_command_events(&republished, &debited, &catalog).unwrap();
    assert_eq!(again.last().unwrap().payload, messages[1].payload);

    let refused = [Event::Rejected(Rejected {
        sequence: Sequence(9),
        account: Some(AccountId(7)),
        order_id: None,
        client_order_id: None,
        reason: RejectReason::InsufficientBalance,
    })];
    let messages = encode_command_events(&live, &refused, &catalog).unwrap();
    assert!(messages.iter().all(|m| m.topic != TopicKind::Orders), "nothing debited, nothing to credit");

    // A transfer must know its own position to be credited once; without one it is an error.
    let direct = CommandOrigin { origin: Origin::Direct, ..live };
    assert!(encode_command_events(&direct, &debited, &catalog).is_err());
}

fn limits_json() -> Value {
    json!({
        "v": 1, "type": "setRiskLimits", "commandId": "l-1", "accountId": "7", "symbol": "BTC-USD",
        "limits": {
            "orderQuantityMax": "100000000", "orderNotionalMax": "5000000000", "positionMax": "300000000",
            "openOrdersMax": 25, "ordersPerWindowMax": 50, "rateWindowNs": "1000000000",
            "dailyLossMax": "100000000", "concentrationMaxBps": 10000, "concentrationFloor": "0"
        }
    })
}

fn shard_limits() -> RiskLimits {
    RiskLimits {
        order_quantity_max_base: 100_000_000,
        order_notional_max_quote: 5_000_000_000,
        position_max_base: 300_000_000,
        open_orders_max: 25,
        orders_per_window_max: 50,
        rate_window_ns: 1_000_000_000,
        daily_loss_max_quote: 100_000_000,
        concentration_max_bps: 10_000,
        concentration_floor_quote: 0,
    }
}

#[test]
fn set_risk_limits_round_trips_and_unrepresentable_limits_are_refused() {
    let command = decode(&limits_json()).unwrap();
    assert_eq!(command.action, Action::SetRiskLimits(SetRiskLimits { account: AccountId(7), limits: shard_limits() }));
    assert_eq!(command.key(), "BTC-USD", "routed to the shard that trades the symbol");
    let message = encode_command(&command, &common::catalog()).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&message.payload).unwrap(), limits_json());

    let with_limit = |field: &str, value: Value| {
        let mut message = limits_json();
        message["limits"][field] = value;
        decode(&message)
    };
    for (field, value) in [
        ("orderQuantityMax", json!("-1")),
        ("positionMax", json!("01")),
        ("dailyLossMax", json!("9223372036854775808")),
        ("orderNotionalMax", json!("1.5")),
        ("rateWindowNs", json!("")),
    ] {
        assert!(
            matches!(
                with_limit(field, value.clone()),
                Err(MessageError::Value { field: f, .. } | MessageError::InvalidField { field: f, .. }) if f == field
            ),
            "{field} = {value}"
        );
    }
    assert!(matches!(with_limit("openOrdersMax", json!(-1)), Err(MessageError::Malformed(_))));
    assert!(matches!(with_limit("extra", json!(1)), Err(MessageError::Malformed(_))));
    let mut unrouted = limits_json();
    unrouted["symbol"] = json!("DOGE-USD");
    assert!(matches!(decode(&unrouted), Err(MessageError::UnknownSymbol(_))));
}

#[test]
fn limits_a_shard_applied_are_reported_with_the_shard_and_a_refusal_reports_none() {
    let catalog = common::catalog();
    let set = SetRiskLimits { account: AccountId(7), limits: shard_limits() };
    let live = CommandOrigin {
        origin: Origin::Stream { stream: 3, offset: 12 },
        action: None,
        sequence: Sequence(40),
        command: Some(decode(&limits_json()).unwrap()),
    };
    let applied = [Event::AdminApplied(oms_core::model::AdminApplied::RiskLimitsSet(AccountId(7)))];
    let messages = encode_command_events(&live, &applied, &catalog).unwrap();
    let report = messages.iter().find(|m| m.topic == TopicKind::RiskEvents).expect("a limits event");
    assert_eq!(report.key, "7", "keyed by account");
    let RiskEventMessage::Limits(limits) = decode_risk_event(&report.payload).unwrap() else { panic!("limits") };
    assert_eq!((limits.shard, limits.sequence.as_str(), limits.account_id.as_str()), (3, "40", "7"));
    assert_eq!(limits.command_id.as_deref(), Some("l-1"));
    assert_eq!(limits.limits.to_limits().unwrap(), shard_limits());

    // Republished from the journal: the same report, byte for byte.
    let republished = CommandOrigin { command: None, action: Some(Action::SetRiskLimits(set)), ..live };
    let again = encode_command_events(&republished, &applied, &catalog).unwrap();
    let again = again.iter().find(|m| m.topic == TopicKind::RiskEvents).unwrap();
    let mut expected: Value = serde_json::from_slice(&report.payload).unwrap();
    expected["commandId"] = Value::Null;
    assert_eq!(serde_json::from_slice::<Value>(&again.payload).unwrap(), expected, "only the client's id is gone");

    let refused = [Event::Rejected(Rejected {
        sequence: Sequence(40),
        account: Some(AccountId(7)),
        order_id: None,
        client_order_id: None,
        reason: RejectReason::InvalidRiskLimits,
    })];
    let messages = encode_command_events(&live, &refused, &catalog).unwrap();
    assert!(
        messages
            .iter()
            .all(|m| decode_risk_event(&m.payload).map_or(true, |e| !matches!(e, RiskEventMessage::Limits(_)))),
        "a refusal changes no limits"
    );
}

/// `validateOrder` carries a `newOrder`'s fields; only the engine's `decode_inbound` takes
/// it (as a check, not a command), and its answer is one `commandResult` without an order.
#[test]
fn a_validation_round_trips_and_is_answered_by_one_result_without_an_order() {
    let catalog = common::catalog();
    let mut message = new_order_json();
    message["type"] = json!("validateOrder");
    let bytes = serde_json::to_vec(&message).unwrap();
    let Ok(Inbound::Validate(command)) = decode_inbound(&bytes, &catalog) else { panic!("a validation") };
    assert_eq!(command, decode(&new_order_json()).unwrap(), "the same order as a newOrder");
    assert!(
        matches!(decode_command(&bytes, &catalog), Err(MessageError::UnknownType(t)) if t == "validateOrder"),
        "never applied as a command"
    );
    assert!(matches!(
        decode_inbound(&serde_json::to_vec(&new_order_json()).unwrap(), &catalog),
        Ok(Inbound::Apply(c)) if c == command
    ));
    let encoded = encode_validation(&command, &catalog).unwrap();
    assert_eq!((encoded.topic, encoded.key.as_str()), (TopicKind::Orders, "BTC-USD"));
    assert_eq!(serde_json::from_slice::<Value>(&encoded.payload).unwrap(), message);
    let cancel = InboundCommand {
        action: Action::CancelOrder(CancelOrder { account: AccountId(7), order_id: OrderId(1) }),
        ..command
    };
    assert!(encode_validation(&cancel, &catalog).is_err(), "only orders are validated");

    let origin = CommandOrigin {
        sequence: Sequence(44),
        command: Some(command),
        origin: Origin::Stream { stream: 2, offset: 41 },
        action: None,
    };
    for (verdict, reason) in [(Ok(()), None), (Err(RejectReason::PostOnlyWouldTake), Some("post_only_would_take"))] {
        let answer = encode_validation_result(&origin, verdict).unwrap();
        assert_eq!((answer.topic, answer.key.as_str()), (TopicKind::Executions, "7"), "keyed by the account");
        let ExecutionMessage::CommandResult(result) = decode_execution(&answer.payload).unwrap() else {
            panic!("a commandResult")
        };
        assert_eq!(result.header.command_id.as_deref(), Some("cmd-1"));
        assert_eq!((result.header.event_index, result.header.event_count), (0, 1));
        assert_eq!((result.header.orders_partition, result.header.orders_offset.as_deref()), (Some(2), Some("41")));
        assert_eq!((result.order_id, result.status, result.trades), (None, None, 0), "no order");
        assert_eq!(result.reject_reason.as_deref(), reason);
    }
}
