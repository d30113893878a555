//! Decode and encode errors, RFC 7606 outcomes, and the one conversion from a decode error to
//! the NOTIFICATION a speaker sends (RFC 4271 §6, RFC 7606 §3, RFC 7313 §5).
//!
//! Every decode error carries the byte offset where it was found (counted from the first byte
//! of the message, marker included) and the offending value.

use crate::notification::Notification;
use bytes::Bytes;
use std::fmt;

/// What went wrong while decoding. Each variant carries the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended before the named field was complete.
    Truncated {
        /// The field that could not be read.
        what: &'static str,
    },
    /// RFC 4271 §6.1: the 16-octet marker is not all ones.
    BadMarker,
    /// RFC 4271 §6.1: the header length is out of range for the message (or its type).
    BadMessageLength {
        /// The length field as received.
        length: u16,
    },
    /// RFC 4271 §6.1: unknown message type.
    BadMessageType {
        /// The type octet as received.
        message_type: u8,
    },
    /// RFC 4271 §6.2: version other than 4.
    UnsupportedVersion {
        /// The version as received.
        version: u8,
    },
    /// RFC 4271 §6.2: hold time 1 or 2.
    UnacceptableHoldTime {
        /// The hold time as received.
        hold_time: u16,
    },
    /// RFC 4271 §6.2: BGP identifier 0 (or equal to ours on iBGP, checked by the session).
    BadBgpIdentifier {
        /// The identifier as received.
        identifier: std::net::Ipv4Addr,
    },
    /// RFC 4271 §6.2 / RFC 6793 §9: AS 0 in the OPEN (or a mismatch, checked by the session).
    BadPeerAs {
        /// The AS as received.
        asn: u32,
    },
    /// RFC 4271 §6.2: optional parameters that do not add up.
    MalformedOptionalParameters {
        /// What does not add up.
        reason: &'static str,
    },
    /// RFC 4271 §6.2: an optional parameter type other than capabilities (2).
    UnsupportedOptionalParameter {
        /// The parameter type as received.
        parameter_type: u8,
    },
    /// RFC 5492 §3: a capability whose length does not fit its code.
    BadCapabilityLength {
        /// Capability code.
        code: u8,
        /// Length as received.
        length: u8,
    },
    /// RFC 4271 §6.3: withdrawn-routes or total-path-attribute length overruns the message.
    MalformedAttributeList {
        /// What overran.
        reason: &'static str,
    },
    /// RFC 4271 §6.3: an NLRI prefix length too long for its family, or overrunning.
    InvalidNetworkField {
        /// The prefix length octet as received.
        prefix_length: u8,
    },
    /// RFC 7911 §3 with RFC 4271 §6.3: an ADD-PATH path identifier cut short by the end of
    /// its NLRI field (the field is syntactically incorrect: 3/10, as for a prefix that
    /// overruns it).
    TruncatedPathIdentifier,
    /// RFC 4271 §6.3: a well-known attribute type this speaker does not know.
    UnrecognizedWellKnownAttribute {
        /// The attribute type code.
        type_code: u8,
    },
    /// RFC 7606 §3(g): MP_REACH_NLRI or MP_UNREACH_NLRI appears twice.
    DuplicateMultiprotocolAttribute {
        /// The attribute type code (14 or 15).
        type_code: u8,
    },
    /// RFC 4760 / RFC 7606 §5.3: MP_REACH_NLRI or MP_UNREACH_NLRI cannot be parsed, so the
    /// NLRI cannot be found.
    MalformedMultiprotocolAttribute {
        /// The attribute type code (14 or 15).
        type_code: u8,
        /// What is wrong.
        reason: &'static str,
    },
    /// RFC 7606 §3(g): an attribute other than MP_REACH/MP_UNREACH appears twice; all but the
    /// first are discarded.
    DuplicateAttribute {
        /// The attribute type code.
        type_code: u8,
    },
    /// RFC 7606 §3(c): attribute flags that conflict with the attribute type.
    AttributeFlags {
        /// The attribute type code.
        type_code: u8,
        /// The flags octet as received.
        flags: u8,
    },
    /// RFC 7606 §7: attribute length wrong for the type.
    AttributeLength {
        /// The attribute type code.
        type_code: u8,
        /// The length as received.
        length: usize,
    },
    /// RFC 7606 §4: an attribute whose length overruns the attribute block.
    AttributeOverrun {
        /// The attribute type code.
        type_code: u8,
        /// The length as received.
        length: usize,
    },
    /// RFC 7606 §7.1: ORIGIN value other than 0, 1, 2.
    InvalidOrigin {
        /// The value as received.
        value: u8,
    },
    /// RFC 9012 §13, RFC 8669 §6: TUNNEL_ENCAPSULATION or BGP Prefix-SID whose TLVs do not
    /// fit the attribute: discarded, never passed on.
    MalformedTlvs {
        /// The attribute type code (23 or 40).
        type_code: u8,
        /// What is wrong.
        reason: &'static str,
    },
    /// RFC 7606 §7.2: malformed AS_PATH or AS4_PATH.
    MalformedAsPath {
        /// The attribute type code (2 or 17).
        type_code: u8,
        /// What is wrong.
        reason: &'static str,
    },
    /// RFC 7607: AS number 0 in AS_PATH, AS4_PATH, AGGREGATOR or AS4_AGGREGATOR.
    AsZero {
        /// The attribute type code.
        type_code: u8,
    },
    /// RFC 4271 §6.3: the first AS of an eBGP peer's AS_PATH is not the peer's AS.
    FirstAsMismatch {
        /// The first AS of the path.
        first: u32,
        /// The AS the peer is configured with.
        expected: u32,
    },
    /// RFC 7606 §3(d): a mandatory well-known attribute is missing while NLRI are present.
    MissingWellKnownAttribute {
        /// The missing attribute type code.
        type_code: u8,
    },
    /// RFC 7606 §3(c): LOCAL_PREF received from an eBGP peer.
    LocalPrefFromEbgp,
    /// RFC 4456 §8: ORIGINATOR_ID or CLUSTER_LIST (route reflection, inside one AS) received
    /// from an eBGP peer.
    ReflectionAttributeFromEbgp {
        /// 9 (ORIGINATOR_ID) or 10 (CLUSTER_LIST).
        type_code: u8,
    },
    /// RFC 4271 §4.5: NOTIFICATION shorter than 21 octets.
    BadNotification {
        /// The length field as received.
        length: u16,
    },
    /// RFC 7313 §5: ROUTE-REFRESH with a bad length.
    BadRouteRefreshLength {
        /// The length field as received.
        length: u16,
    },
    /// RFC 6396: an MRT record that cannot be read.
    Mrt {
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            Truncated { what } => write!(f, "truncated {what}"),
            BadMarker => write!(f, "marker is not all ones"),
            BadMessageLength { length } => write!(f, "bad message length {length}"),
            BadMessageType { message_type } => write!(f, "unknown message type {message_type}"),
            UnsupportedVersion { version } => {
                write!(f, "unsupported version {version} (only 4 is supported)")
            }
            UnacceptableHoldTime { hold_time } => {
                write!(
                    f,
                    "unacceptable hold time {hold_time} (must be 0 or >= 3 seconds)"
                )
            }
            BadBgpIdentifier { identifier } => write!(f, "bad BGP identifier {identifier}"),
            BadPeerAs { asn } => write!(f, "bad peer AS {asn}"),
            MalformedOptionalParameters { reason } => {
                write!(f, "malformed optional parameters: {reason}")
            }
            UnsupportedOptionalParameter { parameter_type } => {
                write!(f, "unsupported optional parameter type {parameter_type}")
            }
            BadCapabilityLength { code, length } => {
                write!(f, "capability {code} has bad length {length}")
            }
            MalformedAttributeList { reason } => write!(f, "malformed attribute list: {reason}"),
            InvalidNetworkField { prefix_length } => {
                write!(f, "invalid NLRI prefix length {prefix_length}")
            }
            TruncatedPathIdentifier => write!(f, "ADD-PATH path identifier cut short"),
            UnrecognizedWellKnownAttribute { type_code } => {
                write!(f, "unrecognized well-known attribute type {type_code}")
            }
            DuplicateMultiprotocolAttribute { type_code } => {
                write!(
                    f,
                    "attribute {type_code} ({}) appears twice",
                    attr_name(*type_code)
                )
            }
            MalformedMultiprotocolAttribute { type_code, reason } => {
                write!(
                    f,
                    "malformed {} (type {type_code}): {reason}",
                    attr_name(*type_code)
                )
            }
            DuplicateAttribute { type_code } => write!(
                f,
                "attribute {} (type {type_code}) repeated; the first is kept",
                attr_name(*type_code)
            ),
            AttributeFlags { type_code, flags } => write!(
                f,
                "attribute {} (type {type_code}) has conflicting flags 0x{flags:02x}",
                attr_name(*type_code)
            ),
            AttributeLength { type_code, length } => write!(
                f,
                "attribute {} (type {type_code}) has bad length {length}",
                attr_name(*type_code)
            ),
            AttributeOverrun { type_code, length } => write!(
                f,
                "attribute {} (type {type_code}) length {length} overruns the attribute block",
                attr_name(*type_code)
            ),
            MalformedTlvs { type_code, reason } => write!(
                f,
                "malformed {} (type {type_code}): {reason}",
                attr_name(*type_code)
            ),
            InvalidOrigin { value } => write!(f, "invalid ORIGIN value {value}"),
            MalformedAsPath { type_code, reason } => {
                write!(f, "malformed {}: {reason}", attr_name(*type_code))
            }
            AsZero { type_code } => write!(f, "AS 0 in {}", attr_name(*type_code)),
            FirstAsMismatch { first, expected } => {
                write!(f, "first AS in AS_PATH is {first}, peer AS is {expected}")
            }
            MissingWellKnownAttribute { type_code } => write!(
                f,
                "missing well-known attribute {} (type {type_code})",
                attr_name(*type_code)
            ),
            LocalPrefFromEbgp => write!(f, "LOCAL_PREF received from an eBGP peer"),
            ReflectionAttributeFromEbgp { type_code } => write!(
                f,
                "{} received from an eBGP peer (route reflection attribute, RFC 4456 §8)",
                if *type_code == crate::attribute::type_code::ORIGINATOR_ID {
                    "ORIGINATOR_ID"
                } else {
                    "CLUSTER_LIST"
                }
            ),
            BadNotification { length } => {
                write!(
                    f,
                    "NOTIFICATION of length {length} (shorter than 21 octets)"
                )
            }
            BadRouteRefreshLength { length } => write!(f, "bad ROUTE-REFRESH length {length}"),
            Mrt { reason } => write!(f, "MRT: {reason}"),
        }
    }
}

