//! What a route becomes when it is advertised to one peer: the RFC 4271 §5/§9.1.3 rules,
//! route reflection (RFC 4456 §8, §10) and route serving (RFC 7947 §2). Pure functions:
//! the export policy runs after these, on their result.

use super::route::{NextHop, PeerId, RouteAttrs};
use crate::config::Role;
use bgp_proto::{attribute_flags, attribute_type as tc, AttributeValue, Community, Family};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

/// Our own identity.
#[derive(Debug, Clone, Copy)]
pub struct LocalIdentity {
    /// Our AS.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The cluster id we reflect with (RFC 4456 §7).
    pub cluster_id: Ipv4Addr,
}

/// Where the route came from.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// The peer it was learned from.
    pub peer: PeerId,
    /// That peer is iBGP.
    pub ibgp: bool,
    /// That peer's role.
    pub role: Role,
    /// That peer's BGP identifier (becomes ORIGINATOR_ID when reflecting).
    pub bgp_id: Ipv4Addr,
}

/// Where the route goes.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The peer it goes to.
    pub peer: PeerId,
    /// That peer is iBGP.
    pub ibgp: bool,
    /// That peer's role.
    pub role: Role,
    /// That peer's AS.
    pub peer_as: u32,
    /// `next_hop_self` is configured for it.
    pub next_hop_self: bool,
    /// Our address on that session.
    pub local_address: Option<IpAddr>,
}

/// Why a route is not advertised to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    /// It came from that peer.
    SplitHorizon,
    /// iBGP-learned, and neither side is a reflector client (RFC 4271 §9.2, RFC 4456 §8).
    IbgpToIbgp,
    /// NO_ADVERTISE / NO_EXPORT (RFC 1997).
    WellKnownCommunity,
    /// The peer's AS is already in the path (it would drop it, RFC 4271 §9.1.2).
    AsLoop,
}

/// A next hop of our own for `family`: our session address, IPv4-mapped for IPv6 routes
/// over an IPv4 session (as FRR does).
fn self_next_hop(family: Family, local: IpAddr) -> Option<NextHop> {
    match (family.afi, local) {
        (bgp_proto::AFI_IPV4, IpAddr::V4(a)) => Some(NextHop::V4(a)),
        (bgp_proto::AFI_IPV6, IpAddr::V6(a)) => Some(NextHop::V6 {
            global: a,
            link_local: None,
        }),
        (bgp_proto::AFI_IPV6, IpAddr::V4(a)) => Some(NextHop::V6 {
            global: a.to_ipv6_mapped(),
            link_local: None,
        }),
        _ => None,
    }
}

