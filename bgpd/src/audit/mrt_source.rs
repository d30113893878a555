//! Routes from an MRT file (RFC 6396), plain, gzip or bzip2, streamed record by record:
//!
//! - TABLE_DUMP_V2 RIB records (and the RFC 8050 ADD-PATH subtypes): every entry is a route;
//!   its peer (address, AS) comes from the PEER_INDEX_TABLE. TABLE_DUMP records likewise.
//! - BGP4MP / BGP4MP_ET UPDATEs are replayed to their final state, per peer and path id:
//!   an announcement adds or replaces the route, a withdrawal removes it (an RFC 7606
//!   treat-as-withdraw UPDATE withdraws what it announces), and a session leaving
//!   Established (STATE_CHANGE from state 6) removes every route of that peer. Messages the
//!   collector itself sent (the `_LOCAL` subtypes) are skipped.
//!
//! Only unicast routes count. Attributes are as the peer sent them (LOCAL_PREF included),
//! with AS4_PATH merged into 2-octet AS paths (RFC 6793). A record that cannot be decoded is
//! skipped and counted in the set's notes; a file that cannot be read is an error.

use super::routes::{AuditRoute, PathInfo, PathInterner, PeerInfo, RouteSet};
use anyhow::Context as _;
use bgp_proto::mrt::{MrtBody, MrtError, MrtReader};
use bgp_proto::{AttributeAction, Family, Message, MpNextHop, PathAttributes};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Reads the routes of an MRT file.
pub fn read(path: &std::path::Path) -> anyhow::Result<RouteSet> {
    let reader = MrtReader::open(path)
        .with_context(|| format!("cannot open MRT file {}", path.display()))?;
    let mut state = Replay::default();
    for record in reader {
        match record {
            Ok(r) => state.record(r.body),
            Err(MrtError::Io(e)) => {
                return Err(anyhow::anyhow!(e))
                    .with_context(|| format!("reading {}", path.display()))
            }
            Err(e @ MrtError::Record { .. }) => {
                state.skipped += 1;
                if state.first_error.is_none() {
                    state.first_error = Some(e.to_string());
                }
            }
        }
    }
    Ok(state.finish(format!("MRT file {}", path.display())))
}

/// A path's identity: peer, prefix, path id.
type RouteKey = (IpAddr, IpNet, u32);

/// The replay state: the routes so far, by (peer, prefix, path id).
#[derive(Default)]
pub struct Replay {
    routes: HashMap<RouteKey, (Option<IpAddr>, Arc<PathInfo>)>,
    peers: HashMap<IpAddr, PeerInfo>,
    index: Vec<(IpAddr, u32)>,
    interner: PathInterner,
    skipped: usize,
    first_error: Option<String>,
}

fn unicast(f: Family) -> bool {
    f == Family::IPV4_UNICAST || f == Family::IPV6_UNICAST
}

fn mp_next_hop(nh: &MpNextHop) -> Option<IpAddr> {
    match nh {
        MpNextHop::Ipv4(a) => Some(IpAddr::V4(*a)),
        MpNextHop::Ipv6 { global, .. } => Some(IpAddr::V6(*global)),
        MpNextHop::Opaque(_) => None,
    }
}

impl Replay {
    fn path(&mut self, attrs: &PathAttributes, four_octet: bool) -> Arc<PathInfo> {
        self.interner.intern(PathInfo {
            as_path: attrs.full_as_path(four_octet).unwrap_or_default(),
            local_pref: attrs.local_pref().copied(),
            communities: attrs.communities().to_vec(),
            large_communities: attrs.large_communities().to_vec(),
        })
    }