/// The name of a path attribute type code, as IANA registers it.
pub fn attr_name(type_code: u8) -> &'static str {
    match type_code {
        1 => "ORIGIN",
        2 => "AS_PATH",
        3 => "NEXT_HOP",
        4 => "MULTI_EXIT_DISC",
        5 => "LOCAL_PREF",
        6 => "ATOMIC_AGGREGATE",
        7 => "AGGREGATOR",
        8 => "COMMUNITIES",
        9 => "ORIGINATOR_ID",
        10 => "CLUSTER_LIST",
        14 => "MP_REACH_NLRI",
        15 => "MP_UNREACH_NLRI",
        16 => "EXTENDED_COMMUNITIES",
        17 => "AS4_PATH",
        18 => "AS4_AGGREGATOR",
        22 => "PMSI_TUNNEL",
        23 => "TUNNEL_ENCAPSULATION",
        26 => "AIGP",
        29 => "BGP-LS",
        32 => "LARGE_COMMUNITY",
        35 => "ONLY_TO_CUSTOMER",
        40 => "PREFIX_SID",
        128 => "ATTR_SET",
        _ => "UNKNOWN",
    }
}

/// A decode error: what, and at which byte offset of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte offset {offset}")]
pub struct DecodeError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset from the first octet of the message (the marker), or of the MRT record.
    pub offset: usize,
    /// The message bytes the NOTIFICATION data needs (e.g. the offending attribute), if any.
    pub data: Bytes,
}