/// Applies the protocol rules for advertising `attrs` (as stored in the Loc-RIB) from
/// `source` to `target`.
///
/// The attributes are copied only when something changes: toward a route-server client, or
/// an eBGP peer of a route learned without ORIGINATOR_ID, CLUSTER_LIST or LOCAL_PREF, they go
/// as they are (`Cow::Borrowed`), and the export pass then needs neither a copy nor a hash.
pub fn export<'a>(
    local: &LocalIdentity,
    family: Family,
    source: &Source,
    target: &Target,
    attrs: &'a RouteAttrs,
) -> Result<Cow<'a, RouteAttrs>, Suppressed> {
    if source.peer == target.peer {
        return Err(Suppressed::SplitHorizon);
    }
    if attrs.has_community(Community::NO_ADVERTISE) {
        return Err(Suppressed::WellKnownCommunity);
    }
    if !target.ibgp
        && (attrs.has_community(Community::NO_EXPORT)
            || attrs.has_community(Community::NO_EXPORT_SUBCONFED))
    {
        return Err(Suppressed::WellKnownCommunity);
    }
    let mut out = Cow::Borrowed(attrs);
    // RFC 4271 §5: unknown optional non-transitive attributes are not passed on; unknown
    // transitive ones are, with the Partial bit set.
    if attrs.has_opaque() {
        out.to_mut().edit(|o| {
            o.0.retain(|a| match &a.value {
                AttributeValue::Unknown { .. } => a.flags & attribute_flags::TRANSITIVE != 0,
                _ => true,
            });
            for a in &mut o.0 {
                if matches!(a.value, AttributeValue::Unknown { .. }) {
                    a.flags |= attribute_flags::PARTIAL;
                }
            }
        });
    }
    if target.ibgp {
        if source.ibgp {
            // RFC 4456 §8: client routes go to everyone, non-client routes to clients only.
            let reflect = source.role == Role::RouteReflectorClient
                || target.role == Role::RouteReflectorClient;
            if !reflect {
                return Err(Suppressed::IbgpToIbgp);
            }
            // RFC 4456 §8: ORIGINATOR_ID set once, our cluster id prepended.
            let o = out.to_mut();
            if o.attributes().originator_id().is_none() {
                o.set(AttributeValue::OriginatorId(source.bgp_id));
            }
            let mut clusters = vec![local.cluster_id];
            if let Some(received) = o.attributes().cluster_list() {
                clusters.extend_from_slice(received);
            }
            o.set(AttributeValue::ClusterList(clusters.into()));
        }
        // RFC 4271 §5.1.5: LOCAL_PREF is sent to every internal peer.
        if out.local_pref().is_none() {
            out.to_mut()
                .set(AttributeValue::LocalPref(super::route::DEFAULT_LOCAL_PREF));
        }
    } else {
        if out.contains_as(target.peer_as) {
            return Err(Suppressed::AsLoop);
        }
        // RFC 4456 §8 / RFC 4271 §5.1.5: these never leave the AS.
        for code in [tc::ORIGINATOR_ID, tc::CLUSTER_LIST, tc::LOCAL_PREF] {
            remove_attribute(&mut out, code);
        }
        if target.role != Role::RouteServerClient {
            // RFC 4271 §5.1.2: prepend our AS; §5.1.4: a MED learned from another AS is not
            // passed on; §5.1.3: we are the next hop.
            let o = out.to_mut();
            let mut path = o.as_path().clone();
            path.prepend(local.asn);
            o.set(AttributeValue::AsPath(path));
            if !source.ibgp {
                o.edit(|a| a.remove(tc::MULTI_EXIT_DISC));
            }
            if let Some(nh) = target.local_address.and_then(|a| self_next_hop(family, a)) {
                o.next_hop = nh;
            }
        }
        // RFC 7947 §2.2: toward route-server clients, AS_PATH, NEXT_HOP, MED unchanged.
    }
    if target.next_hop_self {
        if let Some(nh) = target.local_address.and_then(|a| self_next_hop(family, a)) {
            if out.next_hop != nh {
                out.to_mut().next_hop = nh;
            }
        }
    }
    Ok(out)
}

