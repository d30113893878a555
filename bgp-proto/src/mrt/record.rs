//! The MRT record types (RFC 6396 §2–§4, RFC 8050): the common header, the body of each
//! supported type, and the type and subtype codes.

use crate::attribute::PathAttributes;
use crate::error::UpdateIssue;
use crate::family::Family;
use crate::message::Message;
use bytes::Bytes;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

/// MRT type codes (RFC 6396 §4, IANA "MRT Types").
pub mod mrt_type {
    /// BGP (RFC 6396 Appendix B.2.3), deprecated: written before BGP4MP existed.
    pub const BGP: u16 = 5;
    /// TABLE_DUMP (RFC 6396 §4.2), deprecated but still found in old archives.
    pub const TABLE_DUMP: u16 = 12;
    /// TABLE_DUMP_V2 (RFC 6396 §4.3).
    pub const TABLE_DUMP_V2: u16 = 13;
    /// BGP4MP (RFC 6396 §4.4).
    pub const BGP4MP: u16 = 16;
    /// BGP4MP_ET: BGP4MP with a microsecond timestamp (RFC 6396 §3, §4.4).
    pub const BGP4MP_ET: u16 = 17;
}

/// Subtypes of the deprecated BGP type (RFC 6396 Appendix B.2.3) that are decoded.
pub mod legacy_bgp_subtype {
    /// BGP_UPDATE: peer AS and IP, local AS and IP, an UPDATE without its header.
    pub const UPDATE: u16 = 1;
    /// BGP_STATE_CHANGE: peer AS and IP, old and new state.
    pub const STATE_CHANGE: u16 = 3;
}

/// TABLE_DUMP subtypes (RFC 6396 §4.2): the address family of the entry.
pub mod table_dump_subtype {
    /// AFI_IPv4.
    pub const AFI_IPV4: u16 = 1;
    /// AFI_IPv6.
    pub const AFI_IPV6: u16 = 2;
}

/// TABLE_DUMP_V2 subtypes (RFC 6396 §4.3, RFC 8050 §4).
pub mod table_dump_v2_subtype {
    /// PEER_INDEX_TABLE (RFC 6396 §4.3.1).
    pub const PEER_INDEX_TABLE: u16 = 1;
    /// RIB_IPV4_UNICAST (RFC 6396 §4.3.2).
    pub const RIB_IPV4_UNICAST: u16 = 2;
    /// RIB_IPV4_MULTICAST (RFC 6396 §4.3.2).
    pub const RIB_IPV4_MULTICAST: u16 = 3;
    /// RIB_IPV6_UNICAST (RFC 6396 §4.3.2).
    pub const RIB_IPV6_UNICAST: u16 = 4;
    /// RIB_IPV6_MULTICAST (RFC 6396 §4.3.2).
    pub const RIB_IPV6_MULTICAST: u16 = 5;
    /// RIB_GENERIC (RFC 6396 §4.3.3).
    pub const RIB_GENERIC: u16 = 6;
    /// RIB_IPV4_UNICAST_ADDPATH (RFC 8050 §4).
    pub const RIB_IPV4_UNICAST_ADDPATH: u16 = 8;
    /// RIB_IPV4_MULTICAST_ADDPATH (RFC 8050 §4).
    pub const RIB_IPV4_MULTICAST_ADDPATH: u16 = 9;
    /// RIB_IPV6_UNICAST_ADDPATH (RFC 8050 §4).
    pub const RIB_IPV6_UNICAST_ADDPATH: u16 = 10;
    /// RIB_IPV6_MULTICAST_ADDPATH (RFC 8050 §4).
    pub const RIB_IPV6_MULTICAST_ADDPATH: u16 = 11;
    /// RIB_GENERIC_ADDPATH (RFC 8050 §4).
    pub const RIB_GENERIC_ADDPATH: u16 = 12;
}

