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

impl PeerGracefulRestart {
    /// The families whose routes a helper keeps as stale when this peer's session drops:
    /// exactly those listed in its capability (RFC 4724 §4.2). A peer that lists none (FRR's
    /// default "helper only" mode) keeps nothing: its routes are withdrawn at once.
    pub fn kept_families(&self) -> FamilySet {
        let mut set = FamilySet::EMPTY;
        for f in &self.families {
            set.insert(f.family);
        }
        set
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use bgp_proto::{GracefulRestartFamily, LongLivedFamily, Message, MARKER};

    const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
    const VMX_ID: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    fn open(asn: u32, hold: u16, capabilities: Vec<Capability>) -> Open {
        Open::new(asn, hold, LOCAL_ID, capabilities)
    }

    fn peer(asn: u32, hold: u16, capabilities: Vec<Capability>) -> Open {
        Open::new(asn, hold, VMX_ID, capabilities)
    }

    fn mp(family: Family) -> Capability {
        Capability::Multiprotocol(family)
    }

    #[test]
    fn hold_time_is_the_smaller_and_keepalive_a_third() {
        let cases: &[(u16, u16, Option<u16>, u16, u16)] = &[
            // ours, theirs, configured keepalive → hold, keepalive
            (90, 240, None, 90, 30), // vMX against BIRD's default
            (240, 90, None, 90, 30),
            (90, 0, None, 0, 0), // 0 wins: no keepalives at all
            (0, 90, Some(10), 0, 0),
            (90, 90, Some(10), 90, 10), // configured and smaller
            (90, 90, Some(60), 90, 30), // configured but larger than a third
            (90, 90, Some(0), 90, 30),  // 0 would starve the peer's hold timer
            (3, 3, None, 3, 1),
            (4, 180, None, 4, 1),
        ];
        for &(ours, theirs, configured, hold, keepalive) in cases {
            let n = negotiate(
                &open(64513, ours, vec![]),
                &peer(64512, theirs, vec![]),
                configured,
            );
            assert_eq!(
                (n.hold_time, n.keepalive_interval),
                (hold, keepalive),
                "ours {ours} theirs {theirs} configured {configured:?}"
            );
        }
    }

    #[test]
    fn four_octet_as_needs_both() {
        let four = |asn| vec![Capability::FourOctetAs(asn)];
        let n = negotiate(
            &open(64513, 90, four(64513)),
            &peer(64512, 90, four(64512)),
            None,
        );
        assert!(n.four_octet_as);
        assert_eq!(n.peer_as, 64512);
        assert!(n.receive_context(false, None).four_octet_as);
        // A 2-octet speaker (no capability 65).
        let n = negotiate(
            &open(64513, 90, four(64513)),
            &peer(64512, 90, vec![]),
            None,
        );
        assert!(!n.four_octet_as);
        assert_eq!(n.peer_as, 64512);
        assert!(!n.send_context(false).four_octet_as);
        // A 4-octet AS: AS_TRANS in "My Autonomous System", the real AS in the capability.
        let big = peer(4_200_000_000, 90, four(4_200_000_000));
        assert_eq!(big.my_as, 23456);
        let n = negotiate(&open(64513, 90, four(64513)), &big, None);
        assert_eq!(n.peer_as, 4_200_000_000);
        assert!(n.four_octet_as);
    }

    #[test]
    fn families_are_the_intersection_with_ipv4_unicast_implied() {
        let v4 = Family::IPV4_UNICAST;
        let v6 = Family::IPV6_UNICAST;
        let cases: Vec<(Vec<Capability>, Vec<Capability>, Vec<Family>)> = vec![
            // RFC 4760 §8: neither side sent a multiprotocol capability.
            (vec![], vec![], vec![v4]),
            (vec![mp(v4), mp(v6)], vec![mp(v6), mp(v4)], vec![v4, v6]),
            (vec![mp(v6), mp(v4)], vec![mp(v4), mp(v6)], vec![v6, v4]),
            (vec![mp(v4), mp(v6)], vec![mp(v6)], vec![v6]),
            // The MetalLB native speaker or an old speaker: no capability means IPv4 unicast.
            (vec![mp(v4), mp(v6)], vec![], vec![v4]),
            (vec![mp(v6)], vec![], vec![]),
            (vec![mp(v4), mp(v4)], vec![mp(v4)], vec![v4]),
            (
                vec![mp(Family::new(25, 70))],
                vec![mp(Family::new(25, 70))],
                vec![Family::new(25, 70)],
            ),
        ];
        for (ours, theirs, expected) in cases {
            let n = negotiate(
                &open(64513, 90, ours.clone()),
                &peer(64512, 90, theirs.clone()),
                None,
            );
            assert_eq!(n.families, expected, "ours {ours:?} theirs {theirs:?}");
        }
    }

    #[test]
    fn add_path_directions_matrix() {
        // RFC 7911 §4: every pair of modes, with "not announced" and an invalid mode.
        let modes = [
            None,
            Some(AddPathMode::Receive),
            Some(AddPathMode::Send),
            Some(AddPathMode::Both),
            Some(AddPathMode::Other(7)),
        ];
        let v4 = Family::IPV4_UNICAST;
        let caps = |mode: Option<AddPathMode>| {
            let mut c = vec![mp(v4)];
            if let Some(m) = mode {
                c.push(Capability::AddPath(vec![(v4, m)]));
            }
            c
        };
        for ours in modes {
            for theirs in modes {
                let n = negotiate(
                    &open(64513, 90, caps(ours)),
                    &peer(64513, 90, caps(theirs)),
                    None,
                );
                let receive =
                    ours.is_some_and(|m| m.can_receive()) && theirs.is_some_and(|m| m.can_send());
                let send =
                    ours.is_some_and(|m| m.can_send()) && theirs.is_some_and(|m| m.can_receive());
                assert_eq!(
                    n.add_path_receive.contains(v4),
                    receive,
                    "{ours:?}/{theirs:?}"
                );
                assert_eq!(n.add_path_send.contains(v4), send, "{ours:?}/{theirs:?}");
                assert_eq!(n.receive_context(true, None).add_path, n.add_path_receive);
                assert_eq!(n.send_context(true).add_path, n.add_path_send);
            }
        }
        // Concrete: we (route server) send and receive, Calico receives and sends: both ways.
        let n = negotiate(
            &open(64513, 90, caps(Some(AddPathMode::Both))),
            &peer(64513, 90, caps(Some(AddPathMode::Both))),
            None,
        );
        assert_eq!(n.add_path_receive, FamilySet::of(&[v4]));
        assert_eq!(n.add_path_send, FamilySet::of(&[v4]));
    }

    #[test]
    fn add_path_only_for_negotiated_families() {
        let v4 = Family::IPV4_UNICAST;
        let v6 = Family::IPV6_UNICAST;
        let both = |f| Capability::AddPath(vec![(f, AddPathMode::Both)]);
        // The peer announced ADD-PATH for IPv6 but not the IPv6 family itself.
        let n = negotiate(
            &open(64513, 90, vec![mp(v4), mp(v6), both(v4), both(v6)]),
            &peer(64513, 90, vec![mp(v4), both(v4), both(v6)]),
            None,
        );
        assert_eq!(n.families, vec![v4]);
        assert_eq!(n.add_path_receive, FamilySet::of(&[v4]));
        assert_eq!(n.add_path_send, FamilySet::of(&[v4]));
        // The first entry for a family counts.
        let n = negotiate(
            &open(
                64513,
                90,
                vec![
                    mp(v4),
                    Capability::AddPath(vec![(v4, AddPathMode::Receive), (v4, AddPathMode::Send)]),
                ],
            ),
            &peer(64513, 90, vec![mp(v4), both(v4)]),
            None,
        );
        assert_eq!(n.add_path_receive, FamilySet::of(&[v4]));
        assert_eq!(n.add_path_send, FamilySet::EMPTY);
    }

    #[test]
    fn extended_message_per_direction() {
        let ext = || vec![Capability::ExtendedMessage];
        let n = negotiate(&open(64513, 90, ext()), &peer(64512, 90, ext()), None);
        assert!(n.extended_message);
        assert!(n.receive_context(false, None).extended_message);
        assert!(n.send_context(false).extended_message);
        // Only we announced it: we must accept large messages, but we send small ones.
        let n = negotiate(&open(64513, 90, ext()), &peer(64512, 90, vec![]), None);
        assert!(!n.extended_message);
        assert!(n.receive_context(false, None).extended_message);
        assert!(!n.send_context(false).extended_message);
        // Only the peer announced it.
        let n = negotiate(&open(64513, 90, vec![]), &peer(64512, 90, ext()), None);
        assert!(!n.extended_message);
        assert!(!n.receive_context(false, None).extended_message);
        assert!(!n.send_context(false).extended_message);
    }

    #[test]
    fn refresh_next_hop_and_contexts() {
        let ours = vec![
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedNextHop(vec![(1, 1, 2), (1, 128, 2)]),
        ];
        let theirs = vec![
            Capability::RouteRefresh,
            Capability::ExtendedNextHop(vec![(1, 1, 2), (1, 2, 2)]),
        ];
        let n = negotiate(&open(64513, 90, ours), &peer(64512, 90, theirs), None);
        assert!(n.route_refresh);
        assert!(!n.enhanced_route_refresh);
        assert_eq!(n.extended_next_hop, vec![(1, 1, 2)]);
        assert!(!n.is_ibgp());
        let receive = n.receive_context(false, Some(64512));
        assert_eq!(receive.enforce_first_as, Some(64512));
        assert!(!receive.ibgp);
        // iBGP: no first-AS check (RFC 4271 §6.3 applies to external peers).
        let receive = n.receive_context(true, Some(64512));
        assert_eq!(receive.enforce_first_as, None);
        assert!(receive.ibgp);
        assert_eq!(n.send_context(true).enforce_first_as, None);
    }

    /// A whole OPEN message on the wire: header, fixed fields, then the optional parameters
    /// exactly as given.
    fn open_message(my_as: u16, hold: u16, id: [u8; 4], params: &[&[u8]]) -> Vec<u8> {
        let params: Vec<u8> = params.concat();
        let mut m = MARKER.to_vec();
        let length = 19 + 10 + params.len();
        m.extend_from_slice(&(length as u16).to_be_bytes());
        m.push(1);
        m.push(4);
        m.extend_from_slice(&my_as.to_be_bytes());
        m.extend_from_slice(&hold.to_be_bytes());
        m.extend_from_slice(&id);
        m.push(params.len() as u8);
        m.extend_from_slice(&params);
        m
    }

    fn decode_open(bytes: &[u8]) -> Open {
        match Message::decode(bytes, &bgp_proto::SessionContext::default()).unwrap() {
            Message::Open(o) => o,
            other => panic!("not an OPEN: {other:?}"),
        }
    }

    #[test]
    fn graceful_restart_from_a_bird_like_open() {
        // Calico's BIRD: one parameter with every capability; hold time 240; restart time
        // 120 with the R bit (it has just restarted) and the F bit for IPv4 unicast;
        // ADD-PATH receive/send; enhanced route refresh.
        let bytes = open_message(
            64513,
            240,
            [198, 51, 100, 11],
            &[&[
                2, 30, //
                1, 4, 0, 1, 0, 1, // multiprotocol IPv4 unicast
                2, 0, // route refresh
                64, 6, 0x80, 120, 0, 1, 1, 0x80, // graceful restart R, 120 s, IPv4 unicast F
                65, 4, 0, 0, 0xfc, 0x01, // 4-octet AS 64513
                69, 4, 0, 1, 1, 3, // ADD-PATH IPv4 unicast send/receive
                70, 0, // enhanced route refresh
            ]],
        );
        let bird = decode_open(&bytes);
        let ours = Open::new(
            64513,
            90,
            LOCAL_ID,
            vec![
                mp(Family::IPV4_UNICAST),
                Capability::RouteRefresh,
                Capability::GracefulRestart {
                    flags: 0,
                    restart_time: 120,
                    families: vec![],
                },
                Capability::FourOctetAs(64513),
                Capability::AddPath(vec![(Family::IPV4_UNICAST, AddPathMode::Both)]),
            ],
        );
        assert_eq!(check_open(&bird, &ours, 64513, 3), Ok(()));
        let n = negotiate(&ours, &bird, None);
        assert_eq!(n.peer_as, 64513);
        assert!(n.is_ibgp());
        assert_eq!(n.peer_id, Ipv4Addr::new(198, 51, 100, 11));
        assert_eq!((n.hold_time, n.keepalive_interval), (90, 30));
        assert_eq!(
            n.peer_graceful_restart,
            Some(PeerGracefulRestart {
                restart_time: 120,
                restarting: true,
                notification: false,
                families: vec![RestartFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding_preserved: true
                }],
            })
        );
        assert_eq!(n.peer_llgr, None);
        assert!(n.route_refresh && !n.enhanced_route_refresh);
        assert_eq!(n.add_path_receive, FamilySet::of(&[Family::IPV4_UNICAST]));
        assert_eq!(n.add_path_send, FamilySet::of(&[Family::IPV4_UNICAST]));
    }