/// Removes an attribute, copying the set only when it is there.
fn remove_attribute(out: &mut Cow<'_, RouteAttrs>, code: u8) {
    if out.has(code) {
        out.to_mut().edit(|a| a.remove(code));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::{AsPath, Origin, PathAttribute, PathAttributes};

    const LOCAL: LocalIdentity = LocalIdentity {
        asn: 64512,
        router_id: Ipv4Addr::new(198, 51, 100, 2),
        cluster_id: Ipv4Addr::new(198, 51, 100, 2),
    };

    fn attrs() -> RouteAttrs {
        RouteAttrs::new(
            NextHop::V4(Ipv4Addr::new(198, 51, 100, 11)),
            PathAttributes(vec![
                PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
                PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![64513]))),
                PathAttribute::new(AttributeValue::Med(7)),
                PathAttribute::new(AttributeValue::Communities(
                    vec![Community::new(64513, 1)].into(),
                )),
                PathAttribute {
                    flags: 0x80,
                    value: AttributeValue::Unknown {
                        type_code: 99,
                        data: Box::new(*b"x"),
                    },
                },
                PathAttribute {
                    flags: 0xc0,
                    value: AttributeValue::Unknown {
                        type_code: 98,
                        data: Box::new(*b"y"),
                    },
                },
            ]),
        )
    }

    fn source(peer: PeerId, ibgp: bool, role: Role) -> Source {
        Source {
            peer,
            ibgp,
            role,
            bgp_id: Ipv4Addr::new(10, 0, 0, peer as u8),
        }
    }

    fn target(peer: PeerId, ibgp: bool, role: Role, peer_as: u32) -> Target {
        Target {
            peer,
            ibgp,
            role,
            peer_as,
            next_hop_self: false,
            local_address: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2))),
        }
    }

    #[test]
    fn route_server_keeps_path_next_hop_med_communities() {
        let s = source(1, false, Role::RouteServerClient);
        let t = target(2, false, Role::RouteServerClient, 64512);
        let out = export(&LOCAL, Family::IPV4_UNICAST, &s, &t, &attrs())
            .expect("exported")
            .into_owned();
        assert_eq!(out.as_path().to_string(), "64513");
        assert_eq!(out.next_hop, NextHop::V4(Ipv4Addr::new(198, 51, 100, 11)));
        assert_eq!(out.med(), Some(7));
        assert_eq!(out.communities(), &[Community::new(64513, 1)]);
        // Unknown non-transitive dropped, transitive kept with Partial.
        assert!(out.attributes().get(99).is_none());
        assert_eq!(out.attributes().get(98).map(|a| a.flags), Some(0xe0));
    }

    #[test]
    fn plain_ebgp_prepends_and_sets_next_hop() {
        let s = source(1, false, Role::Plain);
        let t = target(2, false, Role::Plain, 64999);
        let out = export(&LOCAL, Family::IPV4_UNICAST, &s, &t, &attrs())
            .expect("exported")
            .into_owned();
        assert_eq!(out.as_path().to_string(), "64512 64513");
        assert_eq!(out.next_hop, NextHop::V4(Ipv4Addr::new(198, 51, 100, 2)));
        assert_eq!(out.med(), None);
        let t = target(2, false, Role::Plain, 64513);
        assert_eq!(
            export(&LOCAL, Family::IPV4_UNICAST, &s, &t, &attrs()),
            Err(Suppressed::AsLoop)
        );
    }

    #[test]
    fn reflection_rules() {
        let client = source(1, true, Role::RouteReflectorClient);
        let non_client = source(3, true, Role::Plain);
        let to_client = target(2, true, Role::RouteReflectorClient, 64512);
        let to_non_client = target(4, true, Role::Plain, 64512);
        let out = export(
            &LOCAL,
            Family::IPV4_UNICAST,
            &client,
            &to_non_client,
            &attrs(),
        )
        .expect("client → non-client")
        .into_owned();
        assert_eq!(
            out.attributes().originator_id(),
            Some(&Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(
            out.attributes().cluster_list(),
            Some(&vec![LOCAL.cluster_id].into())
        );
        assert_eq!(
            out.next_hop,
            NextHop::V4(Ipv4Addr::new(198, 51, 100, 11)),
            "next hop unchanged"
        );
        assert_eq!(out.as_path().to_string(), "64513", "AS_PATH unchanged");
        assert_eq!(out.med(), Some(7), "MED unchanged");
        assert!(export(
            &LOCAL,
            Family::IPV4_UNICAST,
            &non_client,
            &to_client,
            &attrs()
        )
        .is_ok());
        assert_eq!(
            export(
                &LOCAL,
                Family::IPV4_UNICAST,
                &non_client,
                &to_non_client,
                &attrs()
            ),
            Err(Suppressed::IbgpToIbgp)
        );
        // An existing ORIGINATOR_ID is kept, the cluster list grows on the left.
        let mut a = attrs();
        a.set(AttributeValue::OriginatorId(Ipv4Addr::new(9, 9, 9, 9)));
        a.set(AttributeValue::ClusterList(
            vec![Ipv4Addr::new(8, 8, 8, 8)].into(),
        ));
        let out = export(&LOCAL, Family::IPV4_UNICAST, &client, &to_client, &a)
            .expect("reflected")
            .into_owned();
        assert_eq!(
            out.attributes().originator_id(),
            Some(&Ipv4Addr::new(9, 9, 9, 9))
        );
        assert_eq!(
            out.attributes().cluster_list(),
            Some(&vec![LOCAL.cluster_id, Ipv4Addr::new(8, 8, 8, 8)].into())
        );
    }

    #[test]
    fn split_horizon_and_communities() {
        let s = source(1, false, Role::Plain);
        assert_eq!(
            export(
                &LOCAL,
                Family::IPV4_UNICAST,
                &s,
                &target(1, false, Role::Plain, 64513),
                &attrs()
            ),
            Err(Suppressed::SplitHorizon)
        );
        let mut a = attrs();
        a.set(AttributeValue::Communities(
            vec![Community::NO_EXPORT].into(),
        ));
        assert_eq!(
            export(
                &LOCAL,
                Family::IPV4_UNICAST,
                &s,
                &target(2, false, Role::Plain, 64999),
                &a
            ),
            Err(Suppressed::WellKnownCommunity)
        );
        assert!(export(
            &LOCAL,
            Family::IPV4_UNICAST,
            &s,
            &target(2, true, Role::Plain, 64512),
            &a
        )
        .is_ok());
    }

    #[test]
    fn ebgp_to_ibgp_adds_local_pref() {
        let s = source(1, false, Role::Plain);
        let out = export(
            &LOCAL,
            Family::IPV4_UNICAST,
            &s,
            &target(2, true, Role::Plain, 64512),
            &attrs(),
        )
        .expect("ok")
        .into_owned();
        assert_eq!(out.local_pref(), Some(100));
        assert_eq!(out.as_path().to_string(), "64513");
    }
}
