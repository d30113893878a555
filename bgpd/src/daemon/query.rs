//! Answers about the running daemon, computed by the RIB task from its own state (so no
//! lock is ever taken on routing state): the neighbor table.

use super::Daemon;
use crate::rib::classes::ClassId;
use crate::rib::route::PeerId;
use bgp_proto::Family;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

/// One row of `show neighbors`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct NeighborRow {
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS.
    pub peer_as: u32,
    /// Description.
    pub description: String,
    /// FSM state name.
    pub state: String,
    /// Seconds since the session last went up or down.
    pub since_seconds: u64,
    /// Routes received (Adj-RIB-In, before policy), all families.
    pub received: usize,
    /// Routes accepted into the Loc-RIB.
    pub accepted: usize,
    /// Routes advertised (Adj-RIB-Out).
    pub advertised: usize,
    /// Accepted routes per class (`other` for unclassified).
    pub accepted_by_class: BTreeMap<String, usize>,
    /// Why the session last went down.
    pub last_down_reason: Option<String>,
    /// Times the session left Established.
    pub flaps: u64,
    /// Octets queued for the peer and not yet accepted by its TCP window (OutQ): it grows
    /// while the peer reads slower than bgpd sends, and stays up when the peer stopped
    /// reading (the send hold timer, RFC 9687, then ends the session).
    #[serde(default)]
    pub out_queue: u64,
    /// Routes waiting for the peer, coalesced (the latest decision per route), while the
    /// OutQ is above its high-water mark: a peer that reads slowly is sent each route's
    /// latest state, not every change.
    #[serde(default)]
    pub waiting_routes: u64,
}

impl Daemon {
    /// The neighbor table.
    pub fn neighbors(&self) -> Vec<NeighborRow> {
        let now = SystemTime::now();
        let mut accepted: BTreeMap<u32, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
        for d in self.rib.loc.values() {
            for p in &d.paths {
                let e = accepted.entry(p.peer).or_default();
                e.0 += 1;
                let class = self
                    .rib
                    .classes
                    .name(p.class)
                    .unwrap_or("other")
                    .to_string();
                *e.1.entry(class).or_default() += 1;
            }
        }
        self.directory
            .statuses()
            .into_iter()
            .map(|(id, s)| {
                let rib_peer = self.rib.peers.get(&id);
                let (acc, by_class) = accepted.remove(&id).unwrap_or_default();
                NeighborRow {
                    address: s.address,
                    peer_as: s.peer_as,
                    description: s.description,
                    state: s.state.to_string(),
                    since_seconds: now
                        .duration_since(s.since)
                        .map(|d| d.as_secs())
                        .unwrap_or(0),
                    received: rib_peer.map(|p| p.adj_in.len()).unwrap_or(0),
                    accepted: acc,
                    advertised: rib_peer.map(|p| p.advertised_total()).unwrap_or(0),
                    accepted_by_class: by_class,
                    last_down_reason: s.last_down_reason,
                    flaps: s.flaps,
                    out_queue: s.out_queue.load(std::sync::atomic::Ordering::Relaxed),
                    waiting_routes: s.waiting_routes.load(std::sync::atomic::Ordering::Relaxed),
                }
            })
            .collect()
    }
}

/// Seconds as `hh:mm:ss` (or `NdHHh` past a day), as `show bgp summary` prints Up/Down.
pub fn up_down(seconds: u64) -> String {
    if seconds >= 86_400 {
        format!("{}d{:02}h", seconds / 86_400, (seconds % 86_400) / 3600)
    } else {
        format!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            (seconds % 3600) / 60,
            seconds % 60
        )
    }
}