impl DecodeError {
    /// A decode error without NOTIFICATION data.
    pub fn new(kind: ErrorKind, offset: usize) -> Self {
        DecodeError {
            kind,
            offset,
            data: Bytes::new(),
        }
    }

    /// The NOTIFICATION a speaker sends for this error (RFC 4271 §6, RFC 7606, RFC 7313 §5).
    pub fn notification(&self) -> Notification {
        use crate::notification::{code::*, header_subcode::*, open_subcode::*, update_subcode::*};
        use ErrorKind::*;
        let (code, subcode, data): (u8, u8, Bytes) = match &self.kind {
            BadMarker => (
                MESSAGE_HEADER_ERROR,
                CONNECTION_NOT_SYNCHRONIZED,
                Bytes::new(),
            ),
            BadMessageLength { length } => (
                MESSAGE_HEADER_ERROR,
                BAD_MESSAGE_LENGTH,
                Bytes::copy_from_slice(&length.to_be_bytes()),
            ),
            BadMessageType { message_type } => (
                MESSAGE_HEADER_ERROR,
                BAD_MESSAGE_TYPE,
                Bytes::copy_from_slice(&[*message_type]),
            ),
            UnsupportedVersion { .. } => (
                OPEN_MESSAGE_ERROR,
                UNSUPPORTED_VERSION_NUMBER,
                Bytes::from_static(&[0, 4]),
            ),
            UnacceptableHoldTime { .. } => {
                (OPEN_MESSAGE_ERROR, UNACCEPTABLE_HOLD_TIME, Bytes::new())
            }
            BadBgpIdentifier { .. } => (OPEN_MESSAGE_ERROR, BAD_BGP_IDENTIFIER, Bytes::new()),
            BadPeerAs { .. } => (OPEN_MESSAGE_ERROR, BAD_PEER_AS, Bytes::new()),
            UnsupportedOptionalParameter { .. } => (
                OPEN_MESSAGE_ERROR,
                UNSUPPORTED_OPTIONAL_PARAMETER,
                Bytes::new(),
            ),
            MalformedOptionalParameters { .. } | BadCapabilityLength { .. } => {
                (OPEN_MESSAGE_ERROR, 0, Bytes::new())
            }
            Truncated { .. } => (MESSAGE_HEADER_ERROR, BAD_MESSAGE_LENGTH, Bytes::new()),
            InvalidNetworkField { .. } | TruncatedPathIdentifier => {
                (UPDATE_MESSAGE_ERROR, INVALID_NETWORK_FIELD, Bytes::new())
            }
            UnrecognizedWellKnownAttribute { .. } => (
                UPDATE_MESSAGE_ERROR,
                UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                self.data.clone(),
            ),
            AttributeFlags { .. } => (
                UPDATE_MESSAGE_ERROR,
                ATTRIBUTE_FLAGS_ERROR,
                self.data.clone(),
            ),
            AttributeLength { .. } => (
                UPDATE_MESSAGE_ERROR,
                ATTRIBUTE_LENGTH_ERROR,
                self.data.clone(),
            ),
            InvalidOrigin { .. } => (
                UPDATE_MESSAGE_ERROR,
                INVALID_ORIGIN_ATTRIBUTE,
                self.data.clone(),
            ),
            MalformedAsPath { .. } | AsZero { .. } | FirstAsMismatch { .. } => {
                (UPDATE_MESSAGE_ERROR, MALFORMED_AS_PATH, Bytes::new())
            }
            // Only for completeness: these are discarded, never a reset.
            MalformedTlvs { .. } => (UPDATE_MESSAGE_ERROR, OPTIONAL_ATTRIBUTE_ERROR, Bytes::new()),
            MissingWellKnownAttribute { type_code } => (
                UPDATE_MESSAGE_ERROR,
                MISSING_WELL_KNOWN_ATTRIBUTE,
                Bytes::copy_from_slice(&[*type_code]),
            ),
            MalformedAttributeList { .. }
            | DuplicateMultiprotocolAttribute { .. }
            | MalformedMultiprotocolAttribute { .. }
            | AttributeOverrun { .. }
            | DuplicateAttribute { .. }
            | LocalPrefFromEbgp
            | ReflectionAttributeFromEbgp { .. } => {
                (UPDATE_MESSAGE_ERROR, MALFORMED_ATTRIBUTE_LIST, Bytes::new())
            }
            // RFC 4271 §6.4: a NOTIFICATION is never answered with one; this is only for
            // completeness.
            BadNotification { length } => (
                MESSAGE_HEADER_ERROR,
                BAD_MESSAGE_LENGTH,
                Bytes::copy_from_slice(&length.to_be_bytes()),
            ),
            BadRouteRefreshLength { length } => (
                ROUTE_REFRESH_MESSAGE_ERROR,
                1,
                Bytes::copy_from_slice(&length.to_be_bytes()),
            ),
            Mrt { .. } => (CEASE, 0, Bytes::new()),
        };
        Notification {
            code,
            subcode,
            data,
        }
    }
}

