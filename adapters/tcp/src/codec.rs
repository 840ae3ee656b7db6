//! Frames of `docs/binary-protocol.md`: encode into a `BytesMut`, decode from one without
//! ever panicking on hostile input. Decoding is two-step like mini-redis: a cheap length
//! check says whether a whole frame is buffered, then the frame is parsed strictly (exact
//! body length, known tags, zero reserved bits).

use bytes::{Buf, BufMut, BytesMut};
use oms_core::codec::tags;
use oms_core::model::{ClientOrderId, RejectReason};
use thiserror::Error;

/// Largest frame, counting the type byte and body (not the 2-byte length).
pub const FRAME_BYTES_MAX: usize = 512;
/// Longest API key.
pub const API_KEY_LEN_MAX: usize = 64;

/// Client → server messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientMessage {
    /// Authenticate the session.
    Login {
        /// API key.
        api_key: String,
    },
    /// Place an order.
    NewOrder(WireOrder),
    /// Cancel an order.
    Cancel {
        /// Request number.
        client_seq: u64,
        /// Order.
        order_id: u64,
    },
    /// Amend an order (0 = keep).
    Amend {
        /// Request number.
        client_seq: u64,
        /// Order.
        order_id: u64,
        /// New price in ticks, 0 = keep.
        price: i64,
        /// New total quantity in lots, 0 = keep.
        quantity: i64,
    },
    /// Keep-alive.
    Heartbeat,
    /// End the session.
    Logout,
}

/// A new order as it travels (integers, tags as on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireOrder {
    /// Request number.
    pub client_seq: u64,
    /// Instrument id.
    pub instrument: u32,
    /// 1 buy, 2 sell.
    pub side: u8,
    /// 1 limit, 2 market, 3 stop, 4 stop-limit.
    pub order_type: u8,
    /// 1 GTC, 2 IOC, 3 FOK, 4 GTD.
    pub time_in_force: u8,
    /// bit 0 post-only, bit 1 reduce-only.
    pub flags: u8,
    /// 1 none, 2 expire-maker, 3 expire-taker, 4 expire-both.
    pub stp: u8,
    /// Ticks, 0 = none.
    pub price: i64,
    /// Ticks, 0 = none.
    pub stop_price: i64,
    /// Lots.
    pub quantity: i64,
    /// Nanoseconds since the epoch, 0 = none.
    pub expire_time: u64,
    /// Caller's id.
    pub client_order_id: ClientOrderId,
}

/// Why the server ends a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum LogoutReason {
    /// The client asked.
    Requested = 1,
    /// Bad key.
    Unauthorized = 2,
    /// A frame broke the protocol.
    MalformedFrame = 3,
    /// `client_seq` did not increase by one.
    SequenceGap = 4,
    /// Nothing received for too long.
    IdleTimeout = 5,
    /// The client did not read its output fast enough.
    SlowConsumer = 6,
    /// The server could not take the session.
    Overloaded = 7,
    /// The server is stopping.
    ShuttingDown = 8,
}

/// Server → client messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerMessage {
    /// Session accepted.
    LoginAck {
        /// Account of the key.
        account: u32,
    },
    /// Order accepted or amended.
    Ack {
        /// Request answered.
        client_seq: u64,
        /// Order.
        order_id: u64,
        /// Status tag.
        status: u8,
        /// Filled lots.
        filled: i64,
        /// Working lots.
        leaves: i64,
    },
    /// Request refused.
    Reject {
        /// Request answered.
        client_seq: u64,
        /// Order (0 if none).
        order_id: u64,
        /// Reject code (0 = overloaded).
        reason: u16,
    },
    /// An own order traded.
    Fill {
        /// Order.
        order_id: u64,
        /// Trade.
        trade_id: u64,
        /// Ticks.
        price: i64,
        /// Lots.
        quantity: i64,
        /// Fee, minor units of the asset received.
        fee: i64,
        /// 1 maker, 2 taker.
        liquidity: u8,
        /// Status tag after the fill.
        status: u8,
        /// Working lots after the fill.
        leaves: i64,
    },
    /// An own order stopped working.
    Cancelled {
        /// Request answered (0 if not requested by this session).
        client_seq: u64,
        /// Order.
        order_id: u64,
        /// Cancel reason tag.
        reason: u8,
        /// Lots that stopped working.
        cancelled: i64,
    },
    /// Keep-alive.
    Heartbeat,
    /// Session over.
    Logout {
        /// Why.
        reason: LogoutReason,
    },
}

