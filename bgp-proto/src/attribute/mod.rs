//! Path attributes (RFC 4271 §4.3, §5) and their RFC 7606 error handling.
//!
//! Attributes keep their received order and flags, so a decoded UPDATE re-encodes to the same
//! bytes. Attributes this crate does not interpret are kept byte-exact with their flags.
//!
//! What is validated where: [`parse_attributes`] checks framing (overruns, duplicates), flags
//! and lengths of every attribute it knows, and the values RFC 7606 §7 names; the outcome of
//! each problem is recorded as an [`UpdateIssue`] (treat-as-withdraw or attribute discard) or,
//! where the RFC requires a session reset, returned as a [`DecodeError`]. Nothing panics.

mod as_path;
mod community;
mod multiprotocol;
mod short_list;

pub use as_path::{AsPath, AsSegment, SegmentType, Segments, AS_TRANS};
pub use community::{Community, CommunityParseError, ExtendedCommunity, LargeCommunity};
pub use multiprotocol::{MpNextHop, MpReach, MpUnreach};
pub use short_list::ShortList;

use crate::context::SessionContext;
use crate::error::{AttributeAction, DecodeError, EncodeError, ErrorKind, UpdateIssue};
use crate::parser::ParseError;
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;
use std::net::Ipv4Addr;

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flags {
    /// Optional (1) or well-known (0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial: an optional transitive attribute passed on by a speaker that did not know it.
    pub const PARTIAL: u8 = 0x20;
    /// Extended length: the length field is two octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod type_code {
    #![allow(missing_docs)]
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MULTI_EXIT_DISC: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const TUNNEL_ENCAPSULATION: u8 = 23;
    pub const LARGE_COMMUNITY: u8 = 32;
    pub const ONLY_TO_CUSTOMER: u8 = 35;
    pub const PREFIX_SID: u8 = 40;
}

use type_code as tc;

/// ORIGIN values (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// 0: learned from an interior protocol.
    Igp,
    /// 1: learned from EGP.
    Egp,
    /// 2: learned some other way.
    Incomplete,
}

impl Origin {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Igp => "IGP",
            Origin::Egp => "EGP",
            Origin::Incomplete => "INCOMPLETE",
        })
    }
}

/// AGGREGATOR / AS4_AGGREGATOR value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// The aggregating AS.
    pub asn: u32,
    /// The aggregating speaker's address.
    pub address: Ipv4Addr,
}

/// The value of one path attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    /// ORIGIN (1).
    Origin(Origin),
    /// AS_PATH (2), in the session's AS width.
    AsPath(AsPath),
    /// NEXT_HOP (3).
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC (4).
    Med(u32),
    /// LOCAL_PREF (5).
    LocalPref(u32),
    /// ATOMIC_AGGREGATE (6).
    AtomicAggregate,
    /// AGGREGATOR (7), in the session's AS width.
    Aggregator(Aggregator),
    /// COMMUNITIES (8). One community is held inline ([`ShortList`]).
    Communities(ShortList<Community>),
    /// ORIGINATOR_ID (9, RFC 4456).
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST (10, RFC 4456). One cluster id is held inline ([`ShortList`]).
    ClusterList(ShortList<Ipv4Addr>),
    /// MP_REACH_NLRI (14, RFC 4760). Boxed: it is the one large value (family, next hop,
    /// prefix vector and opaque bytes), and keeping it inline would make every attribute
    /// of every UPDATE as large as it is (104 instead of 32 octets per [`PathAttribute`]).
    MpReach(Box<MpReach>),
    /// MP_UNREACH_NLRI (15, RFC 4760). Boxed for the same reason as [`AttributeValue::MpReach`].
    MpUnreach(Box<MpUnreach>),
    /// EXTENDED_COMMUNITIES (16, RFC 4360).
    ExtendedCommunities(Box<[ExtendedCommunity]>),
    /// AS4_PATH (17, RFC 6793).
    As4Path(AsPath),
    /// AS4_AGGREGATOR (18, RFC 6793).
    As4Aggregator(Aggregator),
    /// LARGE_COMMUNITY (32, RFC 8092).
    LargeCommunities(Box<[LargeCommunity]>),
    /// ONLY_TO_CUSTOMER (35, RFC 9234).
    OnlyToCustomer(u32),
    /// Any other attribute, byte-exact.
    Unknown {
        /// The type code.
        type_code: u8,
        /// The value as received.
        data: Box<[u8]>,
    },
}

impl AttributeValue {
    /// The attribute type code.
    pub fn type_code(&self) -> u8 {
        use AttributeValue::*;
        match self {
            Origin(_) => tc::ORIGIN,
            AsPath(_) => tc::AS_PATH,
            NextHop(_) => tc::NEXT_HOP,
            Med(_) => tc::MULTI_EXIT_DISC,
            LocalPref(_) => tc::LOCAL_PREF,
            AtomicAggregate => tc::ATOMIC_AGGREGATE,
            Aggregator(_) => tc::AGGREGATOR,
            Communities(_) => tc::COMMUNITIES,
            OriginatorId(_) => tc::ORIGINATOR_ID,
            ClusterList(_) => tc::CLUSTER_LIST,
            MpReach(_) => tc::MP_REACH_NLRI,
            MpUnreach(_) => tc::MP_UNREACH_NLRI,
            ExtendedCommunities(_) => tc::EXTENDED_COMMUNITIES,
            As4Path(_) => tc::AS4_PATH,
            As4Aggregator(_) => tc::AS4_AGGREGATOR,
            LargeCommunities(_) => tc::LARGE_COMMUNITY,
            OnlyToCustomer(_) => tc::ONLY_TO_CUSTOMER,
            Unknown { type_code, .. } => *type_code,
        }
    }

    /// Octets of the value (without the attribute header).
    pub fn wire_len(&self, ctx: &SessionContext) -> usize {
        use AttributeValue::*;
        match self {
            Origin(_) => 1,
            AsPath(p) => p.wire_len(ctx.four_octet_as),
            NextHop(_) | Med(_) | LocalPref(_) | OriginatorId(_) | OnlyToCustomer(_) => 4,
            AtomicAggregate => 0,
            Aggregator(_) => {
                if ctx.four_octet_as {
                    8
                } else {
                    6
                }
            }
            Communities(c) => c.len() * 4,
            ClusterList(c) => c.len() * 4,
            MpReach(m) => m.wire_len(ctx),
            MpUnreach(m) => m.wire_len(ctx),
            ExtendedCommunities(c) => c.len() * 8,
            As4Path(p) => p.wire_len(true),
            As4Aggregator(_) => 8,
            LargeCommunities(c) => c.len() * 12,
            Unknown { data, .. } => data.len(),
        }
    }