/// The neighbor table as aligned text: Peer, AS, Up/Down, State, #Received, #Accepted,
/// #Advertised, OutQ (octets), Waiting (routes held back, coalesced, for a peer that reads
/// slowly) and one column per class.
pub fn neighbor_table(rows: &[NeighborRow], classes: &[String]) -> String {
    let mut header = vec![
        "Peer".to_string(),
        "AS".into(),
        "Up/Down".into(),
        "State".into(),
        "#Received".into(),
        "#Accepted".into(),
        "#Advertised".into(),
        "OutQ".into(),
        "Waiting".into(),
    ];
    header.extend(classes.iter().cloned());
    header.push("Description".into());
    let mut table = vec![header];
    for r in rows {
        let mut row = vec![
            r.address.to_string(),
            r.peer_as.to_string(),
            up_down(r.since_seconds),
            r.state.clone(),
            r.received.to_string(),
            r.accepted.to_string(),
            r.advertised.to_string(),
            r.out_queue.to_string(),
            r.waiting_routes.to_string(),
        ];
        row.extend(
            classes
                .iter()
                .map(|c| r.accepted_by_class.get(c).copied().unwrap_or(0).to_string()),
        );
        row.push(r.description.clone());
        table.push(row);
    }
    let cols = table.first().map(Vec::len).unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            table
                .iter()
                .filter_map(|r| r.get(i))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = widths.get(i).copied().unwrap_or(0);
                // Numbers right-aligned, text left-aligned.
                if i >= 4 && i + 1 < cols || i == 1 {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Everything about one neighbor (`show neighbor ADDR`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct NeighborDetail {
    /// The table row.
    #[serde(flatten)]
    pub row: NeighborRow,
    /// Role.
    pub role: String,
    /// iBGP or eBGP.
    pub ibgp: bool,
    /// Configured hold time.
    pub configured_hold_time: u16,
    /// Capabilities we sent (text).
    pub local_capabilities: Vec<String>,
    /// Capabilities the peer sent (text).
    pub peer_capabilities: Vec<String>,
    /// What was negotiated, while (or since) Established.
    pub negotiated: Option<Negotiated>,
    /// Messages received by type.
    pub messages_received: BTreeMap<String, u64>,
    /// Messages sent by type.
    pub messages_sent: BTreeMap<String, u64>,
    /// The last NOTIFICATION received, decoded.
    pub last_notification_received: Option<String>,
    /// The last NOTIFICATION sent, decoded.
    pub last_notification_sent: Option<String>,
}

/// The negotiated session parameters.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Negotiated {
    /// Peer BGP identifier.
    pub peer_id: String,
    /// Hold time in use.
    pub hold_time: u16,
    /// Keepalive interval in use.
    pub keepalive: u16,
    /// 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families.
    pub families: Vec<String>,
    /// ADD-PATH receive families.
    pub add_path_receive: String,
    /// ADD-PATH send families.
    pub add_path_send: String,
    /// Route refresh.
    pub route_refresh: bool,
    /// Enhanced route refresh.
    pub enhanced_route_refresh: bool,
    /// Extended messages (both sides).
    pub extended_message: bool,
    /// The peer's graceful restart time, if it announced graceful restart.
    pub peer_graceful_restart_time: Option<u16>,
}

/// One path in `show rib`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RibEntry {
    /// Prefix.
    pub prefix: String,
    /// Family.
    pub family: String,
    /// The peer it came from (Loc-RIB, Adj-RIB-In) or goes to (Adj-RIB-Out).
    pub peer: IpAddr,
    /// ADD-PATH path id (received, or sent for Adj-RIB-Out).
    pub path_id: u32,
    /// The best path (Loc-RIB only).
    pub best: bool,
    /// Next hop.
    pub next_hop: String,
    /// AS path.
    pub as_path: String,
    /// Origin.
    pub origin: String,
    /// MED.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities.
    pub communities: Vec<String>,
    /// Large communities.
    pub large_communities: Vec<String>,
    /// Every other attribute the path carries, one text each in received order
    /// ([`other_attribute_text`]): what a peer sent beyond the fields above, so that what
    /// was kept and what was discarded (RFC 7606) can be seen.
    #[serde(default)]
    pub other_attributes: Vec<String>,
    /// Class.
    pub class: Option<String>,
    /// Seconds since it was received (Loc-RIB only).
    pub age_seconds: Option<u64>,
    /// Kept across a graceful restart.
    pub stale: bool,
    /// In the long-lived stale phase (RFC 9494): carries LLGR_STALE, least preferred.
    #[serde(default)]
    pub llgr_stale: bool,
}

/// Which RIB `show rib` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RibView {
    /// The Loc-RIB.
    #[default]
    Loc,
    /// A peer's Adj-RIB-In (before policy).
    In,
    /// A peer's Adj-RIB-Out.
    Out,
}