/// A frame that breaks the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum FrameError {
    /// Length 0 or above [`FRAME_BYTES_MAX`].
    #[error("frame length {0} out of range")]
    Length(usize),
    /// Unknown message type.
    #[error("unknown message type {0:#04x}")]
    UnknownType(u8),
    /// Body length wrong for its type, or a field out of its domain.
    #[error("malformed {0} body")]
    Body(&'static str),
}

/// Takes one complete client frame off the front of `buffer`, if one is there.
pub fn decode_client(buffer: &mut BytesMut) -> Result<Option<ClientMessage>, FrameError> {
    let Some(mut frame) = take_frame(buffer)? else { return Ok(None) };
    let kind = frame.get_u8();
    let message = match kind {
        0x01 => {
            let what = "login";
            let len = usize::from(need(&frame, 1, what)?.get_u8());
            if len == 0 || len > API_KEY_LEN_MAX || frame.len() != 1 + len {
                return Err(FrameError::Body(what));
            }
            frame.advance(1);
            let key = std::str::from_utf8(&frame).map_err(|_| FrameError::Body(what))?;
            ClientMessage::Login { api_key: key.to_owned() }
        }
        0x02 => ClientMessage::NewOrder(decode_order(&mut frame)?),
        0x03 => {
            exact(&frame, 16, "cancel")?;
            ClientMessage::Cancel { client_seq: frame.get_u64_le(), order_id: frame.get_u64_le() }
        }
        0x04 => {
            exact(&frame, 32, "amend")?;
            ClientMessage::Amend {
                client_seq: frame.get_u64_le(),
                order_id: frame.get_u64_le(),
                price: frame.get_i64_le(),
                quantity: frame.get_i64_le(),
            }
        }
        0x05 => {
            exact(&frame, 0, "heartbeat")?;
            ClientMessage::Heartbeat
        }
        0x06 => {
            exact(&frame, 0, "logout")?;
            ClientMessage::Logout
        }
        other => return Err(FrameError::UnknownType(other)),
    };
    Ok(Some(message))
}

/// Fixed part of a new-order body before the client order id.
const ORDER_FIXED_BYTES: usize = 8 + 4 + 5 + 8 * 3 + 8 + 1;

fn decode_order(frame: &mut BytesMut) -> Result<WireOrder, FrameError> {
    let what = "new order";
    if frame.len() < ORDER_FIXED_BYTES {
        return Err(FrameError::Body(what));
    }
    let client_seq = frame.get_u64_le();
    let instrument = frame.get_u32_le();
    let (side, order_type, time_in_force, flags, stp) =
        (frame.get_u8(), frame.get_u8(), frame.get_u8(), frame.get_u8(), frame.get_u8());
    let (price, stop_price, quantity) = (frame.get_i64_le(), frame.get_i64_le(), frame.get_i64_le());
    let expire_time = frame.get_u64_le();
    let cid_len = usize::from(frame.get_u8());
    let valid_tags = tags::side_from(side).is_some()
        && tags::order_type_from(order_type).is_some()
        && tags::tif_from(time_in_force).is_some()
        && flags & !0b11 == 0
        && tags::stp_from(stp).is_some();
    if !valid_tags || frame.len() != cid_len {
        return Err(FrameError::Body(what));
    }
    let cid = std::str::from_utf8(frame).map_err(|_| FrameError::Body(what))?;
    let client_order_id = ClientOrderId::new(cid).map_err(|_| FrameError::Body(what))?;
    Ok(WireOrder {
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
        client_order_id,
    })
}

