//! The checks: [`audit`] runs every check of [`Check::ALL`] over a [`RouteSet`] against an
//! [`Intent`] and returns the findings, most severe first.
//!
//! One pass over the routes places each route (side, pool, speaker) and applies the rules
//! that need only the route itself (`route_rules`); what needs several routes (the same
//! block from two nodes, overlaps, speakers per service IP, nodes without a block) is then
//! computed from the few routes inside the pools (`coverage`). Linear in the number of
//! routes, plus a sort of the pod routes.
//!
//! Terms:
//! - **side**: a route comes from the *upstream* when its peer is an `upstream.addresses`
//!   entry, or its peer's AS (when the source knows it) is `upstream.asn`, or (peer AS
//!   unknown) its AS path starts with `upstream.asn` and its next hop is not a node. Every
//!   other route comes from the *cluster*. A peer that is a node is always the cluster.
//! - **speaker**: the node whose address is the next hop (Calico and MetalLB set it to
//!   their own address, route servers and reflectors leave it alone), else the node whose
//!   address is the peer, else the next hop itself. Two paths with the same speaker (ADD-PATH,
//!   two route servers) count once.
//! - **origin**: the last AS of a final AS_SEQUENCE; for an empty AS path, the peer's AS.

mod coverage;
mod route_rules;
#[cfg(test)]
mod tests;

use super::finding::{Check, Finding};
use super::intent::{Intent, NodeRole, Side};
use super::routes::{AuditRoute, RouteSet};
use ipnet::IpNet;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

/// Who announced a route (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Speaker {
    /// A node of the intent, by index.
    Node(usize),
    /// An address that is no node.
    Address(IpAddr),
}

/// The pool a route lies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pool {
    /// `pod_pools[i]`.
    Pod(usize),
    /// `lb_pools[i]`.
    Lb(usize),
}

/// What the intent says, indexed for the checks.
struct Context<'a> {
    intent: &'a Intent,
    set: &'a RouteSet,
    node_of: HashMap<IpAddr, usize>,
    upstream_addresses: HashSet<IpAddr>,
    pod_as: HashSet<u32>,
    lb_as: HashSet<u32>,
    named_as: HashSet<u32>,
    pod_next_hops: Vec<BTreeSet<IpAddr>>,
    lb_next_hops: Vec<BTreeSet<IpAddr>>,
    /// The side of every peer whose side does not depend on the route.
    peer_side: HashMap<IpAddr, Side>,
}

impl<'a> Context<'a> {
    fn new(intent: &'a Intent, set: &'a RouteSet) -> Self {
        let mut node_of = HashMap::new();
        for (i, n) in intent.nodes.iter().enumerate() {
            for a in &n.addresses {
                node_of.insert(*a, i);
            }
        }
        let mut cx = Context {
            intent,
            set,
            node_of,
            peer_side: HashMap::new(),
            upstream_addresses: intent
                .upstream
                .iter()
                .flat_map(|u| u.addresses.iter().copied())
                .collect(),
            pod_as: intent
                .pod_pools
                .iter()
                .flat_map(|p| p.origin_as.iter().copied())
                .collect(),
            lb_as: intent
                .lb_pools
                .iter()
                .flat_map(|p| p.origin_as.iter().copied())
                .collect(),
            named_as: intent.named_as().into_iter().collect(),
            pod_next_hops: intent
                .pod_pools
                .iter()
                .map(|p| intent.pod_next_hops(p))
                .collect(),
            lb_next_hops: intent
                .lb_pools
                .iter()
                .map(|p| intent.lb_next_hops(p))
                .collect(),
        };
        let peers: BTreeSet<IpAddr> = set
            .peers
            .keys()
            .chain(cx.upstream_addresses.iter())
            .chain(cx.node_of.keys())
            .copied()
            .collect();
        for peer in peers {
            if let Some(side) = cx.peer_side_of(peer) {
                cx.peer_side.insert(peer, side);
            }
        }
        cx
    }

    /// The side of routes from `peer`, when the peer alone decides it.
    fn peer_side_of(&self, peer: IpAddr) -> Option<Side> {
        if self.upstream_addresses.contains(&peer) {
            return Some(Side::Upstream);
        }
        if self.node_of.contains_key(&peer) {
            return Some(Side::Cluster);
        }
        let Some(u) = &self.intent.upstream else {
            return Some(Side::Cluster);
        };
        match self.set.peers.get(&peer).and_then(|p| p.asn) {
            Some(asn) if asn == u.asn => Some(Side::Upstream),
            Some(_) => Some(Side::Cluster),
            None => None,
        }
    }