/// Filters of `show rib`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RibQuery {
    /// `ipv4-unicast` or `ipv6-unicast`.
    pub family: Option<String>,
    /// Prefixes equal to or inside this one.
    pub prefix: Option<ipnet::IpNet>,
    /// Class name.
    pub class: Option<String>,
    /// Peer address (required for `in` and `out`).
    pub peer: Option<IpAddr>,
    /// Which RIB.
    #[serde(default)]
    pub view: RibView,
    /// At most this many entries (default 10000).
    pub limit: Option<usize>,
}

fn entry(
    prefix: &ipnet::IpNet,
    family: bgp_proto::Family,
    peer: IpAddr,
    path_id: u32,
    a: &crate::rib::route::RouteAttrs,
) -> RibEntry {
    let d = a.decoded();
    RibEntry {
        prefix: prefix.to_string(),
        family: family.to_string(),
        peer,
        path_id,
        best: false,
        next_hop: a.next_hop.to_string(),
        as_path: crate::rib::route::RouteAttrs::as_path_text(&d),
        origin: a.origin().to_string(),
        med: a.med(),
        local_pref: a.local_pref(),
        communities: d.communities().iter().map(|c| c.to_string()).collect(),
        large_communities: d
            .large_communities()
            .iter()
            .map(|c| c.to_string())
            .collect(),
        other_attributes: d.0.iter().filter_map(other_attribute_text).collect(),
        class: None,
        age_seconds: None,
        stale: false,
        llgr_stale: false,
    }
}