/// Splits the next whole frame (type + body) off `buffer`.
fn take_frame(buffer: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
    if buffer.len() < 2 {
        return Ok(None);
    }
    let length = usize::from(u16::from_le_bytes([buffer[0], buffer[1]]));
    if length == 0 || length > FRAME_BYTES_MAX {
        return Err(FrameError::Length(length));
    }
    if buffer.len() < 2 + length {
        return Ok(None);
    }
    buffer.advance(2);
    Ok(Some(buffer.split_to(length)))
}

fn exact(frame: &BytesMut, bytes: usize, what: &'static str) -> Result<(), FrameError> {
    if frame.len() == bytes { Ok(()) } else { Err(FrameError::Body(what)) }
}

fn need<'a>(frame: &'a BytesMut, bytes: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
    if frame.len() >= bytes { Ok(&frame[..]) } else { Err(FrameError::Body(what)) }
}

/// Appends a frame: length, type, body written by `body`.
fn frame(out: &mut BytesMut, kind: u8, body: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    out.put_u16_le(0);
    out.put_u8(kind);
    body(out);
    let length = out.len() - start - 2;
    debug_assert!(length <= FRAME_BYTES_MAX);
    out[start..start + 2].copy_from_slice(&(length as u16).to_le_bytes());
}

/// Appends a client message (clients, tests and loadgen).
pub fn encode_client(message: &ClientMessage, out: &mut BytesMut) {
    match message {
        ClientMessage::Login { api_key } => frame(out, 0x01, |b| {
            b.put_u8(api_key.len() as u8);
            b.put_slice(api_key.as_bytes());
        }),
        ClientMessage::NewOrder(o) => frame(out, 0x02, |b| {
            b.put_u64_le(o.client_seq);
            b.put_u32_le(o.instrument);
            b.put_slice(&[o.side, o.order_type, o.time_in_force, o.flags, o.stp]);
            b.put_i64_le(o.price);
            b.put_i64_le(o.stop_price);
            b.put_i64_le(o.quantity);
            b.put_u64_le(o.expire_time);
            b.put_u8(o.client_order_id.as_bytes().len() as u8);
            b.put_slice(o.client_order_id.as_bytes());
        }),
        ClientMessage::Cancel { client_seq, order_id } => frame(out, 0x03, |b| {
            b.put_u64_le(*client_seq);
            b.put_u64_le(*order_id);
        }),
        ClientMessage::Amend { client_seq, order_id, price, quantity } => frame(out, 0x04, |b| {
            b.put_u64_le(*client_seq);
            b.put_u64_le(*order_id);
            b.put_i64_le(*price);
            b.put_i64_le(*quantity);
        }),
        ClientMessage::Heartbeat => frame(out, 0x05, |_| {}),
        ClientMessage::Logout => frame(out, 0x06, |_| {}),
    }
}

