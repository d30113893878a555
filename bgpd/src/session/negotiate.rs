//! Capability negotiation (RFC 5492) and the OPEN checks that need configuration
//! (RFC 4271 §6.2).
//!
//! [`negotiate`] takes our OPEN and the peer's and works out what the session uses: hold time
//! and keepalive interval, 4-octet AS, families, ADD-PATH per direction, route refresh,
//! extended messages and next hops, and what the peer said about graceful restart. The
//! result gives the [`SessionContext`] for decoding and for encoding.
//!
//! [`check_open`] holds the checks the codec cannot make because they need configuration:
//! the peer's AS, its identifier against ours, and our minimum hold time. The codec already
//! rejects version other than 4, AS 0, identifier 0 and hold time 1 or 2; they are checked
//! again here so an [`Open`] built in memory gets the same answer.
//!
//! Nothing here panics, for any pair of OPENs.

use bgp_proto::{
    notification_code, open_subcode, AddPathMode, Capability, Family, FamilySet, Notification,
    Open, SessionContext,
};
use std::net::Ipv4Addr;

/// One family of the peer's graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RestartFamily {
    /// The family.
    pub family: Family,
    /// F bit: the peer kept its forwarding state for this family across its restart.
    pub forwarding_preserved: bool,
}

/// What the peer announced in its graceful restart capability (RFC 4724 §3, RFC 8538 §2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerGracefulRestart {
    /// Restart time in seconds: how long to keep its routes while it comes back (0–4095).
    pub restart_time: u16,
    /// R bit: the peer has just restarted (RFC 4724 §3 "Restart State").
    pub restarting: bool,
    /// N bit: the peer also does graceful restart after a NOTIFICATION or a hold timer
    /// expiry (RFC 8538 §2).
    pub notification: bool,
    /// Families for which the peer preserves state. Empty: the peer only helps others restart.
    pub families: Vec<RestartFamily>,
}

impl PeerGracefulRestart {
    /// R bit in the 4-bit flags field of the capability.
    const RESTART_STATE: u8 = 0x8;
    /// N bit in the 4-bit flags field (RFC 8538 §2).
    const NOTIFICATION: u8 = 0x4;
    /// F bit in a family's flags octet.
    const FORWARDING_PRESERVED: u8 = 0x80;

    /// Reads a graceful restart capability; `None` for any other capability.
    pub fn from_capability(capability: &Capability) -> Option<Self> {
        let Capability::GracefulRestart {
            flags,
            restart_time,
            families,
        } = capability
        else {
            return None;
        };
        Some(PeerGracefulRestart {
            restart_time: *restart_time,
            restarting: flags & Self::RESTART_STATE != 0,
            notification: flags & Self::NOTIFICATION != 0,
            families: families
                .iter()
                .map(|f| RestartFamily {
                    family: f.family,
                    forwarding_preserved: f.flags & Self::FORWARDING_PRESERVED != 0,
                })
                .collect(),
        })
    }
}

/// One family of the peer's long-lived graceful restart capability (RFC 9494 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LongLivedRestartFamily {
    /// The family.
    pub family: Family,
    /// F bit: forwarding state preserved for this family.
    pub forwarding_preserved: bool,
    /// How long to keep the peer's routes as long-lived stale, in seconds (24 bits).
    pub stale_time: u32,
}

/// What the peer announced in its long-lived graceful restart capability (RFC 9494 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerLongLivedGracefulRestart {
    /// Families with their long-lived stale time.
    pub families: Vec<LongLivedRestartFamily>,
}

impl PeerLongLivedGracefulRestart {
    /// Reads a long-lived graceful restart capability; `None` for any other capability.
    pub fn from_capability(capability: &Capability) -> Option<Self> {
        let Capability::LongLivedGracefulRestart(families) = capability else {
            return None;
        };
        Some(PeerLongLivedGracefulRestart {
            families: families
                .iter()
                .map(|f| LongLivedRestartFamily {
                    family: f.family,
                    forwarding_preserved: f.flags & PeerGracefulRestart::FORWARDING_PRESERVED != 0,
                    stale_time: f.stale_time,
                })
                .collect(),
        })
    }
}

