//! The gateway's event loop: one `mio` thread owns every session; a forwarder thread moves
//! the engine's durable event stream into it (channel + `mio::Waker`, one wake per burst).
//!
//! Requests are published straight into the ring with `try_submit` (never blocking: a
//! full ring is a `Reject` with code 0). Answers come from the event stream, so an `Ack`
//! is only sent once the command is durable. Each session has a bounded output buffer; a
//! client that does not read is disconnected instead of slowing anyone else down.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use crossbeam_channel::Receiver;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use oms_core::codec::tags;
use oms_core::model::*;
use oms_core::pipeline::{EngineHandle, SubmitError, SubscriptionError};
use rustc_hash::FxHashMap;

use crate::codec::{ClientMessage, LogoutReason, ServerMessage, WireOrder, decode_client, encode_server, reject_code};

/// Resolves an API key to its account.
pub type Authenticate = Arc<dyn Fn(&str) -> Option<AccountId> + Send + Sync>;

/// Gateway limits and timers.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Most sessions at once; more are told `Overloaded` and closed.
    pub connections_max: usize,
    /// Output buffered per session before it counts as a slow consumer.
    pub outbound_bytes_max: usize,
    /// A session silent this long is closed.
    pub idle_timeout: Duration,
    /// Heartbeat after this long without output.
    pub heartbeat_interval: Duration,
    /// Kernel send buffer per session (`SO_SNDBUF`); `None` leaves the kernel's autotuning,
    /// which on loopback can hold megabytes before a slow reader is noticed.
    pub socket_send_buffer_bytes: Option<usize>,
}

impl GatewayConfig {
    /// Defaults of `docs/binary-protocol.md` on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            connections_max: 1_024,
            outbound_bytes_max: 4 << 20,
            idle_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(1),
            socket_send_buffer_bytes: Some(256 * 1024),
        }
    }
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

/// Engine events buffered for the loop before it counts as lagging.
const EVENTS_BUFFERED_MAX: usize = 1 << 18;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_SESSION: usize = 2;

impl Gateway {
    /// Binds and starts the loop.
    pub fn start(config: GatewayConfig, handle: EngineHandle, authenticate: Authenticate) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(config.listen)?;
        let local_addr = listener.local_addr()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let (events_tx, events_rx) = crossbeam_channel::bounded(4_096);
        // Headroom for bursts while the loop is busy (≈ 40 MB preallocated); if it is still
        // exceeded, answers would be lost, so every session is logged out `Overloaded`.
        let subscription = handle.subscribe(EVENTS_BUFFERED_MAX);
        let (forward_waker, forward_stop) = (Arc::clone(&waker), Arc::clone(&stop));
        std::thread::Builder::new().name("oms-tcp-events".into()).spawn(move || {
            loop {
                let item = match subscription.recv_timeout(Duration::from_millis(100)) {
                    Ok((sequence, event)) => Incoming::Event(sequence, event),
                    Err(SubscriptionError::Timeout) if !forward_stop.load(Ordering::Acquire) => continue,
                    Err(SubscriptionError::Lagged) => Incoming::Lagged,
                    Err(_) => return,
                };
                let was_empty = events_tx.is_empty();
                if events_tx.send(item).is_err() {
                    return;
                }
                if was_empty {
                    let _ = forward_waker.wake();
                }
            }
        })?;
        let loop_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("oms-tcp".into()).spawn(move || {
            let mut state = Loop {
                poll,
                listener,
                sessions: FxHashMap::default(),
                next_token: FIRST_SESSION,
                by_account: FxHashMap::default(),
                pending: FxHashMap::default(),
                handle,
                authenticate,
                config,
                events: events_rx,
            };
            state.run(&loop_stop);
        })?;
        Ok(Self { local_addr, stop, waker, thread: Some(thread) })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Tells every session `ShuttingDown`, closes them and stops the loop.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown();
    }
}

enum Incoming {
    Event(Sequence, Event),
    Lagged,
}

struct Session {
    stream: TcpStream,
    input: BytesMut,
    output: BytesMut,
    account: Option<AccountId>,
    next_client_seq: u64,
    last_in: Instant,
    last_out: Instant,
    /// Close once the output is flushed.
    closing: bool,
}

