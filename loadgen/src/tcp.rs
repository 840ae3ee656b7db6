//! TCP target: the binary gateway of a running `oms serve --tcp-listen`, open loop over
//! several connections. Each connection has a writer that sends every frame whose planned
//! time has come in one `write` (a sender that falls behind is charged, latency runs from
//! the planned time), and a reader that matches answers to requests by `client_seq`.
//! Flow per connection: 40 % resting limits, 15 % marketable IOC, 45 % cancels of the
//! connection's own acknowledged resting orders (so books stay at a steady size).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::BytesMut;
use hdrhistogram::Histogram;
use oms_core::model::ClientOrderId;
use oms_tcp::codec::{ClientMessage, ServerMessage, WireOrder, decode_server, encode_client, reject_from_code};

use crate::report::{Report, Tally};

/// Options of a TCP run.
#[derive(Clone, Debug)]
pub struct TcpOptions {
    /// Gateway address.
    pub addr: SocketAddr,
    /// Planned requests per second over all connections.
    pub rate: u64,
    /// Measured time.
    pub duration: Duration,
    /// Unmeasured time before.
    pub warmup: Duration,
    /// API keys, one per connection round-robin.
    pub api_keys: Vec<String>,
    /// Connections.
    pub connections: usize,
    /// Instrument id to trade.
    pub instrument: u32,
    /// Mid price in ticks (the market's reference).
    pub mid_ticks: i64,
}

/// Runs the load.
pub fn run(options: &TcpOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(options.connections > 0 && options.rate > 0, "rate and connections must be positive");
    let per_connection = options.rate as f64 / options.connections as f64;
    let total = ((options.warmup + options.duration).as_secs_f64() * per_connection) as u64;
    let warmup = (options.warmup.as_secs_f64() * per_connection) as u64;
    let start = Instant::now() + Duration::from_millis(200);
    let mut threads = Vec::new();
    for c in 0..options.connections {
        let options = options.clone();
        let key = options.api_keys[c % options.api_keys.len()].clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("lg-tcp-{c}"))
                .spawn(move || connection(&options, &key, c as u64, total, warmup, per_connection, start))?,
        );
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let mut tally = Tally::default();
    let mut sent = 0;
    let mut last_answer = start;
    for thread in threads {
        let (h, t, s, last) = thread.join().map_err(|_| anyhow::anyhow!("connection thread panicked"))??;
        histogram.add(&h)?;
        tally.merge(t);
        sent += s;
        last_answer = last_answer.max(last);
    }
    let elapsed = last_answer.saturating_duration_since(start + options.warmup).as_secs_f64().max(1e-9);
    let target = format!("tcp://{}", options.addr);
    Ok(Report::remote(
        target,
        options.rate,
        sent,
        tally,
        &histogram,
        elapsed,
        options.duration,
        options.warmup,
        options.connections,
    ))
}

/// A connection's latencies, answers, measured requests sent, and time of its last answer.
type ConnectionResult = anyhow::Result<(Histogram<u64>, Tally, u64, Instant)>;
/// A reader's latencies, answers and time of its last answer.
type ReaderResult = anyhow::Result<(Histogram<u64>, Tally, Instant)>;