/// What a session uses, worked out from both OPENs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The OPEN we sent.
    pub local_open: Open,
    /// The OPEN the peer sent.
    pub peer_open: Open,
    /// The peer's AS: its 4-octet-AS capability, else "My Autonomous System" (RFC 6793 §4.1).
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// The smaller of both proposed hold times, in seconds (RFC 4271 §4.2). 0: no hold timer
    /// and no keepalives.
    pub hold_time: u16,
    /// Seconds between our KEEPALIVEs: a third of the hold time (at least 1), or the
    /// configured keepalive if it is smaller; 0 when the hold time is 0 (RFC 4271 §4.4, §10).
    pub keepalive_interval: u16,
    /// Both sides announced the 4-octet-AS capability (RFC 6793 §3).
    pub four_octet_as: bool,
    /// Families both sides announced, in the order of our OPEN. A side that announced no
    /// multiprotocol capability at all counts as announcing IPv4 unicast only (RFC 4760 §8,
    /// RFC 4271 NLRI field).
    pub families: Vec<Family>,
    /// Families whose NLRI we receive with path identifiers: we announced receive (or both)
    /// and the peer send (or both) (RFC 7911 §4). Only negotiated families.
    pub add_path_receive: FamilySet,
    /// Families whose NLRI we send with path identifiers: we announced send (or both) and
    /// the peer receive (or both) (RFC 7911 §4). Only negotiated families.
    pub add_path_send: FamilySet,
    /// Both sides announced route refresh (RFC 2918 §2).
    pub route_refresh: bool,
    /// Both sides announced enhanced route refresh (RFC 7313 §3).
    pub enhanced_route_refresh: bool,
    /// Both sides announced extended messages (RFC 8654 §3).
    pub extended_message: bool,
    /// Extended next hop entries (NLRI AFI, NLRI SAFI, next-hop AFI) both sides announced
    /// (RFC 8950 §3).
    pub extended_next_hop: Vec<(u16, u16, u16)>,
    /// The peer's graceful restart capability, if it sent one (the first, if several).
    pub peer_graceful_restart: Option<PeerGracefulRestart>,
    /// The peer's long-lived graceful restart capability, if it sent one (the first, if
    /// several). Kept as received: RFC 9494 expects it next to graceful restart, and acting
    /// on it is up to the RIB.
    pub peer_llgr: Option<PeerLongLivedGracefulRestart>,
}

impl Negotiated {
    /// Whether the session is iBGP: the peer is in our AS.
    pub fn is_ibgp(&self) -> bool {
        self.local_open.asn() == self.peer_as
    }

    /// The context for decoding what the peer sends. `enforce_first_as` is the AS the
    /// leftmost AS_PATH segment must start with (RFC 4271 §6.3); it is ignored when `ibgp`.
    /// Messages up to 65535 octets are accepted as soon as we announced extended messages,
    /// whether or not the peer did (RFC 8654 §3: who announces it must be able to receive).
    pub fn receive_context(&self, ibgp: bool, enforce_first_as: Option<u32>) -> SessionContext {
        SessionContext {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_receive,
            extended_message: announced(&self.local_open, |c| {
                matches!(c, Capability::ExtendedMessage)
            }),
            ibgp,
            enforce_first_as: if ibgp { None } else { enforce_first_as },
        }
    }

    /// The context for encoding what we send: extended messages only when both announced them.
    pub fn send_context(&self, ibgp: bool) -> SessionContext {
        SessionContext {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_send,
            extended_message: self.extended_message,
            ibgp,
            enforce_first_as: None,
        }
    }
}