/// Appends a server message.
pub fn encode_server(message: &ServerMessage, out: &mut BytesMut) {
    match *message {
        ServerMessage::LoginAck { account } => frame(out, 0x81, |b| b.put_u32_le(account)),
        ServerMessage::Ack { client_seq, order_id, status, filled, leaves } => frame(out, 0x82, |b| {
            b.put_u64_le(client_seq);
            b.put_u64_le(order_id);
            b.put_u8(status);
            b.put_i64_le(filled);
            b.put_i64_le(leaves);
        }),
        ServerMessage::Reject { client_seq, order_id, reason } => frame(out, 0x83, |b| {
            b.put_u64_le(client_seq);
            b.put_u64_le(order_id);
            b.put_u16_le(reason);
        }),
        ServerMessage::Fill { order_id, trade_id, price, quantity, fee, liquidity, status, leaves } => {
            frame(out, 0x84, |b| {
                b.put_u64_le(order_id);
                b.put_u64_le(trade_id);
                b.put_i64_le(price);
                b.put_i64_le(quantity);
                b.put_i64_le(fee);
                b.put_u8(liquidity);
                b.put_u8(status);
                b.put_i64_le(leaves);
            })
        }
        ServerMessage::Cancelled { client_seq, order_id, reason, cancelled } => frame(out, 0x85, |b| {
            b.put_u64_le(client_seq);
            b.put_u64_le(order_id);
            b.put_u8(reason);
            b.put_i64_le(cancelled);
        }),
        ServerMessage::Heartbeat => frame(out, 0x86, |_| {}),
        ServerMessage::Logout { reason } => frame(out, 0x87, |b| b.put_u8(reason as u8)),
    }
}

/// Takes one complete server frame off `buffer` (clients, tests and loadgen).
pub fn decode_server(buffer: &mut BytesMut) -> Result<Option<ServerMessage>, FrameError> {
    let Some(mut f) = take_frame(buffer)? else { return Ok(None) };
    let kind = f.get_u8();
    let message = match kind {
        0x81 => {
            exact(&f, 4, "login ack")?;
            ServerMessage::LoginAck { account: f.get_u32_le() }
        }
        0x82 => {
            exact(&f, 33, "ack")?;
            ServerMessage::Ack {
                client_seq: f.get_u64_le(),
                order_id: f.get_u64_le(),
                status: f.get_u8(),
                filled: f.get_i64_le(),
                leaves: f.get_i64_le(),
            }
        }
        0x83 => {
            exact(&f, 18, "reject")?;
            ServerMessage::Reject { client_seq: f.get_u64_le(), order_id: f.get_u64_le(), reason: f.get_u16_le() }
        }
        0x84 => {
            exact(&f, 50, "fill")?;
            ServerMessage::Fill {
                order_id: f.get_u64_le(),
                trade_id: f.get_u64_le(),
                price: f.get_i64_le(),
                quantity: f.get_i64_le(),
                fee: f.get_i64_le(),
                liquidity: f.get_u8(),
                status: f.get_u8(),
                leaves: f.get_i64_le(),
            }
        }
        0x85 => {
            exact(&f, 25, "cancelled")?;
            ServerMessage::Cancelled {
                client_seq: f.get_u64_le(),
                order_id: f.get_u64_le(),
                reason: f.get_u8(),
                cancelled: f.get_i64_le(),
            }
        }
        0x86 => {
            exact(&f, 0, "heartbeat")?;
            ServerMessage::Heartbeat
        }
        0x87 => {
            exact(&f, 1, "logout")?;
            let reason = match f.get_u8() {
                1 => LogoutReason::Requested,
                2 => LogoutReason::Unauthorized,
                3 => LogoutReason::MalformedFrame,
                4 => LogoutReason::SequenceGap,
                5 => LogoutReason::IdleTimeout,
                6 => LogoutReason::SlowConsumer,
                7 => LogoutReason::Overloaded,
                8 => LogoutReason::ShuttingDown,
                _ => return Err(FrameError::Body("logout")),
            };
            ServerMessage::Logout { reason }
        }
        other => return Err(FrameError::UnknownType(other)),
    };
    Ok(Some(message))
}

/// Wire code of a reject reason (position in [`RejectReason::ALL`] + 1; 0 = overloaded).
pub fn reject_code(reason: RejectReason) -> u16 {
    RejectReason::ALL.iter().position(|r| *r == reason).map_or(0, |i| i as u16 + 1)
}

/// Reject reason of a wire code (`None` for 0 = overloaded or unknown codes).
pub fn reject_from_code(code: u16) -> Option<RejectReason> {
    RejectReason::ALL.get(usize::from(code).checked_sub(1)?).copied()
}
