//! Shared by the fuzz targets: the session context an input runs in.
//!
//! Every target reads its first input byte as a set of flags picking the [`SessionContext`],
//! so one corpus covers 4-octet and 2-octet AS sessions, ADD-PATH, extended messages, iBGP
//! and first-AS enforcement. The seeds under `seeds/<target>/` use the same layout.

use bgp_proto::{Family, FamilySet, SessionContext};

/// Bit 0 of the context byte: 4-octet AS numbers (RFC 6793).
pub const FOUR_OCTET_AS: u8 = 0x01;
/// Bit 1: extended messages up to 65535 octets (RFC 8654).
pub const EXTENDED_MESSAGE: u8 = 0x02;
/// Bit 2: iBGP.
pub const IBGP: u8 = 0x04;
/// Bit 3: ADD-PATH for IPv4 unicast (RFC 7911).
pub const ADD_PATH_IPV4: u8 = 0x08;
/// Bit 4: ADD-PATH for IPv6 unicast.
pub const ADD_PATH_IPV6: u8 = 0x10;
/// Bit 5: ADD-PATH for IPv4 and IPv6 multicast.
pub const ADD_PATH_MULTICAST: u8 = 0x20;
/// Bit 6: enforce first AS 65001 in AS_PATH (eBGP peer AS).
pub const ENFORCE_FIRST_AS: u8 = 0x40;

/// The context the byte `selector` names.
pub fn context(selector: u8) -> SessionContext {
    let mut add_path = FamilySet::EMPTY;
    if selector & ADD_PATH_IPV4 != 0 {
        add_path.insert(Family::IPV4_UNICAST);
    }
    if selector & ADD_PATH_IPV6 != 0 {
        add_path.insert(Family::IPV6_UNICAST);
    }
    if selector & ADD_PATH_MULTICAST != 0 {
        add_path.insert(Family::IPV4_MULTICAST);
        add_path.insert(Family::IPV6_MULTICAST);
    }
    SessionContext {
        four_octet_as: selector & FOUR_OCTET_AS != 0,
        add_path,
        extended_message: selector & EXTENDED_MESSAGE != 0,
        ibgp: selector & IBGP != 0,
        enforce_first_as: (selector & ENFORCE_FIRST_AS != 0).then_some(65001),
    }
}

/// Splits a fuzz input into its context and the bytes to decode.
pub fn split(data: &[u8]) -> (SessionContext, &[u8]) {
    match data.split_first() {
        Some((selector, rest)) => (context(*selector), rest),
        None => (context(FOUR_OCTET_AS), data),
    }
}