/// Works out what a session uses from our OPEN (`local`) and the peer's. `configured_keepalive`
/// is the keepalive interval from the configuration, used when smaller than a third of the
/// hold time (`Some(0)` counts as not configured: a running hold timer needs keepalives).
pub fn negotiate(local: &Open, peer: &Open, configured_keepalive: Option<u16>) -> Negotiated {
    // RFC 4271 §4.2: the smaller of both hold times; 0 disables hold timer and keepalives.
    let hold_time = local.hold_time.min(peer.hold_time);
    let both = |test: fn(&Capability) -> bool| announced(local, test) && announced(peer, test);
    let local_families = announced_families(local);
    let peer_families = announced_families(peer);
    let families: Vec<Family> = local_families
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();
    let local_add_path = add_path_modes(local);
    let peer_add_path = add_path_modes(peer);
    let mut add_path_receive = FamilySet::EMPTY;
    let mut add_path_send = FamilySet::EMPTY;
    for family in &families {
        let mode = |modes: &[(Family, AddPathMode)]| {
            modes
                .iter()
                .find(|(f, _)| f == family)
                .map(|(_, m)| *m)
                .unwrap_or(AddPathMode::Other(0))
        };
        let (ours, theirs) = (mode(&local_add_path), mode(&peer_add_path));
        // RFC 7911 §4: receive when we can receive and the peer can send, and vice versa.
        if ours.can_receive() && theirs.can_send() {
            add_path_receive.insert(*family);
        }
        if ours.can_send() && theirs.can_receive() {
            add_path_send.insert(*family);
        }
    }
    let peer_next_hops = extended_next_hops(peer);
    Negotiated {
        local_open: local.clone(),
        peer_open: peer.clone(),
        peer_as: peer.asn(),
        peer_id: peer.bgp_id,
        hold_time,
        keepalive_interval: keepalive_interval(hold_time, configured_keepalive),
        four_octet_as: both(|c| matches!(c, Capability::FourOctetAs(_))),
        families,
        add_path_receive,
        add_path_send,
        route_refresh: both(|c| matches!(c, Capability::RouteRefresh)),
        enhanced_route_refresh: both(|c| matches!(c, Capability::EnhancedRouteRefresh)),
        extended_message: both(|c| matches!(c, Capability::ExtendedMessage)),
        extended_next_hop: extended_next_hops(local)
            .into_iter()
            .filter(|e| peer_next_hops.contains(e))
            .collect(),
        peer_graceful_restart: peer
            .capabilities()
            .find_map(PeerGracefulRestart::from_capability),
        peer_llgr: peer
            .capabilities()
            .find_map(PeerLongLivedGracefulRestart::from_capability),
    }
}

/// RFC 4271 §4.4 and §10: a third of the hold time, at least one second, or the configured
/// interval when smaller; 0 when the hold time is 0.
fn keepalive_interval(hold_time: u16, configured: Option<u16>) -> u16 {
    if hold_time == 0 {
        return 0;
    }
    let third = (hold_time / 3).max(1);
    match configured {
        Some(k) if k > 0 => k.min(third),
        _ => third,
    }
}

fn announced(open: &Open, test: fn(&Capability) -> bool) -> bool {
    open.capabilities().any(test)
}

/// The families a speaker announced, without repeats; IPv4 unicast when it announced none
/// (a speaker without RFC 4760 carries IPv4 unicast in the NLRI field).
fn announced_families(open: &Open) -> Vec<Family> {
    let mut families = Vec::new();
    for capability in open.capabilities() {
        if let Capability::Multiprotocol(f) = capability {
            if !families.contains(f) {
                families.push(*f);
            }
        }
    }
    if families.is_empty() {
        families.push(Family::IPV4_UNICAST);
    }
    families
}

/// ADD-PATH mode per family; the first entry for a family counts.
fn add_path_modes(open: &Open) -> Vec<(Family, AddPathMode)> {
    let mut modes: Vec<(Family, AddPathMode)> = Vec::new();
    for capability in open.capabilities() {
        if let Capability::AddPath(entries) = capability {
            for (family, mode) in entries {
                if !modes.iter().any(|(f, _)| f == family) {
                    modes.push((*family, *mode));
                }
            }
        }
    }
    modes
}

