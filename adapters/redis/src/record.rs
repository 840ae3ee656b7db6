//! The bytes kept under `idempotency:{accountId}:{key}`.
//!
//! ```text
//! version u8 (1) | state u8 ('F' in flight, 'C' completed) | body SHA-256 [32]
//! completed only: status u16 LE | content-type length u16 LE | content-type | body
//! ```
//!
//! Binary rather than JSON: the stored body is replayed byte for byte, and the record is
//! read on the request path. Anything that does not decode is treated as absent by the
//! caller (a foreign or older value never replays as a response).

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use oms_http::idempotency::{SharedClaim, StoredResponse};

const VERSION: u8 = 1;
const IN_FLIGHT: u8 = b'F';
const COMPLETED: u8 = b'C';
const HEADER_LEN: usize = 2 + 32;

/// Encodes a claim (`Claimed` is never stored; it encodes as in flight).
pub fn encode(claim: &SharedClaim) -> Vec<u8> {
    match claim {
        SharedClaim::Claimed => Vec::new(),
        SharedClaim::InFlight { body_digest } => {
            let mut out = Vec::with_capacity(HEADER_LEN);
            out.extend_from_slice(&[VERSION, IN_FLIGHT]);
            out.extend_from_slice(body_digest);
            out
        }
        SharedClaim::Completed { body_digest, response } => {
            let content_type = response.content_type().map_or(&[][..], HeaderValue::as_bytes);
            let content_type = &content_type[..content_type.len().min(usize::from(u16::MAX))];
            let mut out = Vec::with_capacity(HEADER_LEN + 4 + content_type.len() + response.body().len());
            out.extend_from_slice(&[VERSION, COMPLETED]);
            out.extend_from_slice(body_digest);
            out.extend_from_slice(&response.status().as_u16().to_le_bytes());
            out.extend_from_slice(&(content_type.len() as u16).to_le_bytes());
            out.extend_from_slice(content_type);
            out.extend_from_slice(response.body());
            out
        }
    }
}

/// Decodes a stored record; `None` for anything malformed.
pub fn decode(bytes: &[u8]) -> Option<SharedClaim> {
    let (&[version, state], rest) = bytes.split_first_chunk::<2>()?;
    if version != VERSION {
        return None;
    }
    let (digest, rest) = rest.split_first_chunk::<32>()?;
    match state {
        IN_FLIGHT if rest.is_empty() => Some(SharedClaim::InFlight { body_digest: *digest }),
        COMPLETED => {
            let (status, rest) = rest.split_first_chunk::<2>()?;
            let (length, rest) = rest.split_first_chunk::<2>()?;
            let length = usize::from(u16::from_le_bytes(*length));
            let content_type = rest.get(..length)?;
            let body = rest.get(length..)?;
            let status = StatusCode::from_u16(u16::from_le_bytes(*status)).ok()?;
            let content_type =
                if content_type.is_empty() { None } else { Some(HeaderValue::from_bytes(content_type).ok()?) };
            Some(SharedClaim::Completed {
                body_digest: *digest,
                response: StoredResponse::new(status, content_type, Bytes::copy_from_slice(body)),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_round_trips_byte_for_byte() {
        let response = StoredResponse::new(
            StatusCode::CREATED,
            Some(HeaderValue::from_static("application/json")),
            Bytes::from_static(br#"{"orderId":"7"}"#),
        );
        let claim = SharedClaim::Completed { body_digest: [7; 32], response };
        assert_eq!(decode(&encode(&claim)), Some(claim));
    }

    #[test]
    fn in_flight_round_trips() {
        let claim = SharedClaim::InFlight { body_digest: [1; 32] };
        assert_eq!(decode(&encode(&claim)), Some(claim));
    }

    #[test]
    fn malformed_records_decode_to_none() {
        let good = encode(&SharedClaim::Completed {
            body_digest: [2; 32],
            response: StoredResponse::new(StatusCode::OK, Some(HeaderValue::from_static("text/plain")), Bytes::new()),
        });
        for cut in 0..HEADER_LEN + 4 {
            assert_eq!(decode(&good[..cut]), None, "truncated at {cut}");
        }
        let mut wrong_version = good.clone();
        wrong_version[0] = 9;
        assert_eq!(decode(&wrong_version), None);
        let mut bad_status = good;
        bad_status[HEADER_LEN] = 0xFF;
        bad_status[HEADER_LEN + 1] = 0xFF;
        assert_eq!(decode(&bad_status), None);
        assert_eq!(decode(b"not a record at all, just some json"), None);
    }
}
