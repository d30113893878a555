//! # bgp-proto
//!
//! The BGP-4 wire format (RFC 4271 and the extensions a modern speaker negotiates) and MRT
//! (RFC 6396). Parsing uses nom over plain `&[u8]`; encoding uses `bytes`; prefixes are
//! `ipnet` types. No sockets, no async runtime.
//!
//! ## What is validated where
//! - [`parse_header`] / [`frame_len`]: marker, length bounds per type, known type (RFC 4271 §6.1).
//! - [`Message::decode`]: one whole message in its [`SessionContext`] (4-octet AS, ADD-PATH per
//!   family, extended messages, iBGP or eBGP). Fatal errors come back as [`DecodeError`] with
//!   the byte offset and the offending value; [`DecodeError::notification`] gives the
//!   NOTIFICATION to send. UPDATE problems RFC 7606 lets a session survive are listed in
//!   [`Update::issues`] with their action (treat-as-withdraw, attribute discard).
//! - Encoding computes lengths first and fails rather than truncating ([`EncodeError`]).
//!
//! Nothing in this crate panics on any input: no indexing or `unwrap` on received bytes
//! (checked by fuzz targets and property tests). Outside tests, clippy refuses `unwrap`,
//! indexing (workspace lints), `expect`, `panic!`, `unreachable!`, `todo!` and
//! `unimplemented!` (the attribute below), so none can be added to a decoder unnoticed.
//!
//! Byte offsets count from the first octet of the message (the marker), or of the MRT record.
#![cfg_attr(
    not(test),
    deny(
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

mod attribute;
mod builder;
mod capability;
mod checked_update;
#[cfg(feature = "codec")]
mod codec;
mod context;
mod error;
mod family;
mod header;
mod message;
pub mod mrt;
mod notification;
mod open;
mod parser;
mod prefix;
mod route_refresh;
mod update;

pub use attribute::{
    flags as attribute_flags, type_code as attribute_type, Aggregator, AsPath, AsSegment,
    AttributeValue, Community, CommunityParseError, ExtendedCommunity, LargeCommunity, MpNextHop,
    MpReach, MpUnreach, Origin, PathAttribute, PathAttributes, SegmentType, Segments, ShortList,
    AS_TRANS,
};
pub use builder::UpdatePacker;
pub use capability::{
    code as capability_code, sanitize, AddPathMode, Capability, GracefulRestartFamily,
    LongLivedFamily,
};
pub use checked_update::{
    carried_opaque, decode_checked_block, AttributeIndex, CheckedUpdate, Ipv4Prefixes,
    RawAttributes,
};
#[cfg(feature = "codec")]
pub use codec::{BgpCodec, CodecError, Framed};
pub use context::{SessionContext, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
pub use error::{attr_name, AttributeAction, DecodeError, EncodeError, ErrorKind, UpdateIssue};
pub use family::{Family, FamilySet, AFI_IPV4, AFI_IPV6, SAFI_MULTICAST, SAFI_UNICAST};
pub use header::{frame_len, parse_header, Header, MessageType, HEADER_LEN, MARKER};
pub use message::Message;
pub use notification::{
    cease_subcode, code as notification_code, code_name, header_subcode, open_subcode,
    subcode_name, update_subcode, Notification, ShutdownMessageError,
};
pub use open::{Open, OptionalParameter, PARAM_CAPABILITIES};
pub use prefix::Nlri;
pub use route_refresh::{RouteRefresh, SUBTYPE_BORR, SUBTYPE_EORR, SUBTYPE_REQUEST};
pub use update::Update;
