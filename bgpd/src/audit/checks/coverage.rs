//! The checks that compare routes: the same pod block from two nodes, routes covering
//! another node's block, service IPs and their speakers, nodes that announce no block.
//! They look only at cluster routes inside the pools with the right origin, collected by
//! [`super::route_rules`] into [`PoolRoutes`].

use super::{Collector, Context, Speaker};
use crate::audit::finding::{Check, Finding};
use crate::audit::intent::{NodeRole, Speakers};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Cluster routes inside the pools, with the right origin.
#[derive(Default)]
pub(super) struct PoolRoutes {
    /// Pod routes of any length: (route index, speaker).
    pod: Vec<(usize, Speaker)>,
    /// Pod blocks (the pool's block size) by prefix.
    blocks: HashMap<IpNet, Vec<(usize, Speaker)>>,
    /// LoadBalancer routes (the pool's prefix length) by prefix, with their pool.
    lb: HashMap<IpNet, (usize, Vec<(usize, Speaker)>)>,
}

impl PoolRoutes {
    pub(super) fn add_pod(
        &mut self,
        cx: &Context<'_>,
        i: usize,
        r: &crate::audit::routes::AuditRoute,
        is_block: bool,
    ) {
        let s = cx.speaker(r);
        self.pod.push((i, s));
        if is_block {
            self.blocks.entry(r.prefix).or_default().push((i, s));
        }
    }

    pub(super) fn add_lb(
        &mut self,
        cx: &Context<'_>,
        pool: usize,
        i: usize,
        r: &crate::audit::routes::AuditRoute,
    ) {
        self.lb
            .entry(r.prefix)
            .or_insert_with(|| (pool, Vec::new()))
            .1
            .push((i, cx.speaker(r)));
    }
}

/// Routes covering others' blocks (by index), the covered routes and their speakers.
type Overlap = (BTreeSet<usize>, BTreeSet<usize>, BTreeSet<Speaker>);

fn distinct(v: &[(usize, Speaker)]) -> BTreeSet<Speaker> {
    v.iter().map(|(_, s)| *s).collect()
}