    fn speaker(&self, r: &AuditRoute) -> Speaker {
        if let Some(n) = r.next_hop.and_then(|a| self.node_of.get(&a)) {
            return Speaker::Node(*n);
        }
        if let Some(n) = self.node_of.get(&r.peer) {
            return Speaker::Node(*n);
        }
        Speaker::Address(r.next_hop.unwrap_or(r.peer))
    }

    fn speaker_name(&self, s: Speaker) -> String {
        match s {
            Speaker::Node(i) => self
                .intent
                .nodes
                .get(i)
                .map(|n| {
                    let a = n
                        .addresses
                        .first()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default();
                    format!("{}{a}", n.name)
                })
                .unwrap_or_default(),
            Speaker::Address(a) => a.to_string(),
        }
    }

    fn side(&self, r: &AuditRoute) -> Side {
        if let Some(side) = self.peer_side.get(&r.peer) {
            return *side;
        }
        let Some(u) = &self.intent.upstream else {
            return Side::Cluster;
        };
        let next_hop_is_node = r.next_hop.is_some_and(|a| self.node_of.contains_key(&a));
        if r.path.as_path.first_as() == Some(u.asn) && !next_hop_is_node {
            Side::Upstream
        } else {
            Side::Cluster
        }
    }

    fn origin(&self, r: &AuditRoute) -> Option<u32> {
        if r.path.as_path.is_empty() {
            return self.set.peers.get(&r.peer).and_then(|p| p.asn);
        }
        r.path.origin_as()
    }

    fn pool(&self, prefix: &IpNet) -> Option<Pool> {
        if let Some(i) = self
            .intent
            .pod_pools
            .iter()
            .position(|p| p.cidr.contains(prefix))
        {
            return Some(Pool::Pod(i));
        }
        self.intent
            .lb_pools
            .iter()
            .position(|p| p.cidr.contains(prefix))
            .map(Pool::Lb)
    }

    fn nodes_with(&self, role: NodeRole) -> impl Iterator<Item = (usize, &super::intent::Node)> {
        self.intent
            .nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| n.roles.contains(&role))
    }
}

/// Per-route findings, merged by (check, prefix): several paths of one prefix with the same
/// fault are one finding.
#[derive(Default)]
struct Collector {
    per_prefix: HashMap<(Check, IpNet), (String, Vec<usize>)>,
    other: Vec<Finding>,
}

impl Collector {
    /// Records that route `index` fails `check`; `message` is computed for the first path.
    fn hit(
        &mut self,
        check: Check,
        route: &AuditRoute,
        index: usize,
        message: impl FnOnce() -> String,
    ) {
        self.per_prefix
            .entry((check, route.prefix))
            .or_insert_with(|| (message(), Vec::new()))
            .1
            .push(index);
    }

    fn finish(self, set: &RouteSet) -> Vec<Finding> {
        let mut out = self.other;
        for ((check, prefix), (message, routes)) in self.per_prefix {
            let message = if routes.len() > 1 {
                format!("{message} ({} paths)", routes.len())
            } else {
                message
            };
            out.push(Finding::new(
                check,
                prefix.to_string(),
                message,
                routes.iter().filter_map(|i| set.routes.get(*i)),
            ));
        }
        sort(&mut out);
        out
    }
}

/// Sorts findings most severe first, then by check, then by subject (prefixes and addresses
/// in address order).
pub fn sort(findings: &mut [Finding]) {
    fn subject_order(s: &str) -> (Option<IpNet>, Option<IpAddr>, &str) {
        (s.parse().ok(), s.parse().ok(), s)
    }
    findings.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.severity),
            a.check,
            subject_order(&a.subject),
        )
            .cmp(&(
                std::cmp::Reverse(b.severity),
                b.check,
                subject_order(&b.subject),
            ))
    });
}

/// Runs every check over `set` against `intent`. Findings come most severe first.
pub fn audit(intent: &Intent, set: &RouteSet) -> Vec<Finding> {
    let cx = Context::new(intent, set);
    let mut collector = Collector::default();
    let mut pool_routes = coverage::PoolRoutes::default();
    for (i, r) in set.routes.iter().enumerate() {
        route_rules::check_route(&cx, &mut collector, &mut pool_routes, i, r);
    }
    coverage::check(&cx, &mut collector, &mut pool_routes);
    collector.finish(set)
}