    /// Applies one record.
    pub fn record(&mut self, body: MrtBody) {
        match body {
            MrtBody::PeerIndexTable(t) => {
                self.index = t.peers.iter().map(|p| (p.address, p.asn)).collect();
                for (a, asn) in &self.index {
                    self.peers.entry(*a).or_default().asn = Some(*asn);
                }
            }
            MrtBody::Rib(rib) => {
                if !unicast(rib.family) {
                    return;
                }
                for e in &rib.entries {
                    let Some((peer, _)) = self.index.get(usize::from(e.peer_index)).copied() else {
                        self.skipped += 1;
                        continue;
                    };
                    let next_hop = e
                        .attributes
                        .mp_reach()
                        .and_then(|m| mp_next_hop(&m.next_hop))
                        .or_else(|| e.attributes.next_hop().map(|a| IpAddr::V4(*a)));
                    let path = self.path(&e.attributes, true);
                    self.routes
                        .insert((peer, rib.prefix, e.path_id.unwrap_or(0)), (next_hop, path));
                }
            }
            MrtBody::TableDump(t) => {
                self.peers.entry(t.peer_address).or_default().asn = Some(u32::from(t.peer_as));
                let next_hop = t
                    .attributes
                    .mp_reach()
                    .and_then(|m| mp_next_hop(&m.next_hop))
                    .or_else(|| t.attributes.next_hop().map(|a| IpAddr::V4(*a)));
                let path = self.path(&t.attributes, false);
                self.routes
                    .insert((t.peer_address, t.prefix, 0), (next_hop, path));
            }
            MrtBody::StateChange(s) => {
                let peer = s.peer.peer_address;
                let p = self.peers.entry(peer).or_default();
                p.asn = Some(s.peer.peer_as);
                p.local_as = Some(s.peer.local_as);
                if s.old_state == 6 && s.new_state != 6 {
                    self.routes.retain(|(p, _, _), _| *p != peer);
                }
            }
            MrtBody::Message(m) => {
                if m.local {
                    return;
                }
                let Message::Update(u) = &m.message else {
                    return;
                };
                let peer = m.peer.peer_address;
                let p = self.peers.entry(peer).or_default();
                p.asn = Some(m.peer.peer_as);
                p.local_as = Some(m.peer.local_as);
                for (f, n) in u.withdrawals() {
                    if unicast(f) {
                        self.routes
                            .remove(&(peer, n.prefix, n.path_id.unwrap_or(0)));
                    }
                }
                let withdraw = u
                    .issues
                    .iter()
                    .any(|i| i.action == AttributeAction::TreatAsWithdraw);
                let path = if withdraw || (u.nlri.is_empty() && u.attributes.mp_reach().is_none()) {
                    None
                } else {
                    Some(self.path(&u.attributes, m.four_octet_as))
                };
                let v4_next_hop = u.attributes.next_hop().map(|a| IpAddr::V4(*a));
                // NLRI-field routes use NEXT_HOP; MP_REACH_NLRI routes its own next hop.
                let mp = u
                    .attributes
                    .mp_reach()
                    .filter(|r| unicast(r.family))
                    .map(|r| (mp_next_hop(&r.next_hop), r.nlri.as_slice()));
                let groups = [(v4_next_hop, u.nlri.as_slice())].into_iter().chain(mp);
                for (next_hop, nlri) in groups {
                    for n in nlri {
                        let key = (peer, n.prefix, n.path_id.unwrap_or(0));
                        match &path {
                            Some(path) => {
                                self.routes.insert(key, (next_hop, path.clone()));
                            }
                            None => {
                                self.routes.remove(&key);
                            }
                        }
                    }
                }
            }
            MrtBody::Raw(_) => {}
        }
    }

