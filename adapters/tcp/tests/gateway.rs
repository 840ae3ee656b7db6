//! The gateway over real sockets against the real pipeline.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use oms_core::model::*;
use oms_core::pipeline::EngineHandle;
use oms_core::prelude::Engine;
use oms_tcp::codec::*;
use oms_tcp::{Gateway, GatewayConfig};
use rust_decimal_macros::dec;

fn start(config: impl FnOnce(GatewayConfig) -> GatewayConfig) -> (Gateway, EngineHandle) {
    let mut builder = Engine::builder().ring_slots(1 << 14);
    builder = builder
        .asset(AssetSpec { id: AssetId(0), code: AssetCode::new("USD").expect("valid"), scale: 6 })
        .asset(AssetSpec { id: AssetId(1), code: AssetCode::new("BTC").expect("valid"), scale: 8 })
        .instrument(InstrumentSpec {
            id: InstrumentId(0),
            symbol: Symbol::new("BTC-USD").expect("valid"),
            base: AssetId(1),
            quote: AssetId(0),
            tick_size: dec!(0.01),
            lot_size: dec!(0.0001),
            quantity_min: dec!(0.0001),
            quantity_max: dec!(1000),
            notional_min: dec!(0),
            notional_max: dec!(100000000),
            price_band_bps: 0,
            reference_price: dec!(50000),
            maker_fee_ppm: 100,
            taker_fee_ppm: 400,
        })
        .risk_limits(AccountId(1), RiskLimits { open_orders_max: 1_000_000, ..RiskLimits::PERMISSIVE });
    for account in [1, 2] {
        builder =
            builder.deposit(AccountId(account), AssetId(0), 1 << 60).deposit(AccountId(account), AssetId(1), 1 << 60);
    }
    let engine = builder.start().expect("engine");
    let auth: oms_tcp::Authenticate = Arc::new(|key: &str| match key {
        "key-1" => Some(AccountId(1)),
        "key-2" => Some(AccountId(2)),
        _ => None,
    });
    let gateway =
        Gateway::start(config(GatewayConfig::new("127.0.0.1:0".parse().expect("addr"))), engine.clone(), auth)
            .expect("gateway");
    (gateway, engine)
}

struct Client {
    stream: TcpStream,
    input: BytesMut,
    next_seq: u64,
}