    #[test]
    fn graceful_restart_from_a_gobgp_like_open() {
        // GoBGP: one parameter per capability; graceful restart with the N bit (RFC 8538),
        // 90 s; long-lived graceful restart 3600 s; FQDN and software version, which must be
        // tolerated.
        let bytes = open_message(
            64512,
            90,
            [198, 51, 100, 1],
            &[
                &[2, 6, 1, 4, 0, 1, 0, 1],
                &[2, 6, 1, 4, 0, 2, 0, 1],
                &[2, 2, 2, 0],
                &[2, 6, 65, 4, 0, 0, 0xfc, 0x00],
                &[2, 12, 64, 10, 0x40, 90, 0, 1, 1, 0x80, 0, 2, 1, 0],
                &[
                    2, 16, 71, 14, 0, 1, 1, 0x80, 0, 0x0e, 0x10, 0, 2, 1, 0, 0, 0, 60,
                ],
                &[2, 9, 73, 7, 5, b'g', b'o', b'b', b'g', b'p', 0],
                &[2, 8, 75, 6, 5, b'3', b'.', b'3', b'0', b'0'],
            ],
        );
        let gobgp = decode_open(&bytes);
        let ours = Open::new(
            64513,
            90,
            LOCAL_ID,
            vec![mp(Family::IPV4_UNICAST), Capability::FourOctetAs(64513)],
        );
        assert_eq!(check_open(&gobgp, &ours, 64512, 3), Ok(()));
        let n = negotiate(&ours, &gobgp, Some(10));
        assert_eq!((n.hold_time, n.keepalive_interval), (90, 10));
        assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
        assert!(n.four_octet_as);
        assert!(!n.route_refresh, "we did not announce route refresh");
        let gr = n.peer_graceful_restart.unwrap();
        assert_eq!(gr.restart_time, 90);
        assert!(!gr.restarting && gr.notification);
        assert_eq!(
            gr.families,
            vec![
                RestartFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding_preserved: true
                },
                RestartFamily {
                    family: Family::IPV6_UNICAST,
                    forwarding_preserved: false
                },
            ]
        );
        assert_eq!(
            n.peer_llgr,
            Some(PeerLongLivedGracefulRestart {
                families: vec![
                    LongLivedRestartFamily {
                        family: Family::IPV4_UNICAST,
                        forwarding_preserved: true,
                        stale_time: 3600
                    },
                    LongLivedRestartFamily {
                        family: Family::IPV6_UNICAST,
                        forwarding_preserved: false,
                        stale_time: 60
                    },
                ]
            })
        );
    }

    #[test]
    fn restart_capabilities_read_only_their_own_kind() {
        assert_eq!(
            PeerGracefulRestart::from_capability(&Capability::RouteRefresh),
            None
        );
        assert_eq!(
            PeerLongLivedGracefulRestart::from_capability(&Capability::RouteRefresh),
            None
        );
        let llgr = Capability::LongLivedGracefulRestart(vec![LongLivedFamily {
            family: Family::IPV6_UNICAST,
            flags: 0x80,
            stale_time: 0xff_ffff,
        }]);
        let parsed = PeerLongLivedGracefulRestart::from_capability(&llgr).unwrap();
        assert_eq!(parsed.families[0].stale_time, 0xff_ffff);
        assert!(parsed.families[0].forwarding_preserved);
        // A helper only: no families.
        let helper = Capability::GracefulRestart {
            flags: 0,
            restart_time: 0,
            families: vec![],
        };
        let parsed = PeerGracefulRestart::from_capability(&helper).unwrap();
        assert!(parsed.families.is_empty() && !parsed.restarting && !parsed.notification);
    }

    #[test]
    fn kept_families_are_the_listed_ones() {
        // FRR's default (helper only): the capability of a 0x4078 header and no families, as
        // captured in the namespace lab. Nothing may be kept when its session drops.
        let frr = Capability::GracefulRestart {
            flags: 0x4,
            restart_time: 120,
            families: vec![],
        };
        let parsed = PeerGracefulRestart::from_capability(&frr).unwrap();
        assert_eq!(parsed.kept_families(), FamilySet::EMPTY);
        // A peer that preserves IPv4 only keeps IPv4 only.
        let v4_only = Capability::GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0,
            }],
        };
        let parsed = PeerGracefulRestart::from_capability(&v4_only).unwrap();
        assert_eq!(
            parsed.kept_families(),
            FamilySet::of(&[Family::IPV4_UNICAST])
        );
    }

    #[test]
    fn bad_opens_get_the_exact_notification() {
        let ours = open(64513, 90, vec![Capability::FourOctetAs(64513)]);
        let with_id = |asn: u32, hold: u16, id: Ipv4Addr| {
            Open::new(asn, hold, id, vec![Capability::FourOctetAs(asn)])
        };
        let mut version_3 = with_id(64512, 90, VMX_ID);
        version_3.version = 3;
        /// Peer OPEN, configured peer AS, minimum hold time, result, NOTIFICATION octets.
        type Case = (Open, u32, u16, Result<(), OpenError>, Option<&'static [u8]>);
        let cases: Vec<Case> = vec![
            (with_id(64512, 90, VMX_ID), 64512, 3, Ok(()), None),
            (
                version_3,
                64512,
                3,
                Err(OpenError::UnsupportedVersion { version: 3 }),
                Some(&[2, 1, 0, 4]),
            ),
            // Calico with its default AS 64512 where 64513 is configured.
            (
                with_id(64512, 90, VMX_ID),
                64513,
                3,
                Err(OpenError::BadPeerAs {
                    received: 64512,
                    expected: 64513,
                }),
                Some(&[2, 2]),
            ),
            (
                Open::new(0, 90, VMX_ID, vec![]),
                64512,
                3,
                Err(OpenError::BadPeerAs {
                    received: 0,
                    expected: 64512,
                }),
                Some(&[2, 2]),
            ),
            (
                with_id(64512, 90, Ipv4Addr::UNSPECIFIED),
                64512,
                3,
                Err(OpenError::BadBgpIdentifier {
                    identifier: Ipv4Addr::UNSPECIFIED,
                }),
                Some(&[2, 3]),
            ),
            // RFC 6286 §2.2: our own identifier is refused on iBGP only.
            (
                with_id(64513, 90, LOCAL_ID),
                64513,
                3,
                Err(OpenError::BadBgpIdentifier {
                    identifier: LOCAL_ID,
                }),
                Some(&[2, 3]),
            ),
            (with_id(64512, 90, LOCAL_ID), 64512, 3, Ok(()), None),
            (
                with_id(64512, 1, VMX_ID),
                64512,
                0,
                Err(OpenError::UnacceptableHoldTime {
                    hold_time: 1,
                    minimum: 3,
                }),
                Some(&[2, 6]),
            ),
            (
                with_id(64512, 2, VMX_ID),
                64512,
                3,
                Err(OpenError::UnacceptableHoldTime {
                    hold_time: 2,
                    minimum: 3,
                }),
                Some(&[2, 6]),
            ),
            (
                with_id(64512, 9, VMX_ID),
                64512,
                10,
                Err(OpenError::UnacceptableHoldTime {
                    hold_time: 9,
                    minimum: 10,
                }),
                Some(&[2, 6]),
            ),
            (with_id(64512, 10, VMX_ID), 64512, 10, Ok(()), None),
            (with_id(64512, 0, VMX_ID), 64512, 10, Ok(()), None),
        ];
        for (peer_open, expected_as, min_hold, result, wire) in cases {
            let got = check_open(&peer_open, &ours, expected_as, min_hold);
            assert_eq!(got, result, "{peer_open:?}");
            if let (Err(e), Some(wire)) = (got, wire) {
                let n = e.notification();
                let mut bytes = vec![n.code, n.subcode];
                bytes.extend_from_slice(&n.data);
                assert_eq!(bytes, wire, "{e}");
            }
        }
    }

    #[test]
    fn open_errors_read_well() {
        assert_eq!(
            OpenError::BadPeerAs {
                received: 64512,
                expected: 64513
            }
            .to_string(),
            "peer AS 64512 does not match the configured peer AS 64513"
        );
        assert_eq!(
            OpenError::BadBgpIdentifier {
                identifier: LOCAL_ID
            }
            .to_string(),
            "bad BGP identifier 198.51.100.2 (same as ours on an iBGP session)"
        );
        assert_eq!(
            OpenError::BadBgpIdentifier {
                identifier: Ipv4Addr::UNSPECIFIED
            }
            .to_string(),
            "bad BGP identifier 0.0.0.0 (0 is not allowed)"
        );
        assert_eq!(
            OpenError::UnacceptableHoldTime {
                hold_time: 9,
                minimum: 10
            }
            .to_string(),
            "unacceptable hold time 9 (must be 0 or >= 10 seconds)"
        );
        assert_eq!(
            OpenError::UnsupportedVersion { version: 3 }.to_string(),
            "unsupported BGP version 3 (only 4 is supported)"
        );
    }
}