    /// The final state as a route set.
    pub fn finish(self, source: String) -> RouteSet {
        let mut routes: Vec<AuditRoute> = self
            .routes
            .into_iter()
            .map(|((peer, prefix, path_id), (next_hop, path))| AuditRoute {
                prefix,
                peer,
                path_id,
                next_hop,
                path,
            })
            .collect();
        routes.sort_by_key(|r| {
            (
                r.prefix.addr().is_ipv6(),
                r.prefix.network(),
                r.prefix.prefix_len(),
                r.peer,
                r.path_id,
            )
        });
        let mut notes = Vec::new();
        if self.skipped > 0 {
            notes.push(format!(
                "{} MRT record(s) or entries could not be decoded and were skipped{}",
                self.skipped,
                self.first_error
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            ));
        }
        RouteSet {
            routes,
            peers: self.peers,
            attributes_as_received: true,
            source,
            notes,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::lab_peer::LabRoute;
    use bgp_proto::mrt::{
        Bgp4mpMessage, Bgp4mpPeer, PeerEntry, PeerIndexTable, RibRecord, StateChange,
    };
    use bgp_proto::{AttributeValue, Nlri, PathAttribute, Update};

    fn peer(addr: &str, asn: u32) -> Bgp4mpPeer {
        Bgp4mpPeer {
            peer_as: asn,
            local_as: 64515,
            interface_index: 0,
            peer_address: addr.parse().unwrap(),
            local_address: "198.51.100.2".parse().unwrap(),
        }
    }

    fn message(p: Bgp4mpPeer, u: Update, local: bool) -> MrtBody {
        MrtBody::Message(Bgp4mpMessage {
            peer: p,
            four_octet_as: true,
            local,
            add_path: false,
            message: Message::Update(u),
            raw: bytes::Bytes::new(),
        })
    }

    fn nlri(p: &str) -> Nlri {
        Nlri {
            prefix: p.parse().unwrap(),
            path_id: None,
        }
    }

    #[test]
    fn bgp4mp_updates_replay_to_the_final_state() {
        let node = peer("198.51.100.11", 64513);
        let other = peer("198.51.100.12", 64513);
        let mut r = LabRoute::new(vec![64513], "198.51.100.11".parse().unwrap());
        r.local_pref = Some(200);
        let mut replay = Replay::default();
        replay.record(message(
            node,
            r.update(vec![nlri("10.244.0.0/26"), nlri("10.244.0.64/26")]),
            false,
        ));
        replay.record(message(
            node,
            LabRoute::new(vec![64513], "2001:db8:51::11".parse().unwrap())
                .update(vec![nlri("fd00:10:244::40/122")]),
            false,
        ));
        replay.record(message(other, r.update(vec![nlri("10.244.1.0/26")]), false));
        // A withdrawal removes; the collector's own messages do not count.
        replay.record(message(
            node,
            Update {
                withdrawn: vec![nlri("10.244.0.64/26")],
                ..Update::default()
            },
            false,
        ));
        replay.record(message(node, r.update(vec![nlri("10.244.9.0/26")]), true));
        // The other peer's session goes down: its routes are gone.
        replay.record(MrtBody::StateChange(StateChange {
            peer: other,
            four_octet_as: true,
            old_state: 6,
            new_state: 1,
        }));
        let set = replay.finish("test".into());
        let got: Vec<(String, Option<IpAddr>)> = set
            .routes
            .iter()
            .map(|r| (r.prefix.to_string(), r.next_hop))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "10.244.0.0/26".to_string(),
                    Some("198.51.100.11".parse().unwrap())
                ),
                (
                    "fd00:10:244::40/122".to_string(),
                    Some("2001:db8:51::11".parse().unwrap())
                ),
            ]
        );
        assert!(set.attributes_as_received);
        assert_eq!(set.routes[0].path.local_pref, Some(200));
        let info = set.peers[&"198.51.100.11".parse::<IpAddr>().unwrap()];
        assert_eq!((info.asn, info.local_as), (Some(64513), Some(64515)));
    }

    #[test]
    fn table_dump_v2_entries_take_their_peer_from_the_index() {
        let mut replay = Replay::default();
        replay.record(MrtBody::PeerIndexTable(PeerIndexTable {
            collector_id: "198.51.100.2".parse().unwrap(),
            view_name: String::new(),
            peers: vec![PeerEntry {
                bgp_id: "198.51.100.21".parse().unwrap(),
                address: "198.51.100.21".parse().unwrap(),
                asn: 64514,
                four_octet_as: true,
            }],
        }));
        let attributes = PathAttributes(vec![
            PathAttribute::new(AttributeValue::AsPath(bgp_proto::AsPath::sequence(vec![
                64514,
            ]))),
            PathAttribute::new(AttributeValue::NextHop("198.51.100.21".parse().unwrap())),
        ]);
        let entry = |peer_index| bgp_proto::mrt::RibEntry {
            peer_index,
            originated: 0,
            path_id: None,
            attributes: attributes.clone(),
            issues: Vec::new(),
        };
        replay.record(MrtBody::Rib(RibRecord {
            family: Family::IPV4_UNICAST,
            generic: false,
            add_path: false,
            sequence: 0,
            prefix: "203.0.113.10/32".parse().unwrap(),
            // The second entry names a peer the index does not have: skipped and counted.
            entries: vec![entry(0), entry(5)],
        }));
        let set = replay.finish("test".into());
        assert_eq!(set.routes.len(), 1);
        assert_eq!(
            set.routes[0].peer,
            "198.51.100.21".parse::<IpAddr>().unwrap()
        );
        assert_eq!(set.routes[0].path.origin_as(), Some(64514));
        assert_eq!(set.notes.len(), 1, "{:?}", set.notes);
    }
}
