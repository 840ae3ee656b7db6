//! Round trips for every message, decoding across arbitrary splits of the byte stream, and
//! arbitrary bytes never panicking.

use bytes::BytesMut;
use oms_core::model::{ClientOrderId, RejectReason};
use oms_tcp::codec::*;
use proptest::prelude::*;

fn wire_order() -> impl Strategy<Value = WireOrder> {
    (
        (any::<u64>(), any::<u32>(), 1u8..=2, 1u8..=4, 1u8..=4, 0u8..=3, 1u8..=4),
        (any::<i64>(), any::<i64>(), any::<i64>(), any::<u64>(), "[A-Za-z0-9._:/-]{1,36}"),
    )
        .prop_map(
            |(
                (client_seq, instrument, side, order_type, time_in_force, flags, stp),
                (price, stop_price, quantity, expire_time, cid),
            )| {
                WireOrder {
                    client_seq,
                    instrument,
                    side,
                    order_type,
                    time_in_force,
                    flags,
                    stp,
                    price,
                    stop_price,
                    quantity,
                    expire_time,
                    client_order_id: ClientOrderId::new(&cid).expect("generated from the allowed set"),
                }
            },
        )
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        "[!-~]{1,64}".prop_map(|api_key| ClientMessage::Login { api_key }),
        wire_order().prop_map(ClientMessage::NewOrder),
        (any::<u64>(), any::<u64>()).prop_map(|(client_seq, order_id)| ClientMessage::Cancel { client_seq, order_id }),
        (any::<u64>(), any::<u64>(), any::<i64>(), any::<i64>()).prop_map(|(client_seq, order_id, price, quantity)| {
            ClientMessage::Amend { client_seq, order_id, price, quantity }
        }),
        Just(ClientMessage::Heartbeat),
        Just(ClientMessage::Logout),
    ]
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    let reason = prop_oneof![
        Just(LogoutReason::Requested),
        Just(LogoutReason::Unauthorized),
        Just(LogoutReason::MalformedFrame),
        Just(LogoutReason::SequenceGap),
        Just(LogoutReason::IdleTimeout),
        Just(LogoutReason::SlowConsumer),
        Just(LogoutReason::Overloaded),
        Just(LogoutReason::ShuttingDown),
    ];
    prop_oneof![
        any::<u32>().prop_map(|account| ServerMessage::LoginAck { account }),
        (any::<u64>(), any::<u64>(), any::<u8>(), any::<i64>(), any::<i64>()).prop_map(
            |(client_seq, order_id, status, filled, leaves)| ServerMessage::Ack {
                client_seq,
                order_id,
                status,
                filled,
                leaves
            }
        ),
        (any::<u64>(), any::<u64>(), any::<u16>()).prop_map(|(client_seq, order_id, reason)| ServerMessage::Reject {
            client_seq,
            order_id,
            reason
        }),
        (any::<(u64, u64, i64, i64, i64, u8, u8, i64)>()).prop_map(
            |(order_id, trade_id, price, quantity, fee, liquidity, status, leaves)| {
                ServerMessage::Fill { order_id, trade_id, price, quantity, fee, liquidity, status, leaves }
            }
        ),
        (any::<u64>(), any::<u64>(), any::<u8>(), any::<i64>()).prop_map(
            |(client_seq, order_id, reason, cancelled)| ServerMessage::Cancelled {
                client_seq,
                order_id,
                reason,
                cancelled
            }
        ),
        Just(ServerMessage::Heartbeat),
        reason.prop_map(|reason| ServerMessage::Logout { reason }),
    ]
}

proptest! {
    #[test]
    fn prop_client_messages_round_trip_across_any_split(messages in proptest::collection::vec(client_message(), 1..20), split in any::<prop::sample::Index>()) {
        let mut wire = BytesMut::new();
        for m in &messages {
            encode_client(m, &mut wire);
        }
        // Feed the stream in two pieces split anywhere: partial frames wait for more bytes.
        let cut = split.index(wire.len() + 1);
        let mut buffer = BytesMut::from(&wire[..cut]);
        let mut decoded = Vec::new();
        while let Some(m) = decode_client(&mut buffer).expect("valid frames") {
            decoded.push(m);
        }
        buffer.extend_from_slice(&wire[cut..]);
        while let Some(m) = decode_client(&mut buffer).expect("valid frames") {
            decoded.push(m);
        }
        prop_assert_eq!(decoded, messages);
        prop_assert!(buffer.is_empty());
    }

    #[test]
    fn prop_server_messages_round_trip(message in server_message()) {
        let mut wire = BytesMut::new();
        encode_server(&message, &mut wire);
        prop_assert_eq!(decode_server(&mut wire), Ok(Some(message)));
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1_200)) {
        let mut buffer = BytesMut::from(&bytes[..]);
        for _ in 0..64 {
            match decode_client(&mut buffer) {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            }
        }
        let mut buffer = BytesMut::from(&bytes[..]);
        let _ = decode_server(&mut buffer);
    }
}

#[test]
fn malformed_frames_are_typed_errors() {
    let cases: Vec<(Vec<u8>, FrameError)> = vec![
        (vec![0, 0], FrameError::Length(0)),
        (vec![0x01, 0x02], FrameError::Length(513)),
        (vec![1, 0, 0x7f], FrameError::UnknownType(0x7f)),
        (vec![2, 0, 0x05, 0], FrameError::Body("heartbeat")),
        (vec![2, 0, 0x01, 0], FrameError::Body("login")),
        (vec![3, 0, 0x01, 5, b'a'], FrameError::Body("login")),
        (vec![1, 0, 0x03], FrameError::Body("cancel")),
    ];
    for (bytes, error) in cases {
        assert_eq!(decode_client(&mut BytesMut::from(&bytes[..])), Err(error), "{bytes:?}");
    }
    // A new order with a reserved flag bit set is refused, not silently masked.
    let mut wire = BytesMut::new();
    let order = WireOrder {
        client_seq: 1,
        instrument: 0,
        side: 1,
        order_type: 1,
        time_in_force: 1,
        flags: 0b100,
        stp: 1,
        price: 1,
        stop_price: 0,
        quantity: 1,
        expire_time: 0,
        client_order_id: ClientOrderId::new("x").expect("valid"),
    };
    encode_client(&ClientMessage::NewOrder(order), &mut wire);
    assert_eq!(decode_client(&mut wire), Err(FrameError::Body("new order")));
}

#[test]
fn reject_codes_cover_every_reason() {
    for reason in RejectReason::ALL {
        assert_eq!(reject_from_code(reject_code(reason)), Some(reason));
    }
    assert_eq!(reject_from_code(0), None);
    assert_eq!(reject_from_code(u16::MAX), None);
}