/// The RFC 7606 outcome of an UPDATE error that does not reset the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeAction {
    /// RFC 7606 §2 "treat-as-withdraw": every NLRI of the UPDATE is withdrawn.
    TreatAsWithdraw,
    /// RFC 7606 §2 "attribute discard": the attribute is dropped, the routes kept.
    Discard,
    /// Not an error: something was repaired (host bits masked in a prefix) and should be logged.
    Repaired,
}

impl fmt::Display for AttributeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttributeAction::TreatAsWithdraw => "treat-as-withdraw",
            AttributeAction::Discard => "attribute-discard",
            AttributeAction::Repaired => "repaired",
        })
    }
}

/// One non-fatal problem found in an UPDATE (RFC 7606), with what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateIssue {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Byte offset from the first octet of the message.
    pub offset: usize,
    /// What was done.
    pub action: AttributeAction,
}

impl fmt::Display for UpdateIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte offset {} ({})",
            self.kind, self.offset, self.action
        )
    }
}

/// An encode error: the value cannot be written in the negotiated form. Nothing is ever
/// silently truncated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message would exceed the negotiated maximum message size.
    #[error("message of {length} octets exceeds the maximum of {max}")]
    MessageTooLong {
        /// Length the message would have.
        length: usize,
        /// Negotiated maximum (4096, or 65535 with RFC 8654).
        max: usize,
    },
    /// A field value does not fit its wire field.
    #[error("{what} of {value} does not fit in its field (maximum {max})")]
    ValueTooLarge {
        /// The field.
        what: &'static str,
        /// The value.
        value: usize,
        /// The largest value the field holds.
        max: usize,
    },
    /// A prefix of a family that cannot be carried where it was placed.
    #[error("{what}")]
    WrongFamily {
        /// What was wrong.
        what: &'static str,
    },
}
