//! NOTIFICATION (RFC 4271 §4.5, §6) with every IANA code and subcode named, and the
//! RFC 9003 shutdown communication carried by Cease 2 and 4.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// Error codes (IANA "BGP Error (Notification) Codes").
pub mod code {
    #![allow(missing_docs)]
    pub const MESSAGE_HEADER_ERROR: u8 = 1;
    pub const OPEN_MESSAGE_ERROR: u8 = 2;
    pub const UPDATE_MESSAGE_ERROR: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM_ERROR: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH_MESSAGE_ERROR: u8 = 7;
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Message Header Error subcodes (RFC 4271 §6.1).
pub mod header_subcode {
    #![allow(missing_docs)]
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492, RFC 9234).
pub mod open_subcode {
    #![allow(missing_docs)]
    pub const UNSUPPORTED_VERSION_NUMBER: u8 = 1;
    pub const BAD_PEER_AS: u8 = 2;
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    pub const ROLE_MISMATCH: u8 = 11;
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
pub mod update_subcode {
    #![allow(missing_docs)]
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Cease subcodes (RFC 4486, RFC 8203/9003, RFC 9494).
pub mod cease_subcode {
    #![allow(missing_docs)]
    pub const MAXIMUM_PREFIXES_REACHED: u8 = 1;
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    pub const PEER_DECONFIGURED: u8 = 3;
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    pub const CONNECTION_REJECTED: u8 = 5;
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    pub const OUT_OF_RESOURCES: u8 = 8;
    pub const HARD_RESET: u8 = 9;
    pub const BFD_DOWN: u8 = 10;
}

/// The name of an error code.
pub fn code_name(code: u8) -> &'static str {
    match code {
        1 => "Message Header Error",
        2 => "OPEN Message Error",
        3 => "UPDATE Message Error",
        4 => "Hold Timer Expired",
        5 => "Finite State Machine Error",
        6 => "Cease",
        7 => "ROUTE-REFRESH Message Error",
        8 => "Send Hold Timer Expired",
        _ => "Unknown Error Code",
    }
}

/// The name of a subcode of `code`.
pub fn subcode_name(code: u8, subcode: u8) -> &'static str {
    match (code, subcode) {
        (1..=3 | 6 | 7, 0) => "Unspecific",
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 5) => "Authentication Failure (deprecated)",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (2, 8) => "Deprecated",
        (2, 9) => "Deprecated",
        (2, 10) => "Deprecated",
        (2, 11) => "Role Mismatch",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 7) => "AS Routing Loop (deprecated)",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 0) => "Unspecified Error",
        (5, 1) => "Receive Unexpected Message in OpenSent State",
        (5, 2) => "Receive Unexpected Message in OpenConfirm State",
        (5, 3) => "Receive Unexpected Message in Established State",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (7, 1) => "Invalid Message Length",
        (4 | 8, 0) => "",
        _ => "Unknown Subcode",
    }
}

/// Why a shutdown communication could not be read (RFC 9003 §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownMessageError {
    /// The length octet says more than the data holds.
    #[error("shutdown communication length {length} exceeds the {available} octets present")]
    BadLength {
        /// Length octet.
        length: u8,
        /// Octets after it.
        available: usize,
    },
    /// Not valid UTF-8; the lossy text is kept.
    #[error("shutdown communication is not valid UTF-8: {lossy:?}")]
    InvalidUtf8 {
        /// The text with invalid sequences replaced.
        lossy: String,
    },
}

/// A NOTIFICATION message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: Bytes,
}

impl Notification {
    /// A NOTIFICATION without data.
    pub fn new(code: u8, subcode: u8) -> Self {
        Notification {
            code,
            subcode,
            data: Bytes::new(),
        }
    }

