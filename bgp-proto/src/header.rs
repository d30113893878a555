//! The message header (RFC 4271 §4.1): marker, length, type; and framing.

use crate::error::{DecodeError, ErrorKind};

/// The 16-octet all-ones marker.
pub const MARKER: [u8; 16] = [0xff; 16];
/// Length of the header.
pub const HEADER_LEN: usize = 19;

/// Message types (RFC 4271 §4.1, RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1
    Open,
    /// 2
    Update,
    /// 3
    Notification,
    /// 4
    Keepalive,
    /// 5
    RouteRefresh,
}

impl MessageType {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
        }
    }

    /// From the wire value.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            _ => return None,
        })
    }

    /// The name in upper case as the RFCs write it.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Open => "OPEN",
            MessageType::Update => "UPDATE",
            MessageType::Notification => "NOTIFICATION",
            MessageType::Keepalive => "KEEPALIVE",
            MessageType::RouteRefresh => "ROUTE-REFRESH",
        }
    }

    /// RFC 4271 §4 and RFC 2918: the smallest valid length for this type.
    pub fn min_len(self) -> usize {
        match self {
            MessageType::Open => 29,
            MessageType::Update => 23,
            MessageType::Notification => 21,
            MessageType::Keepalive => 19,
            MessageType::RouteRefresh => 23,
        }
    }
}

/// A checked header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total message length, header included.
    pub length: usize,
    /// Message type.
    pub message_type: MessageType,
}

/// Checks the header at the start of `buf` (RFC 4271 §6.1): marker all ones (else 1/1),
/// length within 19..=`max_len` and the type's minimum, KEEPALIVE exactly 19 (else 1/2),
/// known type (else 1/3). OPEN is always limited to 4096 (RFC 8654 §3).
///
/// Returns `Ok(None)` while fewer than 19 octets are available.
pub fn parse_header(buf: &[u8], max_len: usize) -> Result<Option<Header>, DecodeError> {
    let Some(h) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    if h[..16] != MARKER {
        return Err(DecodeError::new(ErrorKind::BadMarker, 0));
    }
    let length = u16::from_be_bytes([h[16], h[17]]);
    let code = h[18];
    let Some(message_type) = MessageType::from_code(code) else {
        return Err(DecodeError::new(
            ErrorKind::BadMessageType { message_type: code },
            18,
        ));
    };
    let len = usize::from(length);
    let max = if message_type == MessageType::Open {
        max_len.min(4096)
    } else {
        max_len
    };
    if len < message_type.min_len()
        || len > max
        || (message_type == MessageType::Keepalive && len != HEADER_LEN)
    {
        // A broken NOTIFICATION gets its own kind: RFC 4271 §6.4 forbids answering it.
        let kind = if message_type == MessageType::Notification && len < message_type.min_len() {
            ErrorKind::BadNotification { length }
        } else {
            ErrorKind::BadMessageLength { length }
        };
        return Err(DecodeError::new(kind, 16));
    }
    Ok(Some(Header {
        length: len,
        message_type,
    }))
}

/// Length of the complete message at the start of `buf` once its header is readable, so a
/// reader knows how many octets to wait for. `Ok(None)`: fewer than 19 octets so far.
pub fn frame_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, DecodeError> {
    Ok(parse_header(buf, max_len)?.map(|h| h.length))
}