fn extended_next_hops(open: &Open) -> Vec<(u16, u16, u16)> {
    open.capabilities()
        .filter_map(|c| match c {
            Capability::ExtendedNextHop(entries) => Some(entries.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Why a peer's OPEN is refused (RFC 4271 §6.2). [`OpenError::notification`] gives the
/// NOTIFICATION to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Version other than 4: 2/1, with 4 as the largest version we support in the data.
    #[error("unsupported BGP version {version} (only 4 is supported)")]
    UnsupportedVersion {
        /// The version the peer sent.
        version: u8,
    },
    /// 2/2: the peer's AS is 0 (RFC 7607) or not the configured one.
    #[error("peer AS {received} does not match the configured peer AS {expected}")]
    BadPeerAs {
        /// The AS in the peer's OPEN (4-octet-AS capability, else "My Autonomous System").
        received: u32,
        /// The configured peer AS.
        expected: u32,
    },
    /// 2/3: the identifier is 0, or the same as ours on an iBGP session (RFC 6286 §2.2).
    #[error("bad BGP identifier {identifier} ({})", if identifier.is_unspecified() { "0 is not allowed" } else { "same as ours on an iBGP session" })]
    BadBgpIdentifier {
        /// The identifier the peer sent.
        identifier: Ipv4Addr,
    },
    /// 2/6: a hold time of 1 or 2 seconds, or below our configured minimum.
    #[error("unacceptable hold time {hold_time} (must be 0 or >= {minimum} seconds)")]
    UnacceptableHoldTime {
        /// The hold time the peer proposed.
        hold_time: u16,
        /// The smallest non-zero hold time we accept.
        minimum: u16,
    },
}

impl OpenError {
    /// The NOTIFICATION to send (RFC 4271 §6.2).
    pub fn notification(&self) -> Notification {
        let subcode = match self {
            OpenError::UnsupportedVersion { .. } => {
                // RFC 4271 §6.2: the data holds the largest locally supported version.
                return Notification {
                    code: notification_code::OPEN_MESSAGE_ERROR,
                    subcode: open_subcode::UNSUPPORTED_VERSION_NUMBER,
                    data: bytes::Bytes::from_static(&[0, 4]),
                };
            }
            OpenError::BadPeerAs { .. } => open_subcode::BAD_PEER_AS,
            OpenError::BadBgpIdentifier { .. } => open_subcode::BAD_BGP_IDENTIFIER,
            OpenError::UnacceptableHoldTime { .. } => open_subcode::UNACCEPTABLE_HOLD_TIME,
        };
        Notification::new(notification_code::OPEN_MESSAGE_ERROR, subcode)
    }
}

/// Checks the peer's OPEN against ours and the configuration (RFC 4271 §6.2), in the order
/// of the RFC: version, AS, identifier, hold time.
///
/// - the AS must be `expected_peer_as` and not 0 (2/2);
/// - the identifier must not be 0, nor ours when the peer is in our AS (2/3, RFC 6286 §2.2);
/// - a non-zero hold time must be at least 3 seconds and at least `min_hold_time` (2/6).
pub fn check_open(
    peer: &Open,
    local: &Open,
    expected_peer_as: u32,
    min_hold_time: u16,
) -> Result<(), OpenError> {
    if peer.version != 4 {
        return Err(OpenError::UnsupportedVersion {
            version: peer.version,
        });
    }
    let received = peer.asn();
    if received == 0 || received != expected_peer_as {
        return Err(OpenError::BadPeerAs {
            received,
            expected: expected_peer_as,
        });
    }
    let ibgp = local.asn() == received;
    if peer.bgp_id.is_unspecified() || (ibgp && peer.bgp_id == local.bgp_id) {
        return Err(OpenError::BadBgpIdentifier {
            identifier: peer.bgp_id,
        });
    }
    let minimum = min_hold_time.max(3);
    if peer.hold_time != 0 && peer.hold_time < minimum {
        return Err(OpenError::UnacceptableHoldTime {
            hold_time: peer.hold_time,
            minimum,
        });
    }
    Ok(())
}