/// BGP4MP and BGP4MP_ET subtypes (RFC 6396 §4.4, RFC 8050 §3).
pub mod bgp4mp_subtype {
    /// BGP4MP_STATE_CHANGE (RFC 6396 §4.4.1): 2-octet AS numbers.
    pub const STATE_CHANGE: u16 = 0;
    /// BGP4MP_MESSAGE (RFC 6396 §4.4.2): 2-octet AS numbers.
    pub const MESSAGE: u16 = 1;
    /// BGP4MP_MESSAGE_AS4 (RFC 6396 §4.4.3).
    pub const MESSAGE_AS4: u16 = 4;
    /// BGP4MP_STATE_CHANGE_AS4 (RFC 6396 §4.4.4).
    pub const STATE_CHANGE_AS4: u16 = 5;
    /// BGP4MP_MESSAGE_LOCAL (RFC 6396 §4.4.5): a message the collector sent.
    pub const MESSAGE_LOCAL: u16 = 6;
    /// BGP4MP_MESSAGE_AS4_LOCAL (RFC 6396 §4.4.6).
    pub const MESSAGE_AS4_LOCAL: u16 = 7;
    /// BGP4MP_MESSAGE_ADDPATH (RFC 8050 §3).
    pub const MESSAGE_ADDPATH: u16 = 8;
    /// BGP4MP_MESSAGE_AS4_ADDPATH (RFC 8050 §3).
    pub const MESSAGE_AS4_ADDPATH: u16 = 9;
    /// BGP4MP_MESSAGE_LOCAL_ADDPATH (RFC 8050 §3).
    pub const MESSAGE_LOCAL_ADDPATH: u16 = 10;
    /// BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH (RFC 8050 §3).
    pub const MESSAGE_AS4_LOCAL_ADDPATH: u16 = 11;
}

/// Octets of the common header (RFC 6396 §2), without the BGP4MP_ET microseconds.
pub const MRT_HEADER_LEN: usize = 12;

/// The MRT common header (RFC 6396 §2), with the extended timestamp of `_ET` types (§3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MrtHeader {
    /// Seconds since the Unix epoch.
    pub timestamp: u32,
    /// RFC 6396 §3: the microsecond part of the timestamp, present for `_ET` types (which
    /// count these four octets in [`MrtHeader::length`]).
    pub microseconds: Option<u32>,
    /// The MRT type ([`mrt_type`]).
    pub mrt_type: u16,
    /// The subtype, whose meaning depends on the type.
    pub subtype: u16,
    /// The length field as recorded: octets after the 12-octet header, the microsecond field
    /// of `_ET` types included.
    pub length: u32,
}

impl MrtHeader {
    /// Octets of the header on the wire: 12, or 16 with the microsecond field.
    pub fn wire_len(&self) -> usize {
        MRT_HEADER_LEN + if self.microseconds.is_some() { 4 } else { 0 }
    }

    /// Octets of the message body (the length field without the microsecond field).
    pub fn body_len(&self) -> usize {
        let length = usize::try_from(self.length).unwrap_or(usize::MAX);
        if self.microseconds.is_some() {
            length.saturating_sub(4)
        } else {
            length
        }
    }

    /// Whether this record type carries the RFC 6396 §3 microsecond field (only BGP4MP_ET
    /// among the types RFC 6396 defines).
    pub fn type_has_microseconds(mrt_type: u16) -> bool {
        mrt_type == mrt_type::BGP4MP_ET
    }
}

/// One MRT record: the header and the decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrtRecord {
    /// The common header.
    pub header: MrtHeader,
    /// The body.
    pub body: MrtBody,
}

/// The body of an MRT record, by type and subtype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MrtBody {
    /// TABLE_DUMP (type 12, RFC 6396 §4.2): one route of one peer.
    TableDump(TableDumpEntry),
    /// TABLE_DUMP_V2 PEER_INDEX_TABLE (type 13 subtype 1, RFC 6396 §4.3.1).
    PeerIndexTable(PeerIndexTable),
    /// TABLE_DUMP_V2 RIB records (type 13 subtypes 2–6, RFC 6396 §4.3.2–§4.3.3, and the
    /// RFC 8050 ADD-PATH subtypes 8–12): one prefix and its routes from every peer.
    Rib(RibRecord),
    /// BGP4MP / BGP4MP_ET STATE_CHANGE and STATE_CHANGE_AS4 (RFC 6396 §4.4.1, §4.4.4), and
    /// the deprecated BGP_STATE_CHANGE (type 5, Appendix B.2.3).
    StateChange(StateChange),
    /// BGP4MP / BGP4MP_ET MESSAGE subtypes (RFC 6396 §4.4.2, §4.4.3, §4.4.5, §4.4.6 and the
    /// RFC 8050 §3 ADD-PATH subtypes): one BGP message; also the deprecated BGP_UPDATE
    /// (type 5, Appendix B.2.3).
    Message(Bgp4mpMessage),
    /// A type or subtype this crate does not decode (or a RIB_GENERIC record of a family
    /// whose NLRI it cannot delimit): the body as recorded.
    Raw(Bytes),
}