impl Client {
    fn connect(gateway: &Gateway) -> Self {
        let stream = TcpStream::connect(gateway.local_addr()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        Self { stream, input: BytesMut::new(), next_seq: 1 }
    }

    fn login(gateway: &Gateway, key: &str) -> Self {
        let mut client = Self::connect(gateway);
        client.send(&ClientMessage::Login { api_key: key.into() });
        assert!(matches!(client.recv(), Some(ServerMessage::LoginAck { .. })));
        client
    }

    fn send(&mut self, message: &ClientMessage) {
        let mut out = BytesMut::new();
        encode_client(message, &mut out);
        self.stream.write_all(&out).expect("write");
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Next message that is not a heartbeat; `None` at EOF.
    fn recv(&mut self) -> Option<ServerMessage> {
        loop {
            if let Some(message) = decode_server(&mut self.input).expect("valid server frame") {
                if message != ServerMessage::Heartbeat {
                    return Some(message);
                }
                continue;
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn order(&mut self, side: u8, price: i64, quantity: i64, tif: u8, cid: &str) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let order = WireOrder {
            client_seq: seq,
            instrument: 0,
            side,
            order_type: 1,
            time_in_force: tif,
            flags: 0,
            stp: 2,
            price,
            stop_price: 0,
            quantity,
            expire_time: 0,
            client_order_id: ClientOrderId::new(cid).expect("valid"),
        };
        self.send(&ClientMessage::NewOrder(order));
        seq
    }
}

#[test]
fn place_amend_cancel_and_fills_over_a_socket() {
    let (gateway, engine) = start(|c| c);
    let mut maker = Client::login(&gateway, "key-1");
    let mut taker = Client::login(&gateway, "key-2");
    let seq = maker.order(2, 5_000_000, 30, 1, "m-1");
    let Some(ServerMessage::Ack { client_seq, order_id, status: 2, filled: 0, leaves: 30 }) = maker.recv() else {
        panic!("ack expected")
    };
    assert_eq!(client_seq, seq);
    maker.send(&ClientMessage::Amend { client_seq: 2, order_id, price: 0, quantity: 20 });
    assert_eq!(maker.recv(), Some(ServerMessage::Ack { client_seq: 2, order_id, status: 2, filled: 0, leaves: 20 }));
    taker.order(1, 5_000_000, 5, 2, "t-1");
    let Some(ServerMessage::Ack { status, .. }) = taker.recv() else { panic!("taker ack") };
    assert_eq!(status, 2, "accepted, then filled by the trade");
    let Some(ServerMessage::Fill { liquidity: 2, quantity: 5, price: 5_000_000, status: 5, .. }) = taker.recv() else {
        panic!("taker fill")
    };
    let Some(ServerMessage::Fill { order_id: filled_id, liquidity: 1, quantity: 5, leaves: 15, status: 4, .. }) =
        maker.recv()
    else {
        panic!("maker fill")
    };
    assert_eq!(filled_id, order_id);
    maker.send(&ClientMessage::Cancel { client_seq: 3, order_id });
    assert_eq!(maker.recv(), Some(ServerMessage::Cancelled { client_seq: 3, order_id, reason: 1, cancelled: 15 }));
    // An engine refusal is a typed reject.
    maker.next_seq = 4;
    maker.order(1, 5_000_000, 0, 1, "m-zero");
    let Some(ServerMessage::Reject { client_seq: 4, reason, .. }) = maker.recv() else { panic!("reject expected") };
    assert_eq!(reject_from_code(reason), Some(RejectReason::QuantityNotPositive));
    maker.send(&ClientMessage::Cancel { client_seq: 5, order_id: 999_999 });
    let answer = maker.recv();
    let Some(ServerMessage::Reject { client_seq: 5, reason, .. }) = answer else {
        panic!("reject expected, got {answer:?}")
    };
    assert_eq!(reject_from_code(reason), Some(RejectReason::UnknownOrder));
    maker.send(&ClientMessage::Logout);
    assert_eq!(maker.recv(), Some(ServerMessage::Logout { reason: LogoutReason::Requested }));
    assert_eq!(maker.recv(), None, "closed after logout");
    gateway.stop();
    assert_eq!(taker.recv(), Some(ServerMessage::Logout { reason: LogoutReason::ShuttingDown }));
    engine.shutdown().expect("engine shuts down");
}

#[test]
fn protocol_violations_end_the_session_with_a_reason() {
    let (gateway, engine) = start(|c| c);
    let cases: Vec<(&str, Vec<u8>, LogoutReason)> = vec![
        (
            "bad key",
            {
                let mut b = BytesMut::new();
                encode_client(&ClientMessage::Login { api_key: "nope".into() }, &mut b);
                b.to_vec()
            },
            LogoutReason::Unauthorized,
        ),
        (
            "order before login",
            {
                let mut b = BytesMut::new();
                encode_client(&ClientMessage::Cancel { client_seq: 1, order_id: 1 }, &mut b);
                b.to_vec()
            },
            LogoutReason::MalformedFrame,
        ),
        ("oversized length", vec![0xff, 0xff, 0x01], LogoutReason::MalformedFrame),
        ("unknown type", vec![1, 0, 0x42], LogoutReason::MalformedFrame),
    ];
    for (name, bytes, reason) in cases {
        let mut client = Client::connect(&gateway);
        client.send_raw(&bytes);
        assert_eq!(client.recv(), Some(ServerMessage::Logout { reason }), "{name}");
        assert_eq!(client.recv(), None, "{name}: closed");
    }
    let mut client = Client::login(&gateway, "key-1");
    client.send(&ClientMessage::Cancel { client_seq: 7, order_id: 1 });
    assert_eq!(client.recv(), Some(ServerMessage::Logout { reason: LogoutReason::SequenceGap }));
    let mut client = Client::login(&gateway, "key-1");
    client.send_raw(&[5, 0, 0x03, 1, 2, 3, 4]);
    assert_eq!(
        client.recv(),
        Some(ServerMessage::Logout { reason: LogoutReason::MalformedFrame }),
        "short cancel body"
    );
    gateway.stop();
    engine.shutdown().expect("engine shuts down");
}

#[test]
fn heartbeats_and_idle_timeout() {
    let (gateway, engine) = start(|c| GatewayConfig {
        idle_timeout: Duration::from_millis(600),
        heartbeat_interval: Duration::from_millis(150),
        ..c
    });
    let mut client = Client::login(&gateway, "key-1");
    let started = Instant::now();
    let mut heartbeats = 0;
    loop {
        let mut chunk = [0u8; 256];
        match client.stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => client.input.extend_from_slice(&chunk[..n]),
        }
        while let Some(message) = decode_server(&mut client.input).expect("valid") {
            match message {
                ServerMessage::Heartbeat => heartbeats += 1,
                ServerMessage::Logout { reason } => assert_eq!(reason, LogoutReason::IdleTimeout),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!(heartbeats >= 2, "heartbeats while idle: {heartbeats}");
    assert!(started.elapsed() >= Duration::from_millis(500) && started.elapsed() < Duration::from_secs(5));
    gateway.stop();
    engine.shutdown().expect("engine shuts down");
}

#[test]
fn slow_consumer_is_disconnected_without_stalling_others() {
    // A long idle timeout, so only slow-consumer detection can close the silent session.
    let (gateway, engine) = start(|c| GatewayConfig {
        outbound_bytes_max: 1 << 20,
        idle_timeout: Duration::from_secs(120),
        socket_send_buffer_bytes: Some(64 * 1024),
        ..c
    });
    // The slow client also keeps a small receive buffer, as a congested link would.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(16 * 1024).expect("rcvbuf");
    socket.connect(&gateway.local_addr().into()).expect("connect");
    let mut slow = Client { stream: socket.into(), input: BytesMut::new(), next_seq: 1 };
    slow.send(&ClientMessage::Login { api_key: "key-1".into() });
    assert!(matches!(slow.recv(), Some(ServerMessage::LoginAck { .. })));
    let mut busy = Client::login(&gateway, "key-1");
    // Non-crossing IOC orders: each is acked to `busy` and then cancelled, and cancels go
    // to every session of the account, so the silent `slow` session piles up output. `busy`
    // reads on a second thread while it sends.
    let rounds = 100_000u64;
    let mut reader = Client { stream: busy.stream.try_clone().expect("clone"), input: BytesMut::new(), next_seq: 0 };
    let answered = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let answered_by_reader = Arc::clone(&answered);
    let counter = std::thread::spawn(move || {
        let (mut acks, mut overloaded) = (0, 0);
        while acks + overloaded < rounds {
            answered_by_reader.store(acks + overloaded, std::sync::atomic::Ordering::Release);
            match reader.recv() {
                Some(ServerMessage::Ack { .. }) => acks += 1,
                // A full ring answers `overloaded` at once instead of blocking: also an answer.
                Some(ServerMessage::Reject { reason: 0, .. }) => overloaded += 1,
                Some(ServerMessage::Cancelled { reason: 5, .. }) => {}
                other => panic!("busy session got {other:?} after {acks} acks"),
            }
        }
        (acks, overloaded)
    });
    for n in 0..rounds {
        // At most 2 048 requests in flight, so the ring never fills and every order produces
        // its cancel (and so output for the silent session).
        while n - answered.load(std::sync::atomic::Ordering::Acquire) > 2_048 {
            std::thread::yield_now();
        }
        busy.order(1, 4_000_000 + (n % 100) as i64, 1, 2, &format!("b-{n}"));
    }
    let (acks, overloaded) = counter.join().expect("reader");
    assert_eq!(acks + overloaded, rounds, "every request answered: the engine and the other session never stalled");
    assert!(acks > rounds / 10, "most requests were placed ({acks} acked, {overloaded} overloaded)");
    // The slow session was cut off: after whatever the kernel buffered, the stream ends.
    slow.stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let cut_off = Instant::now();
    let mut received = 0usize;
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match slow.stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(e) => panic!("slow session neither closed nor readable: {e}"),
        }
    }
    assert!(received < (rounds as usize) * 36, "the slow session did not get everything ({received} bytes)");
    assert!(cut_off.elapsed() < Duration::from_secs(5), "closed as a slow consumer, not by the idle timeout");
    gateway.stop();
    engine.shutdown().expect("engine shuts down");
}
