//! The checks that compare routes: the same pod block from two nodes, routes covering
//! another node's block, service IPs and their speakers, nodes that announce no block.
//! They look only at cluster routes inside the pools with the right origin, collected by
//! [`super::route_rules`] into [`PoolRoutes`].

use super::{Collector, Context, Speaker};
use crate::audit::finding::{Check, Finding};
use crate::audit::intent::{NodeRole, Speakers};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Cluster routes inside the pools, with the right origin. Plain vectors, sorted once
/// by [`check`]: a table of a million routes has hundreds of thousands of them.
#[derive(Default)]
pub(super) struct PoolRoutes {
    /// Pod routes of any length: (prefix, is a block of the pool's size, route index, speaker).
    pod: Vec<(IpNet, bool, usize, Speaker)>,
    /// LoadBalancer routes of the pool's prefix length: (prefix, route index, speaker).
    lb: Vec<(IpNet, usize, Speaker)>,
}

impl PoolRoutes {
    pub(super) fn add_pod(
        &mut self,
        cx: &Context<'_>,
        i: usize,
        r: &crate::audit::routes::AuditRoute,
        is_block: bool,
    ) {
        self.pod.push((r.prefix, is_block, i, cx.speaker(r)));
    }

    pub(super) fn add_lb(
        &mut self,
        cx: &Context<'_>,
        i: usize,
        r: &crate::audit::routes::AuditRoute,
    ) {
        self.lb.push((r.prefix, i, cx.speaker(r)));
    }
}

/// Sort key of a prefix: family, address, length.
fn order(n: &IpNet) -> (bool, std::net::IpAddr, u8) {
    (n.addr().is_ipv6(), n.network(), n.prefix_len())
}

/// Runs of equal prefixes in a vector sorted by prefix.
fn runs<T>(v: &[T], prefix: impl Fn(&T) -> IpNet) -> impl Iterator<Item = &[T]> {
    v.chunk_by(move |a, b| prefix(a) == prefix(b))
}

/// Routes covering others' blocks (by index), the covered routes and their speakers.
type Overlap = (BTreeSet<usize>, BTreeSet<usize>, BTreeSet<Speaker>);

fn distinct(speakers: impl Iterator<Item = Speaker>) -> BTreeSet<Speaker> {
    speakers.collect()
}

fn names(cx: &Context<'_>, s: &BTreeSet<Speaker>) -> String {
    s.iter()
        .map(|x| cx.speaker_name(*x))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the comparing checks.
pub(super) fn check(cx: &Context<'_>, out: &mut Collector, p: &mut PoolRoutes) {
    let routes = &cx.set.routes;
    let route = |i: &usize| routes.get(*i);
    p.pod.sort_by_key(|(n, _, i, s)| (order(n), *s, *i));
    p.lb.sort_by_key(|(n, i, s)| (order(n), *s, *i));

    // pod-duplicate-block
    let mut has_block: BTreeSet<(usize, bool)> = BTreeSet::new();
    for run in runs(&p.pod, |x| x.0) {
        let blocks: Vec<&(IpNet, bool, usize, Speaker)> = run.iter().filter(|x| x.1).collect();
        for (prefix, _, _, s) in &blocks {
            if let Speaker::Node(n) = s {
                has_block.insert((*n, prefix.addr().is_ipv6()));
            }
        }
        let speakers = distinct(blocks.iter().map(|x| x.3));
        if let (true, Some(first)) = (speakers.len() > 1, blocks.first()) {
            let prefix = first.0;
            out.other.push(Finding::new(
                Check::PodDuplicateBlock,
                prefix.to_string(),
                format!(
                    "pod block {prefix} is announced by {} nodes: {}; a Calico block belongs to one node",
                    speakers.len(),
                    names(cx, &speakers)
                ),
                blocks.iter().filter_map(|x| route(&x.2)),
            ));
        }
    }

    // pod-overlap: in (family, address, length) order, a stack holds the chain of routes
    // containing the current one.
    let mut stack: Vec<(IpNet, usize, Speaker)> = Vec::new();
    let mut overlaps: BTreeMap<IpNet, Overlap> = BTreeMap::new();
    for &(prefix, _, i, speaker) in &p.pod {
        while stack
            .last()
            .is_some_and(|(top, _, _)| !top.contains(&prefix))
        {
            stack.pop();
        }
        for (anc, ai, aspk) in &stack {
            if *anc != prefix && *aspk != speaker {
                let e = overlaps.entry(*anc).or_default();
                e.0.insert(*ai);
                e.1.insert(i);
                e.2.insert(speaker);
            }
        }
        stack.push((prefix, i, speaker));
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
    let announced = |prefix: &IpNet| -> &[(IpNet, usize, Speaker)] {
        let key = order(prefix);
        let start = p.lb.partition_point(|x| order(&x.0) < key);
        let end = p.lb.partition_point(|x| order(&x.0) <= key);
        p.lb.get(start..end).unwrap_or_default()
    };
    let mut listed: HashSet<IpNet> = HashSet::new();
    for pool in &cx.intent.lb_pools {
        for svc in &pool.services {
            let Ok(prefix) = IpNet::new(svc.ip, pool.prefix_length).map(|n| n.trunc()) else {
                continue;
            };
            listed.insert(prefix);
            let v = announced(&prefix);
            let speakers = distinct(v.iter().map(|x| x.2));
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
                    v.iter().filter_map(|x| route(&x.1)),
                ));
            }
        }
    }
    let listing: Vec<&crate::audit::intent::LbPool> = cx
        .intent
        .lb_pools
        .iter()
        .filter(|p| !p.services.is_empty())
        .collect();
    if listing.is_empty() {
        return;
    }
    for run in runs(&p.lb, |x| x.0) {
        let Some(&(prefix, _, _)) = run.first() else {
            continue;
        };
        if listed.contains(&prefix) {
            continue;
        }
        if let Some(pool) = listing.iter().find(|p| p.cidr.contains(&prefix)) {
            out.other.push(Finding::new(
                Check::LbUnlistedService,
                prefix.to_string(),
                format!(
                    "{prefix} is announced by {} but is not a service IP listed for pool {}",
                    names(cx, &distinct(run.iter().map(|x| x.2))),
                    pool.name
                ),
                run.iter().filter_map(|x| route(&x.1)),
            ));
        }
    }
}