/// TABLE_DUMP (RFC 6396 §4.2): one route. AS numbers are two octets, and so is the AS_PATH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDumpEntry {
    /// View number (normally 0).
    pub view_number: u16,
    /// Sequence number (wraps at 65535).
    pub sequence: u16,
    /// The prefix (host bits cleared).
    pub prefix: IpNet,
    /// Status octet (unused, normally 1).
    pub status: u8,
    /// When the route was received, seconds since the Unix epoch.
    pub originated: u32,
    /// The peer's address (its family is the subtype's).
    pub peer_address: IpAddr,
    /// The peer's AS (2-octet field).
    pub peer_as: u16,
    /// Path attributes, decoded with 2-octet AS numbers.
    pub attributes: PathAttributes,
    /// RFC 7606 problems found in the attributes (empty for a clean entry).
    pub issues: Vec<UpdateIssue>,
}

/// PEER_INDEX_TABLE (RFC 6396 §4.3.1): the peers that the following RIB records index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIndexTable {
    /// The collector's BGP identifier.
    pub collector_id: Ipv4Addr,
    /// The view name (UTF-8; invalid sequences are replaced when reading).
    pub view_name: String,
    /// The peers, in index order.
    pub peers: Vec<PeerEntry>,
}

impl PeerIndexTable {
    /// The peer at `index` (the Peer Index of a RIB entry), if the table has one.
    pub fn peer(&self, index: u16) -> Option<&PeerEntry> {
        self.peers.get(usize::from(index))
    }
}

/// One peer of the PEER_INDEX_TABLE (RFC 6396 §4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerEntry {
    /// The peer's BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// The peer's address (Peer Type bit 0 gives its family).
    pub address: IpAddr,
    /// The peer's AS.
    pub asn: u32,
    /// Peer Type bit 1: the AS was recorded in four octets.
    pub four_octet_as: bool,
}

/// A TABLE_DUMP_V2 RIB record (RFC 6396 §4.3.2, §4.3.3; RFC 8050 §4): one prefix and the
/// routes to it, one entry per peer (or per path with ADD-PATH).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibRecord {
    /// The family: from the subtype, or from the AFI/SAFI fields of RIB_GENERIC.
    pub family: Family,
    /// Whether this is a RIB_GENERIC (or RIB_GENERIC_ADDPATH) record.
    pub generic: bool,
    /// RFC 8050: an ADD-PATH subtype, whose entries carry a path identifier.
    pub add_path: bool,
    /// The sequence number.
    pub sequence: u32,
    /// The prefix (host bits cleared).
    pub prefix: IpNet,
    /// The routes.
    pub entries: Vec<RibEntry>,
}

impl RibRecord {
    /// The TABLE_DUMP_V2 subtype this record is written as.
    pub fn subtype(&self) -> u16 {
        use table_dump_v2_subtype::*;
        let base = if self.generic {
            RIB_GENERIC
        } else {
            match (self.family.afi, self.family.safi) {
                (crate::family::AFI_IPV6, crate::family::SAFI_MULTICAST) => RIB_IPV6_MULTICAST,
                (crate::family::AFI_IPV6, _) => RIB_IPV6_UNICAST,
                (_, crate::family::SAFI_MULTICAST) => RIB_IPV4_MULTICAST,
                _ => RIB_IPV4_UNICAST,
            }
        };
        if self.add_path {
            base + 6
        } else {
            base
        }
    }
}