    /// The flags an attribute of this type is sent with (RFC 4271 §5 and each attribute's RFC).
    pub fn default_flags(&self) -> u8 {
        use flags::*;
        match self.type_code() {
            tc::ORIGIN | tc::AS_PATH | tc::NEXT_HOP | tc::LOCAL_PREF | tc::ATOMIC_AGGREGATE => {
                TRANSITIVE
            }
            tc::MULTI_EXIT_DISC
            | tc::ORIGINATOR_ID
            | tc::CLUSTER_LIST
            | tc::MP_REACH_NLRI
            | tc::MP_UNREACH_NLRI => OPTIONAL,
            _ => OPTIONAL | TRANSITIVE,
        }
    }

    fn encode_value(&self, ctx: &SessionContext, buf: &mut BytesMut) {
        use AttributeValue::*;
        match self {
            Origin(o) => buf.put_u8(o.code()),
            AsPath(p) => p.encode(ctx.four_octet_as, buf),
            NextHop(a) | OriginatorId(a) => buf.put_slice(&a.octets()),
            Med(v) | LocalPref(v) | OnlyToCustomer(v) => buf.put_u32(*v),
            AtomicAggregate => {}
            Aggregator(a) => {
                if ctx.four_octet_as {
                    buf.put_u32(a.asn);
                } else {
                    buf.put_u16(u16::try_from(a.asn).unwrap_or(AS_TRANS as u16));
                }
                buf.put_slice(&a.address.octets());
            }
            Communities(c) => c.iter().for_each(|c| buf.put_u32(c.0)),
            ClusterList(c) => c.iter().for_each(|a| buf.put_slice(&a.octets())),
            MpReach(m) => m.encode(ctx, buf),
            MpUnreach(m) => m.encode(ctx, buf),
            ExtendedCommunities(c) => c.iter().for_each(|c| buf.put_slice(&c.0)),
            As4Path(p) => p.encode(true, buf),
            As4Aggregator(a) => {
                buf.put_u32(a.asn);
                buf.put_slice(&a.address.octets());
            }
            LargeCommunities(c) => c.iter().for_each(|c| {
                buf.put_u32(c.global_admin);
                buf.put_u32(c.local_data_1);
                buf.put_u32(c.local_data_2);
            }),
            Unknown { data, .. } => buf.put_slice(data),
        }
    }
}

impl From<MpReach> for AttributeValue {
    /// `AttributeValue::MpReach`, boxed.
    fn from(m: MpReach) -> Self {
        AttributeValue::MpReach(Box::new(m))
    }
}

impl From<MpUnreach> for AttributeValue {
    /// `AttributeValue::MpUnreach`, boxed.
    fn from(m: MpUnreach) -> Self {
        AttributeValue::MpUnreach(Box::new(m))
    }
}

/// One path attribute: flags as received (or the defaults) and the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathAttribute {
    /// The flags octet. The extended-length bit is honoured on encode when set, and set
    /// automatically when the value needs it.
    pub flags: u8,
    /// The value.
    pub value: AttributeValue,
}

impl PathAttribute {
    /// An attribute with its type's default flags.
    pub fn new(value: AttributeValue) -> Self {
        PathAttribute {
            flags: value.default_flags(),
            value,
        }
    }

    /// The type code.
    pub fn type_code(&self) -> u8 {
        self.value.type_code()
    }

    fn header_flags(&self, value_len: usize) -> u8 {
        if value_len > 255 {
            self.flags | flags::EXTENDED_LENGTH
        } else {
            self.flags
        }
    }

    /// Octets on the wire, header included.
    pub fn wire_len(&self, ctx: &SessionContext) -> usize {
        let len = self.value.wire_len(ctx);
        let header = if self.header_flags(len) & flags::EXTENDED_LENGTH != 0 {
            4
        } else {
            3
        };
        header + len
    }

    /// Writes the attribute. Fails if the value is longer than 65535 octets.
    pub fn encode(&self, ctx: &SessionContext, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if let AttributeValue::MpReach(m) = &self.value {
            // The next-hop length is one octet (RFC 4760 §3).
            if m.next_hop.wire_len() > 255 {
                return Err(EncodeError::ValueTooLarge {
                    what: "MP_REACH_NLRI next-hop length",
                    value: m.next_hop.wire_len(),
                    max: 255,
                });
            }
        }
        let len = self.value.wire_len(ctx);
        let f = self.header_flags(len);
        buf.put_u8(f);
        buf.put_u8(self.type_code());
        if f & flags::EXTENDED_LENGTH != 0 {
            let l = u16::try_from(len).map_err(|_| EncodeError::ValueTooLarge {
                what: "attribute length",
                value: len,
                max: 65535,
            })?;
            buf.put_u16(l);
        } else {
            buf.put_u8(len as u8);
        }
        self.value.encode_value(ctx, buf);
        Ok(())
    }
}

/// The path attributes of an UPDATE, in received order, with accessors by type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PathAttributes(pub Vec<PathAttribute>);

macro_rules! accessor {
    ($(#[$doc:meta])* $name:ident, $variant:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $name(&self) -> Option<&$ty> {
            self.0.iter().find_map(|a| match &a.value {
                AttributeValue::$variant(v) => Some(v),
                _ => None,
            })
        }
    };
}