fn connection(
    options: &TcpOptions,
    key: &str,
    index: u64,
    total: u64,
    warmup: u64,
    rate: f64,
    start: Instant,
) -> ConnectionResult {
    let mut stream = TcpStream::connect(options.addr).with_context(|| format!("connecting {}", options.addr))?;
    stream.set_nodelay(true)?;
    let mut out = BytesMut::new();
    encode_client(&ClientMessage::Login { api_key: key.to_owned() }, &mut out);
    stream.write_all(&out)?;
    out.clear();
    // Planned send time of each client_seq, in ns after `start` (index = client_seq).
    let planned: Arc<Vec<AtomicU64>> = Arc::new((0..=total).map(|_| AtomicU64::new(0)).collect());
    // Whether each client_seq is a resting (GTC) order, the only kind worth cancelling later.
    let rests: Arc<Vec<std::sync::atomic::AtomicBool>> =
        Arc::new((0..=total).map(|_| std::sync::atomic::AtomicBool::new(false)).collect());
    let resting: Arc<Mutex<VecDeque<u64>>> = Arc::new(Mutex::new(VecDeque::new()));
    let reader = {
        let (stream, planned, resting, rests) =
            (stream.try_clone()?, Arc::clone(&planned), Arc::clone(&resting), Arc::clone(&rests));
        std::thread::spawn(move || read_answers(stream, &planned, &rests, &resting, total, warmup, start))
    };
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (index + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let period_ns = 1e9 / rate;
    let mut next = 1u64;
    let mut sent = 0;
    while next <= total {
        let now_ns = start.elapsed().as_nanos() as f64;
        let due = ((now_ns / period_ns) as u64 + 1).min(total);
        if due < next {
            std::thread::yield_now();
            continue;
        }
        for seq in next..=due {
            let planned_ns = ((seq - 1) as f64 * period_ns) as u64;
            planned[seq as usize].store(planned_ns.max(1), Ordering::Release);
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let roll = rng % 100;
            let cancel = if roll >= 55 { resting.lock().ok().and_then(|mut r| r.pop_front()) } else { None };
            let message = match cancel {
                Some(order_id) => ClientMessage::Cancel { client_seq: seq, order_id },
                None => {
                    let buy = (rng >> 9) & 1 == 0;
                    let away = 1 + (rng >> 12) as i64 % 200;
                    let (price, tif) = match (roll < 40, buy) {
                        (true, true) => (options.mid_ticks - 500 - away, 1),
                        (true, false) => (options.mid_ticks + 500 + away, 1),
                        (false, true) => (options.mid_ticks + 5_000, 2),
                        (false, false) => (options.mid_ticks - 5_000, 2),
                    };
                    rests[seq as usize].store(tif == 1, Ordering::Release);
                    ClientMessage::NewOrder(WireOrder {
                        client_seq: seq,
                        instrument: options.instrument,
                        side: if buy { 1 } else { 2 },
                        order_type: 1,
                        time_in_force: tif,
                        flags: 0,
                        stp: 2,
                        price,
                        stop_price: 0,
                        quantity: 1,
                        expire_time: 0,
                        // Unique per order: working orders must not share a client order id.
                        client_order_id: ClientOrderId::new(&format!("lt{index}-{seq}")).expect("valid"),
                    })
                }
            };
            encode_client(&message, &mut out);
            sent += u64::from(seq > warmup);
        }
        if let Err(write_error) = stream.write_all(&out) {
            // The gateway closed us; the reader knows why (its Logout reason).
            let why = match reader.join() {
                Ok(Err(reader_error)) => reader_error.to_string(),
                _ => "no logout reason received".into(),
            };
            anyhow::bail!("connection {index}: {write_error}; {why}");
        }
        out.clear();
        next = due + 1;
    }
    let (histogram, tally, last) = reader.join().map_err(|_| anyhow::anyhow!("reader panicked"))??;
    Ok((histogram, tally, sent, last))
}

fn read_answers(
    mut stream: TcpStream,
    planned: &[AtomicU64],
    rests: &[std::sync::atomic::AtomicBool],
    resting: &Mutex<VecDeque<u64>>,
    total: u64,
    warmup: u64,
    start: Instant,
) -> ReaderResult {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let mut tally = Tally::default();
    let mut input = BytesMut::with_capacity(1 << 16);
    let mut chunk = vec![0u8; 1 << 16];
    let mut answered = 0u64;
    let mut last = start;
    while answered < total {
        let message = match decode_server(&mut input)? {
            Some(message) => message,
            None => {
                let n = stream.read(&mut chunk).context("reading answers")?;
                anyhow::ensure!(n > 0, "gateway closed the connection after {answered} answers");
                input.extend_from_slice(&chunk[..n]);
                continue;
            }
        };
        let (client_seq, outcome) = match message {
            ServerMessage::Ack { client_seq, order_id, leaves, .. } => {
                let rests = rests.get(client_seq as usize).is_some_and(|r| r.load(Ordering::Acquire));
                if rests
                    && leaves > 0
                    && let Ok(mut r) = resting.lock()
                {
                    r.push_back(order_id);
                }
                (client_seq, None)
            }
            ServerMessage::Reject { client_seq, reason, .. } => {
                (client_seq, Some(reject_from_code(reason).map_or("overloaded", |r| r.code()).to_owned()))
            }
            ServerMessage::Cancelled { client_seq, .. } if client_seq != 0 => (client_seq, None),
            ServerMessage::Logout { reason } => anyhow::bail!("gateway logged out: {reason:?}"),
            _ => continue,
        };
        answered += 1;
        let now = Instant::now();
        last = now;
        if client_seq <= warmup {
            continue;
        }
        let planned_ns = planned.get(client_seq as usize).map_or(0, |p| p.load(Ordering::Acquire));
        let latency = now.saturating_duration_since(start + Duration::from_nanos(planned_ns)).as_nanos() as u64;
        histogram.saturating_record(latency.max(1));
        tally.answered(outcome.as_deref());
    }
    Ok((histogram, tally, last))
}