/// One RIB entry (RFC 6396 §4.3.4; RFC 8050 §4 adds the path identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibEntry {
    /// Index into the PEER_INDEX_TABLE.
    pub peer_index: u16,
    /// When the route was received, seconds since the Unix epoch.
    pub originated: u32,
    /// RFC 8050: the path identifier (ADD-PATH subtypes only).
    pub path_id: Option<u32>,
    /// Path attributes: always 4-octet AS numbers; MP_REACH_NLRI in the RFC 6396 §4.3.4
    /// abbreviated form (next hop only, family from the record).
    pub attributes: PathAttributes,
    /// RFC 7606 problems found in the attributes (empty for a clean entry).
    pub issues: Vec<UpdateIssue>,
}

/// The peering a BGP4MP record is about (RFC 6396 §4.4.1–§4.4.3): the peer's and the
/// collector's AS and address. Both addresses have the family of the Address Family field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bgp4mpPeer {
    /// The peer's AS.
    pub peer_as: u32,
    /// The collector's (local) AS.
    pub local_as: u32,
    /// Interface index (normally 0).
    pub interface_index: u16,
    /// The peer's address.
    pub peer_address: IpAddr,
    /// The collector's (local) address.
    pub local_address: IpAddr,
}

/// BGP4MP_STATE_CHANGE / _AS4 (RFC 6396 §4.4.1, §4.4.4): a session's FSM changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateChange {
    /// The peering.
    pub peer: Bgp4mpPeer,
    /// Whether the AS numbers were recorded in four octets (STATE_CHANGE_AS4).
    pub four_octet_as: bool,
    /// The old state (RFC 6396 §4.4.1: 1 Idle, 2 Connect, 3 Active, 4 OpenSent,
    /// 5 OpenConfirm, 6 Established).
    pub old_state: u16,
    /// The new state.
    pub new_state: u16,
}

/// A BGP4MP MESSAGE record of any subtype (RFC 6396 §4.4.2, §4.4.3, §4.4.5, §4.4.6;
/// RFC 8050 §3): one BGP message the collector received (or sent, for `_LOCAL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bgp4mpMessage {
    /// The peering.
    pub peer: Bgp4mpPeer,
    /// The AS numbers of the record and of the message's AS_PATH/AGGREGATOR are four octets
    /// (the `_AS4` subtypes).
    pub four_octet_as: bool,
    /// The collector sent this message (the `_LOCAL` subtypes).
    pub local: bool,
    /// RFC 8050: NLRI carry ADD-PATH path identifiers (the `_ADDPATH` subtypes).
    pub add_path: bool,
    /// The decoded message.
    pub message: Message,
    /// The message as recorded, marker included (for a type 5 BGP_UPDATE, which records the
    /// UPDATE without its header, with a header put in front).
    pub raw: Bytes,
}

impl Bgp4mpMessage {
    /// The BGP4MP subtype matching the flags.
    pub fn subtype(&self) -> u16 {
        use bgp4mp_subtype::*;
        match (self.four_octet_as, self.local, self.add_path) {
            (false, false, false) => MESSAGE,
            (true, false, false) => MESSAGE_AS4,
            (false, true, false) => MESSAGE_LOCAL,
            (true, true, false) => MESSAGE_AS4_LOCAL,
            (false, false, true) => MESSAGE_ADDPATH,
            (true, false, true) => MESSAGE_AS4_ADDPATH,
            (false, true, true) => MESSAGE_LOCAL_ADDPATH,
            (true, true, true) => MESSAGE_AS4_LOCAL_ADDPATH,
        }
    }

    /// The session context the message was decoded with: the subtype's AS width, ADD-PATH
    /// for every family with the `_ADDPATH` subtypes, extended messages allowed, and iBGP
    /// rules (so LOCAL_PREF is kept) without a first-AS check.
    pub fn context(four_octet_as: bool, add_path: bool) -> crate::SessionContext {
        crate::SessionContext {
            four_octet_as,
            add_path: if add_path {
                crate::FamilySet::ALL
            } else {
                crate::FamilySet::EMPTY
            },
            extended_message: true,
            ibgp: true,
            enforce_first_as: None,
        }
    }
}