impl PathAttributes {
    accessor!(/// ORIGIN.
        origin, Origin, Origin);
    accessor!(/// AS_PATH, in the session's width (see [`PathAttributes::full_as_path`]).
        as_path, AsPath, AsPath);
    accessor!(/// NEXT_HOP.
        next_hop, NextHop, Ipv4Addr);
    accessor!(/// MULTI_EXIT_DISC.
        med, Med, u32);
    accessor!(/// LOCAL_PREF.
        local_pref, LocalPref, u32);
    accessor!(/// AGGREGATOR.
        aggregator, Aggregator, Aggregator);
    accessor!(/// ORIGINATOR_ID.
        originator_id, OriginatorId, Ipv4Addr);
    accessor!(/// CLUSTER_LIST.
        cluster_list, ClusterList, ShortList<Ipv4Addr>);
    /// MP_REACH_NLRI.
    pub fn mp_reach(&self) -> Option<&MpReach> {
        self.0.iter().find_map(|a| match &a.value {
            AttributeValue::MpReach(v) => Some(&**v),
            _ => None,
        })
    }
    /// MP_UNREACH_NLRI.
    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        self.0.iter().find_map(|a| match &a.value {
            AttributeValue::MpUnreach(v) => Some(&**v),
            _ => None,
        })
    }
    accessor!(/// AS4_PATH.
        as4_path, As4Path, AsPath);
    accessor!(/// AS4_AGGREGATOR.
        as4_aggregator, As4Aggregator, Aggregator);
    accessor!(/// ONLY_TO_CUSTOMER.
        only_to_customer, OnlyToCustomer, u32);

    /// COMMUNITIES (empty when absent).
    pub fn communities(&self) -> &[Community] {
        self.0
            .iter()
            .find_map(|a| match &a.value {
                AttributeValue::Communities(v) => Some(&**v),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// EXTENDED_COMMUNITIES (empty when absent).
    pub fn extended_communities(&self) -> &[ExtendedCommunity] {
        self.0
            .iter()
            .find_map(|a| match &a.value {
                AttributeValue::ExtendedCommunities(v) => Some(&**v),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// LARGE_COMMUNITY (empty when absent).
    pub fn large_communities(&self) -> &[LargeCommunity] {
        self.0
            .iter()
            .find_map(|a| match &a.value {
                AttributeValue::LargeCommunities(v) => Some(&**v),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// Whether ATOMIC_AGGREGATE is present.
    pub fn atomic_aggregate(&self) -> bool {
        self.get(tc::ATOMIC_AGGREGATE).is_some()
    }

    /// The attribute of type `type_code`, if present.
    pub fn get(&self, type_code: u8) -> Option<&PathAttribute> {
        self.0.iter().find(|a| a.type_code() == type_code)
    }

    /// Removes every attribute of type `type_code`.
    pub fn remove(&mut self, type_code: u8) {
        self.0.retain(|a| a.type_code() != type_code);
    }

    /// Replaces the attribute of the value's type (keeping its position) or appends it.
    pub fn set(&mut self, value: AttributeValue) {
        let code = value.type_code();
        match self.0.iter_mut().find(|a| a.type_code() == code) {
            Some(a) => a.value = value,
            None => self.0.push(PathAttribute::new(value)),
        }
    }

    /// The AS path as the originator meant it: AS_PATH merged with AS4_PATH when the session
    /// is 2-octet (RFC 6793 §4.2.3); just AS_PATH otherwise.
    pub fn full_as_path(&self, four_octet_session: bool) -> Option<AsPath> {
        let p = self.as_path()?;
        match (four_octet_session, self.as4_path_to_merge()) {
            (false, Some(p4)) => Some(p.merge_as4(p4)),
            _ => Some(p.clone()),
        }
    }

    /// AS4_PATH as received from a 2-octet session, unless RFC 6793 §4.2.3 has it ignored:
    /// when AGGREGATOR names an AS other than AS_TRANS while AS4_AGGREGATOR is present, the
    /// route was aggregated by a speaker without 4-octet support after the AS4 attributes
    /// were made, and AGGREGATOR and AS_PATH are taken as they are. (An AS4_PATH longer than
    /// AS_PATH is ignored by [`AsPath::merge_as4`].)
    pub fn as4_path_to_merge(&self) -> Option<&AsPath> {
        match (self.aggregator(), self.as4_aggregator()) {
            (Some(a), Some(_)) if a.asn != AS_TRANS => None,
            _ => self.as4_path(),
        }
    }

    /// The aggregator as the originator meant it: AS4_AGGREGATOR replaces an AGGREGATOR with
    /// AS_TRANS from a 2-octet session (RFC 6793 §4.2.3).
    pub fn full_aggregator(&self, four_octet_session: bool) -> Option<Aggregator> {
        let a = *self.aggregator()?;
        match (four_octet_session, self.as4_aggregator()) {
            (false, Some(a4)) if a.asn == AS_TRANS => Some(*a4),
            _ => Some(a),
        }
    }

    /// Octets of all attributes on the wire.
    pub fn wire_len(&self, ctx: &SessionContext) -> usize {
        self.0.iter().map(|a| a.wire_len(ctx)).sum()
    }

    /// Writes all attributes in order.
    pub fn encode(&self, ctx: &SessionContext, buf: &mut BytesMut) -> Result<(), EncodeError> {
        for a in &self.0 {
            a.encode(ctx, buf)?;
        }
        Ok(())
    }
}

/// How the attribute decoder treats MP_REACH_NLRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MpReachForm {
    /// The full RFC 4760 form (UPDATE messages).
    Full,
    /// RFC 6396 §4.3.4: TABLE_DUMP_V2 RIB entries carry only next-hop length and next hop;
    /// the family comes from the record.
    Abbreviated(crate::family::Family),
}

/// The RFC 7606 action for a malformed attribute of `type_code`.
fn malformed_action(type_code: u8) -> AttributeAction {
    match type_code {
        // RFC 7606 §7.6, §7.7, RFC 6793 §6: discard.
        tc::ATOMIC_AGGREGATE | tc::AGGREGATOR | tc::AS4_PATH | tc::AS4_AGGREGATOR => {
            AttributeAction::Discard
        }
        // RFC 7606 §7.9, §7.10: ORIGINATOR_ID and CLUSTER_LIST are treat-as-withdraw; from
        // an eBGP peer they never get here (discarded first, `ibgp_only_from_ebgp`).
        _ => AttributeAction::TreatAsWithdraw,
    }
}

/// The (optional, transitive) flag bits each known attribute must carry.
pub(crate) fn expected_flags(type_code: u8) -> Option<u8> {
    use flags::*;
    Some(match type_code {
        tc::ORIGIN | tc::AS_PATH | tc::NEXT_HOP | tc::LOCAL_PREF | tc::ATOMIC_AGGREGATE => {
            TRANSITIVE
        }
        tc::MULTI_EXIT_DISC
        | tc::ORIGINATOR_ID
        | tc::CLUSTER_LIST
        | tc::MP_REACH_NLRI
        | tc::MP_UNREACH_NLRI => OPTIONAL,
        tc::AGGREGATOR
        | tc::COMMUNITIES
        | tc::EXTENDED_COMMUNITIES
        | tc::AS4_PATH
        | tc::AS4_AGGREGATOR
        | tc::LARGE_COMMUNITY
        | tc::ONLY_TO_CUSTOMER => OPTIONAL | TRANSITIVE,
        _ => return None,
    })
}

/// Whether IANA registers `type_code` as an optional attribute this crate carries opaque
/// (so a cleared Optional bit is a flags error, not an unknown well-known attribute).
fn registered_optional(type_code: u8) -> bool {
    matches!(
        type_code,
        // DPA, ADVERTISER, RCID_PATH (historic); SSA, Connector, AS_PATHLIMIT (deprecated).
        11..=13 | 19..=21
        // PMSI_TUNNEL, TUNNEL_ENCAPSULATION, Traffic Engineering, IPv6 Address Specific
        // Extended Community, AIGP, PE Distinguisher Labels, Entropy Label (deprecated),
        // BGP-LS.
        | 22..=29
        // BGPsec_Path, SFP, BFD Discriminator, BGP Prefix-SID, ATTR_SET.
        | 33 | 37 | 38 | 40 | 128
    )
}

/// The bit of `type_code` in the mask [`parse_attributes_present`] returns (none above 63).
fn type_bit(type_code: u8) -> u64 {
    1u64.checked_shl(u32::from(type_code)).unwrap_or(0)
}

/// The first four octets of `c` as a big-endian number (missing octets read as zero; callers
/// check lengths first).
fn be32(c: &[u8]) -> u32 {
    match c {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

/// Parses the value of a known, non-MP attribute. `Err` is the malformation found.
pub(crate) fn parse_value(
    type_code: u8,
    data: &[u8],
    ctx: &SessionContext,
) -> Result<AttributeValue, ParseError> {
    let len_err = || {
        ParseError::at(
            data,
            ErrorKind::AttributeLength {
                type_code,
                length: data.len(),
            },
        )
    };
    let exact = |n: usize| {
        if data.len() == n {
            Ok(())
        } else {
            Err(len_err())
        }
    };
    let multiple = |n: usize| {
        if !data.is_empty() && data.len().is_multiple_of(n) {
            Ok(())
        } else {
            Err(len_err())
        }
    };
    Ok(match type_code {
        tc::ORIGIN => {
            exact(1)?;
            match data.first() {
                Some(0) => AttributeValue::Origin(Origin::Igp),
                Some(1) => AttributeValue::Origin(Origin::Egp),
                Some(2) => AttributeValue::Origin(Origin::Incomplete),
                Some(v) => {
                    return Err(ParseError::at(data, ErrorKind::InvalidOrigin { value: *v }))
                }
                None => return Err(len_err()),
            }
        }
        tc::AS_PATH => {
            let p = AsPath::parse(data, ctx.four_octet_as, type_code)?;
            // RFC 5065 §5: AS_CONFED_SEQUENCE or AS_CONFED_SET from a peer outside our
            // confederation (bgpd is in none: every external peer) makes the UPDATE malformed;
            // RFC 7606 §7.2 treats it as a withdrawal.
            if !ctx.ibgp && p.has_confed_segment() {
                return Err(ParseError::at(
                    data,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "AS_CONFED segment from an external peer",
                    },
                ));
            }
            if let Some(expected) = ctx.enforce_first_as {
                match p.first_as() {
                    Some(first) if first == expected => {}
                    first => {
                        return Err(ParseError::at(
                            data,
                            ErrorKind::FirstAsMismatch {
                                first: first.unwrap_or(0),
                                expected,
                            },
                        ))
                    }
                }
            }
            AttributeValue::AsPath(p)
        }
        tc::AS4_PATH => AttributeValue::As4Path(AsPath::parse(data, true, type_code)?),
        tc::NEXT_HOP => {
            exact(4)?;
            AttributeValue::NextHop(Ipv4Addr::from(be32(data)))
        }
        tc::MULTI_EXIT_DISC => {
            exact(4)?;
            AttributeValue::Med(be32(data))
        }
        tc::LOCAL_PREF => {
            exact(4)?;
            AttributeValue::LocalPref(be32(data))
        }
        tc::ATOMIC_AGGREGATE => {
            exact(0)?;
            AttributeValue::AtomicAggregate
        }
        tc::AGGREGATOR | tc::AS4_AGGREGATOR => {
            let four = ctx.four_octet_as || type_code == tc::AS4_AGGREGATOR;
            let (asn, addr) = if four {
                exact(8)?;
                (be32(data), be32(data.get(4..).unwrap_or(&[])))
            } else {
                exact(6)?;
                let asn = data
                    .first_chunk::<2>()
                    .map(|b| u32::from(u16::from_be_bytes(*b)));
                (asn.unwrap_or(0), be32(data.get(2..).unwrap_or(&[])))
            };
            if asn == 0 {
                return Err(ParseError::at(data, ErrorKind::AsZero { type_code }));
            }
            let a = Aggregator {
                asn,
                address: Ipv4Addr::from(addr),
            };
            if type_code == tc::AGGREGATOR {
                AttributeValue::Aggregator(a)
            } else {
                AttributeValue::As4Aggregator(a)
            }
        }
        tc::COMMUNITIES => {
            multiple(4)?;
            AttributeValue::Communities(
                data.as_chunks::<4>()
                    .0
                    .iter()
                    .map(|c| Community(u32::from_be_bytes(*c)))
                    .collect(),
            )
        }
        tc::ORIGINATOR_ID => {
            exact(4)?;
            AttributeValue::OriginatorId(Ipv4Addr::from(be32(data)))
        }
        tc::CLUSTER_LIST => {
            multiple(4)?;
            AttributeValue::ClusterList(
                data.chunks_exact(4)
                    .map(|c| Ipv4Addr::from(be32(c)))
                    .collect(),
            )
        }
        tc::EXTENDED_COMMUNITIES => {
            multiple(8)?;
            AttributeValue::ExtendedCommunities(
                data.chunks_exact(8)
                    .map(|c| {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(c);
                        ExtendedCommunity(b)
                    })
                    .collect(),
            )
        }
        tc::LARGE_COMMUNITY => {
            multiple(12)?;
            AttributeValue::LargeCommunities(
                data.chunks_exact(12)
                    .map(|c| LargeCommunity {
                        global_admin: be32(c),
                        local_data_1: be32(c.get(4..).unwrap_or(&[])),
                        local_data_2: be32(c.get(8..).unwrap_or(&[])),
                    })
                    .collect(),
            )
        }
        tc::ONLY_TO_CUSTOMER => {
            exact(4)?;
            AttributeValue::OnlyToCustomer(be32(data))
        }
        _ => AttributeValue::Unknown {
            type_code,
            data: data.into(),
        },
    })
}

/// Parses an attribute block. `base` is the first byte of the message (for offsets).
/// Non-fatal problems go to `issues`; a returned error resets the session. The result is
/// sized exactly: MRT RIB entries, its callers, are kept as long as the table.
pub(crate) fn parse_attributes(
    input: &[u8],
    ctx: &SessionContext,
    mp_form: MpReachForm,
    base: &[u8],
    issues: &mut Vec<UpdateIssue>,
) -> Result<PathAttributes, DecodeError> {
    parse_attributes_present(input, ctx, mp_form, base, issues).map(|(mut a, _)| {
        a.0.shrink_to_fit();
        a
    })
}

/// [`parse_attributes`], also returning a bit mask of the type codes below 64 that were kept
/// (bit `n` set: an attribute of type `n` is in the result), for the RFC 7606 §3(d) check of
/// mandatory attributes without a second pass.
pub(crate) fn parse_attributes_present(
    mut input: &[u8],
    ctx: &SessionContext,
    mp_form: MpReachForm,
    base: &[u8],
    issues: &mut Vec<UpdateIssue>,
) -> Result<(PathAttributes, u64), DecodeError> {
    let offset = |s: &[u8]| (s.as_ptr() as usize).saturating_sub(base.as_ptr() as usize);
    let fatal = |e: ParseError| {
        e.into_decode(
            base,
            Some(ErrorKind::MalformedAttributeList {
                reason: "truncated multiprotocol NLRI",
            }),
        )
    };
    // Room for the attributes a routing feed's UPDATE carries; a block with more grows the
    // vector once. Counting the block first cost a tenth of decode time: a loop whose
    // every step waits on the length octet of the one before, and a mispredicted exit.
    let mut attrs = Vec::with_capacity(TYPICAL_ATTRIBUTES);
    let mut filled = 0usize;
    let mut seen = [0u64; 4];
    let mut present = 0u64;
    while !input.is_empty() {
        // The next attribute's slot, made before its value is decoded: see [`place`].
        if attrs.len() == filled {
            attrs.push(PLACEHOLDER);
        }
        let start = input;
        let Some((f, code, data, rest)) = split_attribute(input) else {
            // RFC 7606 §4: an attribute (or its header) that overruns the block. The NLRI of
            // an MP attribute cannot be found, so that case resets the session (§5.3).
            let (kind, fatal) = overrun(input);
            if fatal {
                return Err(DecodeError::new(kind, offset(start)));
            }
            issues.push(UpdateIssue {
                kind,
                offset: offset(start),
                action: AttributeAction::TreatAsWithdraw,
            });
            break;
        };
        input = rest;

        // RFC 7606 §3(g): repeated attributes. MP_REACH/MP_UNREACH twice resets; any other
        // keeps the first.
        let bit = 1u64 << (code % 64);
        let dup = match seen.get_mut(usize::from(code / 64)) {
            Some(w) => {
                let dup = *w & bit != 0;
                *w |= bit;
                dup
            }
            None => false,
        };
        if dup {
            if matches!(code, tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI) {
                return Err(DecodeError::new(
                    ErrorKind::DuplicateMultiprotocolAttribute { type_code: code },
                    offset(start),
                ));
            }
            issues.push(UpdateIssue {
                kind: ErrorKind::DuplicateAttribute { type_code: code },
                offset: offset(start),
                action: AttributeAction::Discard,
            });
            continue;
        }

        // The common attributes, well-formed and with their expected flags, in one step;
        // everything else (and every problem) takes the general path below, which decides
        // exactly as before.
        if let Some(slot) = attrs.get_mut(filled) {
            if common_value(f, code, data, ctx, slot) {
                present |= bit; // every type `common_value` accepts is below 64
                filled += 1;
                continue;
            }
        }

        let Some(expected) = expected_flags(code) else {
            // A type IANA registers as optional, sent with the Optional bit cleared, is a
            // flags conflict (RFC 7606 §3(c)), not an unknown well-known attribute: it is
            // discarded, never a reset.
            if f & flags::OPTIONAL == 0 && registered_optional(code) {
                issues.push(UpdateIssue {
                    kind: ErrorKind::AttributeFlags {
                        type_code: code,
                        flags: f,
                    },
                    offset: offset(start),
                    action: AttributeAction::Discard,
                });
                continue;
            }
            // Unknown attribute. RFC 4271 §6.3: well-known → reset 3/2 with the attribute.
            if f & flags::OPTIONAL == 0 {
                let whole = start.get(..start.len() - rest.len()).unwrap_or(start);
                return Err(DecodeError {
                    kind: ErrorKind::UnrecognizedWellKnownAttribute { type_code: code },
                    offset: offset(start),
                    data: Bytes::copy_from_slice(whole),
                });
            }
            // Carried opaque and passed on, so a corrupt one would travel on to every peer
            // (as tunnel encapsulation and Prefix-SID did in 2023): their TLVs are checked
            // first, and a block that does not add up is discarded.
            if let Err(reason) = opaque_tlvs_fit(code, data) {
                issues.push(UpdateIssue {
                    kind: ErrorKind::MalformedTlvs {
                        type_code: code,
                        reason,
                    },
                    offset: offset(start),
                    action: AttributeAction::Discard,
                });
                continue;
            }
            present |= type_bit(code);
            place(
                &mut attrs,
                &mut filled,
                PathAttribute {
                    flags: f,
                    value: AttributeValue::Unknown {
                        type_code: code,
                        data: data.into(),
                    },
                },
            );
            continue;
        };
        let flags_ok = f & (flags::OPTIONAL | flags::TRANSITIVE) == expected;

        // MP attributes: any malformation is fatal (RFC 7606 §7.11); a flag conflict alone
        // still lets the NLRI be found, so it is treat-as-withdraw.
        if matches!(code, tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI) {
            let value = match (code, mp_form) {
                (tc::MP_REACH_NLRI, MpReachForm::Full) => AttributeValue::MpReach(Box::new(
                    MpReach::parse(data, ctx, base, issues).map_err(fatal)?,
                )),
                (tc::MP_REACH_NLRI, MpReachForm::Abbreviated(family)) => AttributeValue::MpReach(
                    Box::new(abbreviated_mp_reach(data, family).map_err(fatal)?),
                ),
                _ => AttributeValue::MpUnreach(Box::new(
                    MpUnreach::parse(data, ctx, base, issues).map_err(fatal)?,
                )),
            };
            if !flags_ok {
                issues.push(UpdateIssue {
                    kind: ErrorKind::AttributeFlags {
                        type_code: code,
                        flags: f,
                    },
                    offset: offset(start),
                    action: AttributeAction::TreatAsWithdraw,
                });
            }
            present |= type_bit(code);
            place(&mut attrs, &mut filled, PathAttribute { flags: f, value });
            continue;
        }

        // Attributes that only mean something inside one AS, from an eBGP peer: discarded,
        // whatever their flags. RFC 7606 §7.5 discards LOCAL_PREF from an external peer, an
        // attribute-specific rule that §3(c) lets override treat-as-withdraw for a flags
        // conflict: the route does not depend on an attribute that is dropped anyway.
        if !ctx.ibgp {
            if let Some((kind, at_value)) = ibgp_only_from_ebgp(code, data) {
                issues.push(UpdateIssue {
                    kind,
                    offset: offset(if at_value { data } else { start }),
                    action: AttributeAction::Discard,
                });
                continue;
            }
        }
        if !flags_ok {
            issues.push(UpdateIssue {
                kind: ErrorKind::AttributeFlags {
                    type_code: code,
                    flags: f,
                },
                offset: offset(start),
                action: malformed_action(code),
            });
            continue;
        }
        match parse_value(code, data, ctx) {
            Ok(value) => {
                present |= type_bit(code);
                place(&mut attrs, &mut filled, PathAttribute { flags: f, value })
            }
            Err(e) => issues.push(UpdateIssue {
                offset: e.offset_from(base),
                kind: e.kind,
                action: malformed_action(code),
            }),
        }
    }
    attrs.truncate(filled);
    Ok((PathAttributes(attrs), present))
}

/// Checks the TLV structure of the optional transitive attributes this crate carries opaque
/// but whose layout is known, so that a corrupt one is discarded instead of passed on:
/// - TUNNEL_ENCAPSULATION (RFC 9012 §2): TLVs of a 2-octet tunnel type and a 2-octet length,
///   each holding sub-TLVs of a 1-octet type and a length of 1 octet (types 0–127) or 2
///   (128–255). RFC 9012 §13: a TLV or sub-TLV that overruns what holds it makes the
///   attribute malformed, and it is discarded.
/// - BGP Prefix-SID (RFC 8669 §3): TLVs of a 1-octet type and a 2-octet length. The
///   Label-Index TLV (type 1) is 7 octets and the Originator SRGB TLV (type 3) 2 plus a
///   multiple of 6. RFC 8669 §6: for routes other than labeled unicast (bgpd carries no
///   other), a malformed Prefix-SID is discarded and not passed on.
///
/// An empty value has nothing that could overrun and is passed on. Other types are not looked
/// into.
fn opaque_tlvs_fit(type_code: u8, data: &[u8]) -> Result<(), &'static str> {
    match type_code {
        tc::TUNNEL_ENCAPSULATION => {
            let mut rest = data;
            while !rest.is_empty() {
                let Some((&[_, _, h, l], after)) = rest.split_first_chunk::<4>() else {
                    return Err("tunnel TLV header cut short");
                };
                let len = usize::from(u16::from_be_bytes([h, l]));
                let (mut subs, after) = after
                    .split_at_checked(len)
                    .ok_or("tunnel TLV overruns the attribute")?;
                while let Some((&kind, after_kind)) = subs.split_first() {
                    let (len, after_len) = if kind < 128 {
                        let (&l, a) = after_kind.split_first().ok_or("sub-TLV length missing")?;
                        (usize::from(l), a)
                    } else {
                        let (&[h, l], a) = after_kind
                            .split_first_chunk::<2>()
                            .ok_or("sub-TLV length missing")?;
                        (usize::from(u16::from_be_bytes([h, l])), a)
                    };
                    subs = after_len
                        .get(len..)
                        .ok_or("sub-TLV overruns its tunnel TLV")?;
                }
                rest = after;
            }
            Ok(())
        }
        tc::PREFIX_SID => {
            let mut rest = data;
            while !rest.is_empty() {
                let Some((&[kind, h, l], after)) = rest.split_first_chunk::<3>() else {
                    return Err("TLV header cut short");
                };
                let len = usize::from(u16::from_be_bytes([h, l]));
                match kind {
                    1 if len != 7 => return Err("Label-Index TLV length is not 7"),
                    3 if len < 2 || (len - 2) % 6 != 0 => {
                        return Err("Originator SRGB TLV length is not 2 plus a multiple of 6")
                    }
                    _ => {}
                }
                rest = after.get(len..).ok_or("TLV overruns the attribute")?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What an attribute's slot holds until its value is decoded.
const PLACEHOLDER: PathAttribute = PathAttribute {
    flags: 0,
    value: AttributeValue::AtomicAggregate,
};

/// Puts the `filled`-th attribute of a block into its slot, which the loop made (holding
/// [`PLACEHOLDER`]) before decoding the value.
///
/// Why slots: `push` may grow the vector (a call), so a value decoded before it was built on
/// the stack and then copied into the vector with wide loads of the narrow stores just made.
/// Such a load waits for the stores to drain (no store forwarding): that copy was the
/// decoder's hottest instruction, over a quarter of `update_messages`. With the slot made
/// first and no call between decoding and storing, the common attributes are written straight
/// into it ([`common_value`]).
#[inline(always)]
fn place(attrs: &mut [PathAttribute], filled: &mut usize, attr: PathAttribute) {
    if let Some(slot) = attrs.get_mut(*filled) {
        put(slot, attr.flags, attr.value);
        *filled += 1;
    }
}

/// Stores an attribute in a slot holding [`PLACEHOLDER`]. The placeholder has no heap value:
/// it is forgotten, not dropped, so no drop call comes between decoding a value and storing it.
#[inline(always)]
fn put(slot: &mut PathAttribute, flags: u8, value: AttributeValue) {
    std::mem::forget(std::mem::replace(slot, PathAttribute { flags, value }));
}

/// Splits the first attribute off a block: (flags, type code, value, rest), or `None` when
/// its header or value overruns the block.
/// What is wrong with `code` arriving from an eBGP peer, if it is one of the attributes that
/// only mean something inside one AS, and whether the problem is reported at the value (else
/// at the attribute). Each is discarded:
/// - LOCAL_PREF (RFC 7606 §7.5);
/// - ORIGINATOR_ID and CLUSTER_LIST, route reflection attributes (RFC 4456 §8), as BIRD
///   does; one of the wrong length reports that length (RFC 7606 §7.9, §7.10: discarded on
///   eBGP). Kept, they would also cost an attribute-set copy per route at export to eBGP
///   peers, where they must be removed.
fn ibgp_only_from_ebgp(code: u8, data: &[u8]) -> Option<(ErrorKind, bool)> {
    let well_formed = match code {
        tc::LOCAL_PREF => return Some((ErrorKind::LocalPrefFromEbgp, false)),
        tc::ORIGINATOR_ID => data.len() == 4,
        tc::CLUSTER_LIST => !data.is_empty() && data.len().is_multiple_of(4),
        _ => return None,
    };
    Some(if well_formed {
        (
            ErrorKind::ReflectionAttributeFromEbgp { type_code: code },
            false,
        )
    } else {
        (
            ErrorKind::AttributeLength {
                type_code: code,
                length: data.len(),
            },
            true,
        )
    })
}

#[inline(always)]
pub(crate) fn split_attribute(input: &[u8]) -> Option<(u8, u8, &[u8], &[u8])> {
    let (f, code, len, body) = match input {
        [f, code, len, body @ ..] if f & flags::EXTENDED_LENGTH == 0 => {
            (*f, *code, usize::from(*len), body)
        }
        [f, code, hi, lo, body @ ..] if f & flags::EXTENDED_LENGTH != 0 => {
            (*f, *code, usize::from(u16::from_be_bytes([*hi, *lo])), body)
        }
        _ => return None,
    };
    let (data, rest) = body.split_at_checked(len)?;
    Some((f, code, data, rest))
}

/// How many attributes an UPDATE's vector has room for before it grows. The full table of
/// `updates.et-header.2015.gz` has 8 to 11 per UPDATE (ORIGIN, AS_PATH, NEXT_HOP, MED,
/// LOCAL_PREF, COMMUNITIES, the two route reflection attributes, AGGREGATOR,
/// ATOMIC_AGGREGATE, an unknown one); the vector lives only until the RIB's copy is made.
const TYPICAL_ATTRIBUTES: usize = 16;

/// The RFC 7606 §4 error for an attribute at the start of `input` that overruns the block,
/// and whether it is fatal (an MP attribute, whose NLRI cannot be found).
#[cold]
fn overrun(input: &[u8]) -> (ErrorKind, bool) {
    let (f, code) = match input {
        [f, code, ..] => (*f, *code),
        _ => {
            return (
                ErrorKind::AttributeOverrun {
                    type_code: 0,
                    length: input.len(),
                },
                false,
            )
        }
    };
    let len = match (f & flags::EXTENDED_LENGTH != 0, input.get(2), input.get(3)) {
        (false, Some(l), _) => usize::from(*l),
        (true, Some(h), Some(l)) => usize::from(u16::from_be_bytes([*h, *l])),
        _ => 0,
    };
    (
        ErrorKind::AttributeOverrun {
            type_code: code,
            length: len,
        },
        matches!(code, tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI),
    )
}

/// Decodes one of the attributes nearly every UPDATE carries into `slot` (see [`put`]) when it
/// has exactly the flags ([`expected_flags`]) and the form [`parse_value`] accepts without an
/// issue, and says whether it did; anything else is left to the general path, which decodes
/// (and reports) it as always. Only type codes below 64 are accepted.
#[inline(always)]
fn common_value(
    f: u8,
    code: u8,
    data: &[u8],
    ctx: &SessionContext,
    slot: &mut PathAttribute,
) -> bool {
    use flags::{OPTIONAL, TRANSITIVE};
    const BOTH: u8 = OPTIONAL | TRANSITIVE;
    let value = match (code, f & BOTH, data) {
        (tc::ORIGIN, TRANSITIVE, [0]) => AttributeValue::Origin(Origin::Igp),
        (tc::ORIGIN, TRANSITIVE, [1]) => AttributeValue::Origin(Origin::Egp),
        (tc::ORIGIN, TRANSITIVE, [2]) => AttributeValue::Origin(Origin::Incomplete),
        (tc::AS_PATH, TRANSITIVE, _) if ctx.enforce_first_as.is_none() => {
            AttributeValue::AsPath(match AsPath::parse(data, ctx.four_octet_as, code) {
                // A confederation segment from an external peer is the general path's to
                // report (RFC 5065 §5).
                Ok(p) if ctx.ibgp || !p.has_confed_segment() => p,
                _ => return false,
            })
        }
        (tc::NEXT_HOP, TRANSITIVE, &[a, b, c, d]) => {
            AttributeValue::NextHop(Ipv4Addr::new(a, b, c, d))
        }
        (tc::MULTI_EXIT_DISC, OPTIONAL, &[a, b, c, d]) => {
            AttributeValue::Med(u32::from_be_bytes([a, b, c, d]))
        }
        (tc::LOCAL_PREF, TRANSITIVE, &[a, b, c, d]) if ctx.ibgp => {
            AttributeValue::LocalPref(u32::from_be_bytes([a, b, c, d]))
        }
        (tc::ATOMIC_AGGREGATE, TRANSITIVE, []) => AttributeValue::AtomicAggregate,
        (tc::AGGREGATOR, BOTH, &[a, b, c, d, e, g, h, i]) if ctx.four_octet_as => {
            let asn = u32::from_be_bytes([a, b, c, d]);
            if asn == 0 {
                return false;
            }
            AttributeValue::Aggregator(Aggregator {
                asn,
                address: Ipv4Addr::new(e, g, h, i),
            })
        }
        (tc::AGGREGATOR, BOTH, &[a, b, e, g, h, i]) if !ctx.four_octet_as => {
            let asn = u32::from(u16::from_be_bytes([a, b]));
            if asn == 0 {
                return false;
            }
            AttributeValue::Aggregator(Aggregator {
                asn,
                address: Ipv4Addr::new(e, g, h, i),
            })
        }
        (tc::COMMUNITIES, BOTH, _) if !data.is_empty() && data.len().is_multiple_of(4) => {
            AttributeValue::Communities(
                data.as_chunks::<4>()
                    .0
                    .iter()
                    .map(|c| Community(u32::from_be_bytes(*c)))
                    .collect(),
            )
        }
        (tc::ORIGINATOR_ID, OPTIONAL, &[a, b, c, d]) if ctx.ibgp => {
            AttributeValue::OriginatorId(Ipv4Addr::new(a, b, c, d))
        }
        (tc::CLUSTER_LIST, OPTIONAL, _)
            if ctx.ibgp && !data.is_empty() && data.len().is_multiple_of(4) =>
        {
            AttributeValue::ClusterList(
                data.as_chunks::<4>()
                    .0
                    .iter()
                    .map(|c| Ipv4Addr::from(*c))
                    .collect(),
            )
        }
        _ => return false,
    };
    put(slot, f, value);
    true
}

/// RFC 6396 §4.3.4: the abbreviated MP_REACH_NLRI of TABLE_DUMP_V2 RIB entries (next-hop
/// length and next hop only). Some writers put the full RFC 4760 form there; that is
/// recognised when the first octet is not a plausible next-hop length for the data.
fn abbreviated_mp_reach(data: &[u8], family: crate::family::Family) -> Result<MpReach, ParseError> {
    let nh_len = data.first().map(|l| usize::from(*l)).unwrap_or(0);
    let nh = if nh_len < data.len() && matches!(nh_len, 4 | 16 | 32) {
        data.get(1..1 + nh_len).unwrap_or(&[])
    } else {
        // Full form: AFI(2) SAFI(1) NH-len(1) NH ...
        let l = data.get(3).map(|l| usize::from(*l)).unwrap_or(0);
        data.get(4..4 + l).ok_or_else(|| {
            ParseError::at(
                data,
                ErrorKind::MalformedMultiprotocolAttribute {
                    type_code: 14,
                    reason: "bad next hop",
                },
            )
        })?
    };
    Ok(MpReach {
        family,
        next_hop: MpNextHop::parse(nh, family)?,
        nlri: Vec::new(),
        opaque_nlri: Bytes::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod slot_tests {
    use super::{parse_attributes_present, type_code as tc, AttributeValue, MpReachForm};
    use super::{AttributeAction, Community, PathAttribute};
    use crate::SessionContext;

    fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
        let mut a = vec![flags, code, u8::try_from(value.len()).unwrap()];
        a.extend_from_slice(value);
        a
    }

    /// More attributes than the vector's first room (16), with attributes that take no slot
    /// (a repeat, a flag conflict, a well-formed LOCAL_PREF from an eBGP peer) between
    /// them, and values decoded on both paths (common and general): every kept attribute is
    /// in its slot, in received order, and no placeholder (an ATOMIC_AGGREGATE) is left.
    #[test]
    fn slots_hold_exactly_the_kept_attributes_in_order() {
        let mut block = Vec::new();
        block.extend(attr(0x40, tc::ORIGIN, &[0]));
        block.extend(attr(
            0x40,
            tc::AS_PATH,
            &[2, 2, 0, 0, 0xfd, 0xe8, 0, 0, 0xfd, 0xe9],
        ));
        block.extend(attr(0x40, tc::ORIGIN, &[1])); // repeated: discarded, no slot
        block.extend(attr(0x40, tc::NEXT_HOP, &[192, 0, 2, 1]));
        block.extend(attr(0x40, tc::MULTI_EXIT_DISC, &[0, 0, 0, 5])); // flags conflict, no slot
        block.extend(attr(0x40, tc::LOCAL_PREF, &[0, 0, 0, 100])); // from eBGP: discarded
        block.extend(attr(0xc0, tc::COMMUNITIES, &[0xfd, 0xe8, 0, 1]));
        // Unknown optional transitive attributes 100..=119: twenty more, general path.
        for code in 100u8..120 {
            block.extend(attr(0xc0, code, &[code]));
        }
        block.extend(attr(
            0xc0,
            tc::AGGREGATOR,
            &[0, 0, 0xfd, 0xe8, 192, 0, 2, 9],
        ));
        let mut issues = Vec::new();
        let ctx = SessionContext::default();
        let (attrs, _) =
            parse_attributes_present(&block, &ctx, MpReachForm::Full, &block, &mut issues).unwrap();
        let codes: Vec<u8> = attrs.0.iter().map(PathAttribute::type_code).collect();
        let mut expected = vec![tc::ORIGIN, tc::AS_PATH, tc::NEXT_HOP, tc::COMMUNITIES];
        expected.extend(100u8..120);
        expected.push(tc::AGGREGATOR);
        assert_eq!(codes, expected);
        assert!(attrs
            .0
            .iter()
            .all(|a| a.type_code() != tc::ATOMIC_AGGREGATE));
        assert_eq!(attrs.communities(), &[Community::new(65000, 1)][..]);
        assert_eq!(attrs.aggregator().unwrap().asn, 65000);
        for (a, code) in attrs.0.iter().skip(4).zip(100u8..120) {
            assert_eq!(
                a.value,
                AttributeValue::Unknown {
                    type_code: code,
                    data: Box::new([code]),
                }
            );
        }
        let actions: Vec<AttributeAction> = issues.iter().map(|i| i.action).collect();
        // The repeat and the eBGP LOCAL_PREF are discarded (RFC 7606 §3(g), §7.5); a MED with
        // the wrong flags is treat-as-withdraw (§3(c), §7.4).
        use AttributeAction::{Discard, TreatAsWithdraw};
        assert_eq!(actions, [Discard, TreatAsWithdraw, Discard]);
    }
}

#[cfg(test)]
mod layout_tests {
    use super::{AttributeValue, PathAttribute};

    /// A received attribute set is kept for as long as its routes, one `PathAttribute` per
    /// attribute: every variable-length value is a boxed slice (pointer and length, no
    /// capacity) and MP_REACH/MP_UNREACH are boxed, so no variant is wider than 16 octets.
    /// Seven attributes then take 224 octets, an allocator size class of their own, instead
    /// of the 384 that 48-octet attributes took.
    #[test]
    fn an_attribute_takes_32_octets() {
        assert_eq!(std::mem::size_of::<AttributeValue>(), 24);
        assert_eq!(std::mem::size_of::<PathAttribute>(), 32);
    }
}