    /// RFC 9003: Cease with a shutdown communication (`subcode` 2 or 4). The message is cut
    /// at a character boundary to at most 255 octets.
    pub fn cease_with_message(subcode: u8, message: &str) -> Self {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let text = message.get(..end).unwrap_or("");
        let mut data = BytesMut::with_capacity(1 + text.len());
        data.put_u8(text.len() as u8);
        data.put_slice(text.as_bytes());
        Notification {
            code: code::CEASE,
            subcode,
            data: data.freeze(),
        }
    }

    /// The RFC 9003 shutdown communication of a Cease 2 or 4, if there is one.
    pub fn shutdown_message(&self) -> Option<Result<String, ShutdownMessageError>> {
        if self.code != code::CEASE
            || !matches!(
                self.subcode,
                cease_subcode::ADMINISTRATIVE_SHUTDOWN | cease_subcode::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        if len == 0 {
            return None;
        }
        let Some(text) = rest.get(..usize::from(len)) else {
            return Some(Err(ShutdownMessageError::BadLength {
                length: len,
                available: rest.len(),
            }));
        };
        Some(match std::str::from_utf8(text) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => Err(ShutdownMessageError::InvalidUtf8 {
                lossy: String::from_utf8_lossy(text).into_owned(),
            }),
        })
    }

    /// Octets of the body.
    pub fn body_len(&self) -> usize {
        2 + self.data.len()
    }

    /// Writes the body.
    pub fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u8(self.code);
        buf.put_u8(self.subcode);
        buf.put_slice(&self.data);
    }

    /// Parses a body (the header check guarantees at least two octets; fewer decode as 0/0).
    /// Never fails: any octets are a NOTIFICATION to show.
    pub fn parse(body: &[u8]) -> Notification {
        match body {
            [code, subcode, data @ ..] => Notification {
                code: *code,
                subcode: *subcode,
                data: Bytes::copy_from_slice(data),
            },
            _ => Notification::new(0, 0),
        }
    }
}

impl fmt::Display for Notification {
    /// `6/2 (Cease / Administrative Shutdown) "maintenance"`, with data in hex when it is not a
    /// shutdown communication. Peer text is sanitised.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sub = subcode_name(self.code, self.subcode);
        write!(
            f,
            "{}/{} ({}",
            self.code,
            self.subcode,
            code_name(self.code)
        )?;
        if !sub.is_empty() {
            write!(f, " / {sub}")?;
        }
        f.write_str(")")?;
        match self.shutdown_message() {
            Some(Ok(m)) => write!(
                f,
                " message {:?}",
                crate::capability::sanitize(m.as_bytes())
            ),
            Some(Err(e)) => write!(f, " ({e})"),
            None if !self.data.is_empty() => {
                f.write_str(" data ")?;
                for b in self.data.iter().take(64) {
                    write!(f, "{b:02x}")?;
                }
                if self.data.len() > 64 {
                    write!(f, "… ({} octets)", self.data.len())?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication() {
        let n = Notification::cease_with_message(2, "maintenance window");
        assert_eq!(
            n.shutdown_message(),
            Some(Ok("maintenance window".to_string()))
        );
        assert_eq!(
            n.to_string(),
            "6/2 (Cease / Administrative Shutdown) message \"maintenance window\""
        );
        let long = "é".repeat(200);
        let n = Notification::cease_with_message(4, &long);
        assert_eq!(n.data.len(), 1 + 254);
        let bad = Notification {
            code: 6,
            subcode: 2,
            data: Bytes::from_static(&[10, b'a']),
        };
        assert!(matches!(
            bad.shutdown_message(),
            Some(Err(ShutdownMessageError::BadLength { .. }))
        ));
        let utf = Notification {
            code: 6,
            subcode: 2,
            data: Bytes::from_static(&[2, 0xff, 0xfe]),
        };
        assert!(matches!(
            utf.shutdown_message(),
            Some(Err(ShutdownMessageError::InvalidUtf8 { .. }))
        ));
        assert_eq!(
            Notification::new(3, 10).to_string(),
            "3/10 (UPDATE Message Error / Invalid Network Field)"
        );
    }
}