struct Loop {
    poll: Poll,
    listener: TcpListener,
    sessions: FxHashMap<Token, Session>,
    next_token: usize,
    by_account: FxHashMap<AccountId, Vec<Token>>,
    /// Command sequence → (session, client_seq) awaiting its first event.
    pending: FxHashMap<u64, (Token, u64)>,
    handle: EngineHandle,
    authenticate: Authenticate,
    config: GatewayConfig,
    events: Receiver<Incoming>,
}

impl Loop {
    fn run(&mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(1_024);
        let mut last_timers = Instant::now();
        while !stop.load(Ordering::Acquire) {
            if self.poll.poll(&mut events, Some(Duration::from_millis(100))).is_err() {
                continue;
            }
            for event in &events {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    token => {
                        if event.is_readable() {
                            self.read(token);
                        }
                        if event.is_writable() {
                            self.flush(token);
                        }
                    }
                }
            }
            self.drain_engine_events();
            if last_timers.elapsed() >= Duration::from_millis(100) {
                last_timers = Instant::now();
                self.timers();
            }
        }
        let tokens: Vec<Token> = self.sessions.keys().copied().collect();
        for token in tokens {
            self.logout(token, LogoutReason::ShuttingDown);
            self.flush(token);
        }
    }

    fn accept(&mut self) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => return,
            };
            let _ = stream.set_nodelay(true);
            if let Some(bytes) = self.config.socket_send_buffer_bytes {
                let _ = socket2::SockRef::from(&stream).set_send_buffer_size(bytes);
            }
            let token = Token(self.next_token);
            self.next_token += 1;
            if self.poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE).is_err() {
                continue;
            }
            let now = Instant::now();
            let session = Session {
                stream,
                input: BytesMut::with_capacity(4_096),
                output: BytesMut::with_capacity(4_096),
                account: None,
                next_client_seq: 1,
                last_in: now,
                last_out: now,
                closing: false,
            };
            self.sessions.insert(token, session);
            if self.sessions.len() > self.config.connections_max {
                self.logout(token, LogoutReason::Overloaded);
                self.flush(token);
            }
        }
    }

    fn read(&mut self, token: Token) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let Some(session) = self.sessions.get_mut(&token) else { return };
            match session.stream.read(&mut chunk) {
                Ok(0) => return self.close(token),
                Ok(n) => {
                    session.input.extend_from_slice(&chunk[..n]);
                    session.last_in = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.close(token),
            }
        }
        loop {
            let Some(session) = self.sessions.get_mut(&token) else { return };
            if session.closing {
                return;
            }
            match decode_client(&mut session.input) {
                Ok(Some(message)) => self.handle_message(token, message),
                Ok(None) => break,
                Err(_) => {
                    self.logout(token, LogoutReason::MalformedFrame);
                    break;
                }
            }
        }
        self.flush(token);
    }

    fn handle_message(&mut self, token: Token, message: ClientMessage) {
        let Some(session) = self.sessions.get_mut(&token) else { return };
        let account = match (session.account, &message) {
            (None, ClientMessage::Login { api_key }) => {
                match (self.authenticate)(api_key) {
                    Some(account) => {
                        session.account = Some(account);
                        self.by_account.entry(account).or_default().push(token);
                        self.send(token, &ServerMessage::LoginAck { account: account.0 });
                    }
                    None => self.logout(token, LogoutReason::Unauthorized),
                }
                return;
            }
            (None, _) | (Some(_), ClientMessage::Login { .. }) => {
                return self.logout(token, LogoutReason::MalformedFrame);
            }
            (Some(account), _) => account,
        };
        let (client_seq, action) = match message {
            ClientMessage::Heartbeat | ClientMessage::Login { .. } => return,
            ClientMessage::Logout => return self.logout(token, LogoutReason::Requested),
            ClientMessage::NewOrder(order) => (order.client_seq, Action::NewOrder(new_order(account, &order))),
            ClientMessage::Cancel { client_seq, order_id } => {
                (client_seq, Action::CancelOrder(CancelOrder { account, order_id: OrderId(order_id) }))
            }
            ClientMessage::Amend { client_seq, order_id, price, quantity } => (
                client_seq,
                Action::AmendOrder(AmendOrder {
                    account,
                    order_id: OrderId(order_id),
                    price: (price != 0).then_some(Price(price)),
                    quantity: (quantity != 0).then_some(Quantity(quantity)),
                }),
            ),
        };
        if client_seq != session.next_client_seq {
            return self.logout(token, LogoutReason::SequenceGap);
        }
        session.next_client_seq += 1;
        match self.handle.try_submit(action) {
            Ok(ticket) => {
                self.pending.insert(ticket.sequence.0, (token, client_seq));
            }
            Err(SubmitError::Backpressure) => {
                self.send(token, &ServerMessage::Reject { client_seq, order_id: 0, reason: 0 })
            }
            Err(SubmitError::Closed | SubmitError::JournalFailed) => self.logout(token, LogoutReason::ShuttingDown),
        }
    }

    fn drain_engine_events(&mut self) {
        let mut touched = Vec::new();
        while let Ok(item) = self.events.try_recv() {
            match item {
                Incoming::Event(sequence, event) => self.route(sequence.0, &event, &mut touched),
                Incoming::Lagged => {
                    // Answers were lost: every session must reconnect rather than wait forever.
                    let tokens: Vec<Token> = self.sessions.keys().copied().collect();
                    for token in tokens {
                        self.logout(token, LogoutReason::Overloaded);
                        touched.push(token);
                    }
                    self.pending.clear();
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for token in touched {
            self.flush(token);
        }
    }

    /// Turns one durable engine event into messages for the sessions concerned.
    fn route(&mut self, sequence: u64, event: &Event, touched: &mut Vec<Token>) {
        let requester = self.pending.remove(&sequence);
        let mut to_requester = |this: &mut Self, message: ServerMessage| {
            if let Some((token, _)) = requester {
                this.send(token, &message);
                touched.push(token);
            }
        };
        let client_seq = requester.map_or(0, |(_, s)| s);
        match event {
            Event::Rejected(r) => {
                to_requester(
                    self,
                    ServerMessage::Reject {
                        client_seq,
                        order_id: r.order_id.map_or(0, |o| o.0),
                        reason: reject_code(r.reason),
                    },
                );
            }
            Event::OrderAccepted(o) => {
                to_requester(
                    self,
                    ServerMessage::Ack {
                        client_seq,
                        order_id: o.id.0,
                        status: tags::order_status_tag(o.status),
                        filled: o.filled.0,
                        leaves: o.leaves.0,
                    },
                );
            }
            Event::OrderAmended(a) => {
                let u = a.order;
                to_requester(
                    self,
                    ServerMessage::Ack {
                        client_seq,
                        order_id: u.order_id.0,
                        status: tags::order_status_tag(u.status),
                        filled: u.filled.0,
                        leaves: u.leaves.0,
                    },
                );
            }
            Event::Trade(t) => {
                for (fill, liquidity) in [(t.maker, 1u8), (t.taker, 2u8)] {
                    let message = ServerMessage::Fill {
                        order_id: fill.order_id.0,
                        trade_id: t.trade_id.0,
                        price: t.price.0,
                        quantity: t.quantity.0,
                        fee: fill.fee,
                        liquidity,
                        status: tags::order_status_tag(fill.status),
                        leaves: fill.leaves.0,
                    };
                    self.send_to_account(fill.account, &message, touched);
                }
            }
            Event::OrderCancelled(c) => {
                let reason = match c.reason {
                    CancelReason::Requested => 1,
                    CancelReason::MassCancel => 2,
                    CancelReason::KillSwitch => 3,
                    CancelReason::SelfTradePrevention => 4,
                    CancelReason::ImmediateOrCancel => 5,
                    CancelReason::FillOrKill => 6,
                };
                let order_id = c.order.order_id.0;
                let requested_by = requester.filter(|_| c.reason == CancelReason::Requested);
                // Borrow the session list out of the map instead of cloning it per message.
                let tokens = self.by_account.remove(&c.order.account).unwrap_or_default();
                for token in &tokens {
                    let seq = requested_by.filter(|(t, _)| t == token).map_or(0, |(_, s)| s);
                    self.send(
                        *token,
                        &ServerMessage::Cancelled { client_seq: seq, order_id, reason, cancelled: c.cancelled.0 },
                    );
                    touched.push(*token);
                }
                if !tokens.is_empty() {
                    self.by_account.entry(c.order.account).or_default().extend(tokens);
                }
            }
            Event::OrderExpired(u) => {
                let message =
                    ServerMessage::Cancelled { client_seq: 0, order_id: u.order_id.0, reason: 7, cancelled: 0 };
                self.send_to_account(u.account, &message, touched);
            }
            Event::OrderTriggered(_) | Event::BalanceChanged(_) | Event::AdminApplied(_) => {}
        }
    }

    fn send_to_account(&mut self, account: AccountId, message: &ServerMessage, touched: &mut Vec<Token>) {
        // Borrow the session list out of the map instead of cloning it per message.
        let Some(tokens) = self.by_account.remove(&account) else { return };
        for token in &tokens {
            self.send(*token, message);
            touched.push(*token);
        }
        self.by_account.entry(account).or_default().extend(tokens);
    }

    fn send(&mut self, token: Token, message: &ServerMessage) {
        let Some(session) = self.sessions.get_mut(&token) else { return };
        if session.closing {
            return;
        }
        encode_server(message, &mut session.output);
        if session.output.len() > self.config.outbound_bytes_max {
            // Try the socket first: a burst can pass the bound for a client that reads fine.
            self.flush(token);
            let Some(session) = self.sessions.get_mut(&token) else { return };
            if session.output.len() > self.config.outbound_bytes_max {
                // Slow consumer: drop it rather than buffer without bound or stall the loop.
                session.output.clear();
                self.close(token);
            }
        }
    }

    fn logout(&mut self, token: Token, reason: LogoutReason) {
        self.send(token, &ServerMessage::Logout { reason });
        if let Some(session) = self.sessions.get_mut(&token) {
            session.closing = true;
        }
    }

    fn flush(&mut self, token: Token) {
        let Some(session) = self.sessions.get_mut(&token) else { return };
        while !session.output.is_empty() {
            match session.stream.write(&session.output) {
                Ok(0) => return self.close(token),
                Ok(n) => {
                    let _ = session.output.split_to(n);
                    session.last_out = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.close(token),
            }
        }
        if session.closing {
            self.close(token);
        }
    }

    fn close(&mut self, token: Token) {
        if let Some(mut session) = self.sessions.remove(&token) {
            let _ = self.poll.registry().deregister(&mut session.stream);
            if let Some(account) = session.account
                && let Some(list) = self.by_account.get_mut(&account)
            {
                list.retain(|t| *t != token);
            }
            self.pending.retain(|_, (t, _)| *t != token);
        }
    }

    fn timers(&mut self) {
        let now = Instant::now();
        let tokens: Vec<Token> = self.sessions.keys().copied().collect();
        for token in tokens {
            let Some(session) = self.sessions.get(&token) else { continue };
            if now.duration_since(session.last_in) >= self.config.idle_timeout {
                self.logout(token, LogoutReason::IdleTimeout);
            } else if session.account.is_some()
                && now.duration_since(session.last_out) >= self.config.heartbeat_interval
            {
                self.send(token, &ServerMessage::Heartbeat);
            }
            self.flush(token);
        }
    }
}

/// The engine command of a decoded order. The codec only lets through tags these
/// conversions know (`decode_client` checks them with the same functions).
fn new_order(account: AccountId, o: &WireOrder) -> NewOrder {
    const VALIDATED: &str = "tag validated by the codec";
    NewOrder {
        account,
        client_order_id: o.client_order_id,
        instrument: InstrumentId(o.instrument),
        side: tags::side_from(o.side).expect(VALIDATED),
        order_type: tags::order_type_from(o.order_type).expect(VALIDATED),
        price: (o.price != 0).then_some(Price(o.price)),
        stop_price: (o.stop_price != 0).then_some(Price(o.stop_price)),
        quantity: Quantity(o.quantity),
        time_in_force: tags::tif_from(o.time_in_force).expect(VALIDATED),
        expire_time: (o.expire_time != 0).then_some(Timestamp(o.expire_time)),
        post_only: o.flags & 1 != 0,
        reduce_only: o.flags & 2 != 0,
        self_trade_prevention: tags::stp_from(o.stp).expect(VALIDATED),
    }
}