/// The text of an attribute that [`RibEntry`] has no field of its own for, or `None` for
/// those it has (ORIGIN, AS_PATH, MED, LOCAL_PREF, COMMUNITIES, LARGE_COMMUNITY; the next hop
/// is the route's own field). Attributes carried opaque show their type code, flags and
/// length (`attribute 99 flags 0xe0 length 4`).
pub fn other_attribute_text(a: &bgp_proto::PathAttribute) -> Option<String> {
    use bgp_proto::AttributeValue as V;
    Some(match &a.value {
        V::Origin(_)
        | V::AsPath(_)
        | V::Med(_)
        | V::LocalPref(_)
        | V::Communities(_)
        | V::LargeCommunities(_) => return None,
        V::AtomicAggregate => "atomic-aggregate".to_string(),
        V::Aggregator(g) => format!("aggregator {} {}", g.asn, g.address),
        V::As4Aggregator(g) => format!("as4-aggregator {} {}", g.asn, g.address),
        V::OriginatorId(id) => format!("originator-id {id}"),
        V::ClusterList(ids) => format!(
            "cluster-list {}",
            ids.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        V::ExtendedCommunities(cs) => format!(
            "extended-communities {}",
            cs.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        V::As4Path(p) => format!("as4-path {p}"),
        V::OnlyToCustomer(asn) => format!("only-to-customer {asn}"),
        V::Unknown { type_code, data } => format!(
            "attribute {type_code} flags {:#04x} length {}",
            a.flags,
            data.len()
        ),
        // Never in a route's set: the next hop is its own field, and the NLRI attributes
        // are taken apart on receipt.
        V::NextHop(_) | V::MpReach(_) | V::MpUnreach(_) => return None,
    })
}

impl Daemon {
    /// `show neighbor ADDR`.
    pub fn neighbor_detail(&self, address: IpAddr) -> Option<NeighborDetail> {
        let row = self
            .neighbors()
            .into_iter()
            .find(|r| r.address == address)?;
        let (id, status) = self
            .directory
            .statuses()
            .into_iter()
            .find(|(_, s)| s.address == address)?;
        let n = self.rib.peers.get(&id).map(|p| p.neighbor.clone())?;
        let peer = address.to_string();
        let counts = |v: &prometheus::IntCounterVec| -> BTreeMap<String, u64> {
            [
                "open",
                "update",
                "notification",
                "keepalive",
                "route_refresh",
            ]
            .iter()
            .map(|t| (t.to_string(), v.with_label_values(&[&peer, t]).get()))
            .collect()
        };
        let local_caps = crate::session::driver::fsm_config(
            self.config.global.asn,
            self.config.global.router_id,
            &n,
        )
        .capabilities
        .iter()
        .map(|c| c.to_string())
        .collect();
        let neg = status.negotiated.as_ref();
        Some(NeighborDetail {
            row,
            role: format!("{:?}", n.role),
            ibgp: n.ibgp,
            configured_hold_time: n.hold_time,
            local_capabilities: local_caps,
            peer_capabilities: neg
                .map(|g| g.peer_open.capabilities().map(|c| c.to_string()).collect())
                .unwrap_or_default(),
            negotiated: neg.map(|g| Negotiated {
                peer_id: g.peer_id.to_string(),
                hold_time: g.hold_time,
                keepalive: g.keepalive_interval,
                four_octet_as: g.four_octet_as,
                families: g.families.iter().map(|f| f.to_string()).collect(),
                add_path_receive: g.add_path_receive.to_string(),
                add_path_send: g.add_path_send.to_string(),
                route_refresh: g.route_refresh,
                enhanced_route_refresh: g.enhanced_route_refresh,
                extended_message: g.extended_message,
                peer_graceful_restart_time: g
                    .peer_graceful_restart
                    .as_ref()
                    .map(|r| r.restart_time),
            }),
            messages_received: counts(&crate::metrics::METRICS.messages_received),
            messages_sent: counts(&crate::metrics::METRICS.messages_sent),
            last_notification_received: status.last_notification_received.clone(),
            last_notification_sent: status.last_notification_sent.clone(),
        })
    }

    /// `show rib`.
    pub fn rib_entries(&self, q: &RibQuery) -> Vec<RibEntry> {
        let limit = q.limit.unwrap_or(10_000);
        let family_ok =
            |f: bgp_proto::Family| q.family.as_deref().is_none_or(|x| x == f.to_string());
        let prefix_ok = |p: &ipnet::IpNet| q.prefix.is_none_or(|x| x.contains(p));
        let now = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let peer_id = q.peer.and_then(|a| self.directory.id_of(a));
        let address = |id: u32| self.rib.peers.get(&id).map(|p| p.neighbor.address);
        let mut out = Vec::new();
        match q.view {
            RibView::Loc => {
                for ((family, prefix), d) in &self.rib.loc {
                    if !family_ok(family) || !prefix_ok(&prefix) {
                        continue;
                    }
                    for (i, p) in d.paths.iter().enumerate() {
                        if peer_id.is_some_and(|id| id != p.peer) {
                            continue;
                        }
                        let class = self.rib.classes.name(p.class).map(str::to_string);
                        if q.class.is_some() && q.class != class {
                            continue;
                        }
                        let Some(addr) = address(p.peer) else {
                            continue;
                        };
                        let mut e = entry(&prefix, family, addr, p.received_path_id, &p.attrs);
                        e.best = d.best() == Some(i);
                        e.class = class;
                        e.age_seconds = Some(now.saturating_sub(u64::from(p.since)));
                        e.stale = p.stale;
                        e.llgr_stale = p.llgr_stale;
                        out.push(e);
                    }
                }
            }
            RibView::In | RibView::Out => {
                let Some(peer) = peer_id.and_then(|id| self.rib.peers.get(&id)) else {
                    return out;
                };
                let addr = peer.neighbor.address;
                if q.view == RibView::In {
                    let id = peer_id.unwrap_or_default();
                    for ((family, prefix, path_id), a) in self.rib.adj_rib_in(id) {
                        let (family, prefix, path_id, a) = (&family, &prefix, &path_id, &a);
                        if family_ok(*family) && prefix_ok(prefix) {
                            let mut e = entry(prefix, *family, addr, *path_id, a);
                            e.class = self
                                .rib
                                .classes
                                .name(self.rib.classes.classify(prefix, a.origin_as()))
                                .map(str::to_string);
                            if q.class.is_none() || q.class == e.class {
                                out.push(e);
                            }
                        }
                    }
                } else {
                    let id = peer_id.unwrap_or_default();
                    for (family, prefix, path_id, a) in self.rib.adj_rib_out(id) {
                        if !family_ok(family) || !prefix_ok(&prefix) {
                            continue;
                        }
                        let mut e = entry(&prefix, family, addr, path_id, &a);
                        e.class = self
                            .rib
                            .classes
                            .name(self.rib.classes.classify(&prefix, a.origin_as()))
                            .map(str::to_string);
                        if q.class.is_none() || q.class == e.class {
                            out.push(e);
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            let pa: Option<ipnet::IpNet> = a.prefix.parse().ok();
            let pb: Option<ipnet::IpNet> = b.prefix.parse().ok();
            (a.family.as_str(), pa, !a.best, a.peer).cmp(&(b.family.as_str(), pb, !b.best, b.peer))
        });
        out.truncate(limit);
        out
    }

    /// Sets the gauges `/metrics` reports from the RIB's state.
    pub fn refresh_metrics(&self) {
        use crate::metrics::METRICS as M;
        let now = SystemTime::now();
        M.prefixes_accepted.reset();
        M.prefixes_received.reset();
        M.prefixes_advertised.reset();
        M.rib_routes.reset();
        M.rib_prefixes.reset();
        for (id, s) in self.directory.statuses() {
            let peer = s.address.to_string();
            let up = s.state == crate::session::fsm::State::Established;
            M.peer_up
                .with_label_values(&[&peer, &s.peer_as.to_string()])
                .set(i64::from(up));
            let state = match s.state {
                crate::session::fsm::State::Idle => 1,
                crate::session::fsm::State::Connect => 2,
                crate::session::fsm::State::Active => 3,
                crate::session::fsm::State::OpenSent => 4,
                crate::session::fsm::State::OpenConfirm => 5,
                crate::session::fsm::State::Established => 6,
            };
            M.peer_state.with_label_values(&[&peer]).set(state);
            let uptime = if up {
                now.duration_since(s.since)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            } else {
                0
            };
            M.peer_uptime
                .with_label_values(&[&peer])
                .set(i64::try_from(uptime).unwrap_or(i64::MAX));
            if let Some(p) = self.rib.peers.get(&id) {
                let mut rx: BTreeMap<String, i64> = BTreeMap::new();
                for (f, n) in p.adj_in.counts() {
                    *rx.entry(f.to_string()).or_default() += n as i64;
                }
                for (f, n) in rx {
                    M.prefixes_received.with_label_values(&[&peer, &f]).set(n);
                }
                let mut tx: BTreeMap<String, i64> = BTreeMap::new();
                for ((f, _), v) in &p.adj_out {
                    *tx.entry(f.to_string()).or_default() += v.len() as i64;
                }
                for (f, n) in &p.advertised_count {
                    *tx.entry(f.to_string()).or_default() += *n as i64;
                }
                for (f, n) in tx {
                    M.prefixes_advertised.with_label_values(&[&peer, &f]).set(n);
                }
            }
        }
        // One scan of the Loc-RIB, counted by numbers (peer id, family, class id); the label
        // strings are made once per distinct key afterwards. Formatting the labels per path
        // (three strings and a string-keyed map per path) held the RIB task for about 40 ns
        // a path: some 40 ms of a 1M-route table at every scrape, with UPDATEs waiting.
        let mut accepted: crate::rib::FastMap<(PeerId, Family, Option<ClassId>), i64> =
            crate::rib::FastMap::default();
        let mut routes: crate::rib::FastMap<Family, (i64, i64)> = crate::rib::FastMap::default();
        for ((family, _), d) in &self.rib.loc {
            let r = routes.entry(family).or_default();
            r.0 += d.paths.len() as i64;
            r.1 += 1;
            for p in &d.paths {
                *accepted.entry((p.peer, family, p.class)).or_default() += 1;
            }
        }
        let mut labelled: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        for ((peer, family, class), n) in accepted {
            let Some(addr) = self.rib.peers.get(&peer).map(|x| x.neighbor.address) else {
                continue;
            };
            let class = self.rib.classes.name(class).unwrap_or("other");
            *labelled
                .entry((addr.to_string(), family.to_string(), class.to_string()))
                .or_default() += n;
        }
        for ((peer, fam, class), n) in labelled {
            M.prefixes_accepted
                .with_label_values(&[&peer, &fam, &class])
                .set(n);
        }
        for (family, (paths, prefixes)) in routes {
            let fam = family.to_string();
            M.rib_routes.with_label_values(&[&fam]).set(paths);
            M.rib_prefixes.with_label_values(&[&fam]).set(prefixes);
        }
        M.rib_attribute_sets.set(self.rib.attribute_sets() as i64);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_without_a_field_of_its_own_is_shown() {
        use bgp_proto::{Aggregator, AttributeValue as V, Community, PathAttribute};
        let attrs = [
            V::Origin(bgp_proto::Origin::Igp),
            V::Communities(vec![Community(1)].into()),
            V::AtomicAggregate,
            V::Aggregator(Aggregator {
                asn: 64512,
                address: "192.0.2.1".parse().unwrap(),
            }),
            V::OriginatorId("192.0.2.7".parse().unwrap()),
            V::ClusterList(vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()].into()),
            V::ExtendedCommunities(
                vec![bgp_proto::ExtendedCommunity([0, 2, 0xfc, 0, 0, 0, 0, 1])].into(),
            ),
            V::Unknown {
                type_code: 99,
                data: vec![1, 2, 3, 4].into(),
            },
        ];
        let mut unknown = PathAttribute::new(attrs[7].clone());
        unknown.flags = 0xe0;
        let mut shown: Vec<String> = attrs[..7]
            .iter()
            .map(|v| PathAttribute::new(v.clone()))
            .filter_map(|a| other_attribute_text(&a))
            .collect();
        shown.extend(other_attribute_text(&unknown));
        assert_eq!(
            shown,
            [
                "atomic-aggregate",
                "aggregator 64512 192.0.2.1",
                "originator-id 192.0.2.7",
                "cluster-list 192.0.2.1 192.0.2.2",
                "extended-communities rt:64512:1",
                "attribute 99 flags 0xe0 length 4",
            ]
        );
    }

    #[test]
    fn the_table_shows_what_waits_for_a_slow_peer() {
        let row = NeighborRow {
            address: "198.51.100.11".parse().unwrap(),
            peer_as: 64513,
            description: "calico node-1".into(),
            state: "Established".into(),
            since_seconds: 62,
            received: 3,
            accepted: 3,
            advertised: 7,
            accepted_by_class: BTreeMap::from([("pod".to_string(), 3)]),
            last_down_reason: None,
            flaps: 0,
            out_queue: 4_194_304,
            waiting_routes: 1_234,
        };
        let table = neighbor_table(&[row], &["pod".to_string()]);
        let lines: Vec<Vec<&str>> = table
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let header = &lines[0];
        let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
        assert_eq!(at("Waiting"), at("OutQ") + 1);
        // "calico node-1" is two words: index the data row from the left only.
        assert_eq!(lines[1][at("OutQ")], "4194304");
        assert_eq!(lines[1][at("Waiting")], "1234");
        assert_eq!(lines[1][at("pod")], "3");
    }
}