fn names(cx: &Context<'_>, s: &BTreeSet<Speaker>) -> String {
    s.iter()
        .map(|x| cx.speaker_name(*x))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the comparing checks.
pub(super) fn check(cx: &Context<'_>, out: &mut Collector, p: &PoolRoutes) {
    let routes = &cx.set.routes;
    let route = |i: &usize| routes.get(*i);

    // pod-duplicate-block
    for (prefix, v) in &p.blocks {
        let speakers = distinct(v);
        if speakers.len() > 1 {
            out.other.push(Finding::new(
                Check::PodDuplicateBlock,
                prefix.to_string(),
                format!(
                    "pod block {prefix} is announced by {} nodes: {}; a Calico block belongs to one node",
                    speakers.len(),
                    names(cx, &speakers)
                ),
                v.iter().filter_map(|(i, _)| route(i)),
            ));
        }
    }

    // pod-overlap: sort by (family, address, length); a stack holds the chain of routes
    // containing the current one.
    let mut pod: Vec<(IpNet, usize, Speaker)> = p
        .pod
        .iter()
        .filter_map(|(i, s)| route(i).map(|r| (r.prefix, *i, *s)))
        .collect();
    pod.sort_by_key(|(n, _, _)| (n.addr().is_ipv6(), n.network(), n.prefix_len()));
    let mut stack: Vec<(IpNet, usize, Speaker)> = Vec::new();
    // covering prefix -> (covering routes, covered routes, covered speakers)
    let mut overlaps: BTreeMap<IpNet, Overlap> = BTreeMap::new();
    for item in &pod {
        while stack
            .last()
            .is_some_and(|(top, _, _)| !top.contains(&item.0))
        {
            stack.pop();
        }
        for (anc, ai, aspk) in &stack {
            if *anc != item.0 && *aspk != item.2 {
                let e = overlaps.entry(*anc).or_default();
                e.0.insert(*ai);
                e.1.insert(item.1);
                e.2.insert(item.2);
            }
        }
        stack.push(*item);
    }
    for (covering, (by, covered, covered_speakers)) in overlaps {
        let by_speakers: BTreeSet<Speaker> = by
            .iter()
            .filter_map(&route)
            .map(|r| cx.speaker(r))
            .collect();
        let inner: BTreeSet<IpNet> = covered
            .iter()
            .filter_map(&route)
            .map(|r| r.prefix)
            .collect();
        let list: Vec<String> = inner.iter().take(4).map(IpNet::to_string).collect();
        let more = if inner.len() > 4 {
            format!(" and {} more", inner.len() - 4)
        } else {
            String::new()
        };
        out.other.push(Finding::new(
            Check::PodOverlap,
            covering.to_string(),
            format!(
                "{covering} from {} covers {} of {}: {}{more}",
                names(cx, &by_speakers),
                if inner.len() == 1 {
                    "the block"
                } else {
                    "blocks"
                },
                names(cx, &covered_speakers),
                list.join(", ")
            ),
            by.iter().chain(covered.iter()).filter_map(&route),
        ));
    }

    // node-without-pod-block
    let mut has_block: BTreeSet<(usize, bool)> = BTreeSet::new();
    for v in p.blocks.values() {
        for (i, s) in v {
            if let (Speaker::Node(n), Some(r)) = (s, route(i)) {
                has_block.insert((*n, r.prefix.addr().is_ipv6()));
            }
        }
    }
    for (n, node) in cx.nodes_with(NodeRole::Pod) {
        for v6 in [false, true] {
            let pools: Vec<&str> = cx
                .intent
                .pod_pools
                .iter()
                .filter(|p| p.cidr.addr().is_ipv6() == v6)
                .map(|p| p.name.as_str())
                .collect();
            let has_address = node.addresses.iter().any(|a| a.is_ipv6() == v6);
            if pools.is_empty() || !has_address || has_block.contains(&(n, v6)) {
                continue;
            }
            let family = if v6 { "IPv6" } else { "IPv4" };
            out.other.push(Finding::new(
                Check::NodeWithoutPodBlock,
                format!("{} {}", node.name, family.to_lowercase()),
                format!(
                    "{} announces no {family} pod block (pool {})",
                    cx.speaker_name(Speaker::Node(n)),
                    pools.join(", ")
                ),
                [],
            ));
        }
    }

    // Service IPs: lb-missing, lb-too-few-speakers, lb-unlisted-service.
    let lb_nodes: Vec<(usize, &crate::audit::intent::Node)> =
        cx.nodes_with(NodeRole::Loadbalancer).collect();
    for pool in &cx.intent.lb_pools {
        let mut listed = BTreeSet::new();
        for svc in &pool.services {
            let Ok(prefix) = IpNet::new(svc.ip, pool.prefix_length).map(|n| n.trunc()) else {
                continue;
            };
            listed.insert(prefix);
            let v =
                p.lb.get(&prefix)
                    .map(|(_, v)| v.as_slice())
                    .unwrap_or_default();
            let speakers = distinct(v);
            let what = match &svc.name {
                Some(n) => format!("service {} ({n})", svc.ip),
                None => format!("service {}", svc.ip),
            };
            let (expected, policy) = match svc.speakers {
                Speakers::All => (
                    lb_nodes
                        .iter()
                        .filter(|(_, n)| {
                            n.addresses.iter().any(|a| a.is_ipv6() == svc.ip.is_ipv6())
                        })
                        .count(),
                    "externalTrafficPolicy Cluster: every speaker".to_string(),
                ),
                Speakers::AtLeastOne => (
                    1,
                    "externalTrafficPolicy Local: at least one speaker".into(),
                ),
                Speakers::Count(n) => (n as usize, format!("at least {n} speakers")),
            };
            if speakers.is_empty() {
                out.other.push(Finding::new(
                    Check::LbMissing,
                    svc.ip.to_string(),
                    format!("{what} is announced by no speaker ({policy})"),
                    [],
                ));
            } else if speakers.len() < expected {
                let missing: Vec<String> = if svc.speakers == Speakers::All {
                    lb_nodes
                        .iter()
                        .filter(|(i, _)| !speakers.contains(&Speaker::Node(*i)))
                        .map(|(i, _)| cx.speaker_name(Speaker::Node(*i)))
                        .collect()
                } else {
                    Vec::new()
                };
                out.other.push(Finding::new(
                    Check::LbTooFewSpeakers,
                    svc.ip.to_string(),
                    format!(
                        "{what} is announced by {} of {expected} speakers ({policy}): {}{}",
                        speakers.len(),
                        names(cx, &speakers),
                        if missing.is_empty() {
                            String::new()
                        } else {
                            format!("; missing {}", missing.join(", "))
                        }
                    ),
                    v.iter().filter_map(|(i, _)| route(i)),
                ));
            }
        }
        if pool.services.is_empty() {
            continue;
        }
        for (prefix, (_, v)) in &p.lb {
            if pool.cidr.contains(prefix) && !listed.contains(prefix) {
                out.other.push(Finding::new(
                    Check::LbUnlistedService,
                    prefix.to_string(),
                    format!(
                        "{prefix} is announced by {} but is not a service IP listed for pool {}",
                        names(cx, &distinct(v)),
                        pool.name
                    ),
                    v.iter().filter_map(|(i, _)| route(i)),
                ));
            }
        }
    }
}
