//! The rules one route can break by itself: where it lies (pools, protected ranges,
//! forbidden ranges, what the upstream may announce), who originates it, its next hop,
//! communities, AS path and LOCAL_PREF. Routes inside the pools are also handed to
//! [`super::coverage`] for the checks that compare routes.

use super::coverage::PoolRoutes;
use super::{Collector, Context, Pool};
use crate::audit::finding::Check;
use crate::audit::intent::Side;
use crate::audit::routes::{is_private_as, AuditRoute};
use crate::config::{CommunityText, LargeCommunityText};

fn origin_text(origin: Option<u32>) -> String {
    match origin {
        Some(a) => format!("AS {a}"),
        None => "no single AS (the path ends in an AS_SET or is empty)".into(),
    }
}

fn as_list(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Applies every per-route rule to route `i`.
pub(super) fn check_route(
    cx: &Context<'_>,
    out: &mut Collector,
    pool_routes: &mut PoolRoutes,
    i: usize,
    r: &AuditRoute,
) {
    let side = cx.side(r);
    let origin = cx.origin(r);
    let len = r.prefix.prefix_len();
    let from = || cx.speaker_name(cx.speaker(r));
    // A forbidden prefix is reported as such, not also as outside the pools.
    let forbidden = cx.intent.forbidden.iter().find(|f| {
        (f.from == Side::Any || f.from == side) && f.prefixes.iter().any(|m| m.matches(&r.prefix))
    });
    if let Some(f) = forbidden {
        out.hit(Check::ForbiddenPrefix, r, i, || {
            format!(
                "{} from {} ({} side) is forbidden: {}",
                r.prefix,
                from(),
                if side == Side::Upstream {
                    "upstream"
                } else {
                    "cluster"
                },
                f.reason
            )
        });
    }
    // An origin hijack of a protected range is not also an unexpected upstream prefix.
    let mut hijack = false;
    match cx.pool(&r.prefix) {
        Some(Pool::Pod(p)) => {
            let Some(pool) = cx.intent.pod_pools.get(p) else {
                return;
            };
            let origin_ok = origin.is_some_and(|a| pool.origin_as.contains(&a));
            if !origin_ok {
                hijack = true;
                if len == pool.block_size {
                    out.hit(Check::PodWrongOrigin, r, i, || {
                        format!(
                            "pod block {} from {} is originated by {}; pool {} expects AS {}",
                            r.prefix,
                            from(),
                            origin_text(origin),
                            pool.name,
                            as_list(&pool.origin_as)
                        )
                    });
                } else {
                    out.hit(Check::ProtectedMoreSpecific, r, i, || {
                        format!(
                            "{} inside pod pool {} ({}) is announced by {} with origin {}, not AS {}",
                            r.prefix,
                            pool.name,
                            pool.cidr,
                            from(),
                            origin_text(origin),
                            as_list(&pool.origin_as)
                        )
                    });
                }
            } else if side == Side::Cluster {
                if len != pool.block_size {
                    out.hit(Check::PodWrongLength, r, i, || {
                        format!(
                            "{} from {} is a /{len} inside pod pool {}, whose blocks are /{}",
                            r.prefix,
                            from(),
                            pool.name,
                            pool.block_size
                        )
                    });
                }
                let allowed = cx.pod_next_hops.get(p);
                check_next_hop(cx, out, i, r, allowed, &pool.name);
                check_communities(
                    out,
                    i,
                    r,
                    &pool.name,
                    &pool.required_communities,
                    &pool.required_large_communities,
                    &from,
                );
                pool_routes.add_pod(cx, i, r, len == pool.block_size);
            }
        }
        Some(Pool::Lb(p)) => {
            let Some(pool) = cx.intent.lb_pools.get(p) else {
                return;
            };
            let origin_ok = origin.is_some_and(|a| pool.origin_as.contains(&a));
            if !origin_ok {
                hijack = true;
                if len == pool.prefix_length {
                    out.hit(Check::LbWrongOrigin, r, i, || {
                        format!(
                            "LoadBalancer IP {} from {} is originated by {}; pool {} expects AS {} (MetalLB)",
                            r.prefix,
                            from(),
                            origin_text(origin),
                            pool.name,
                            as_list(&pool.origin_as)
                        )
                    });
                } else {
                    out.hit(Check::ProtectedMoreSpecific, r, i, || {
                        format!(
                            "{} inside LoadBalancer pool {} ({}) is announced by {} with origin {}, not AS {}",
                            r.prefix,
                            pool.name,
                            pool.cidr,
                            from(),
                            origin_text(origin),
                            as_list(&pool.origin_as)
                        )
                    });
                }
            } else if side == Side::Cluster {
                if len != pool.prefix_length {
                    out.hit(Check::LbWrongLength, r, i, || {
                        format!(
                            "{} from {} is a /{len} inside LoadBalancer pool {}, which announces /{}",
                            r.prefix,
                            from(),
                            pool.name,
                            pool.prefix_length
                        )
                    });
                } else {
                    pool_routes.add_lb(cx, i, r);
                }
                let allowed = cx.lb_next_hops.get(p);
                check_next_hop(cx, out, i, r, allowed, &pool.name);
                check_communities(
                    out,
                    i,
                    r,
                    &pool.name,
                    &pool.required_communities,
                    &pool.required_large_communities,
                    &from,
                );
            }
        }
        None => {
            if let Some(prot) = cx
                .intent
                .protected
                .iter()
                .find(|p| p.prefix.contains(&r.prefix))
            {
                if !origin.is_some_and(|a| prot.origin_as.contains(&a)) {
                    hijack = true;
                    out.hit(Check::ProtectedMoreSpecific, r, i, || {
                        format!(
                            "{} inside protected range {} ({}) is announced by {} with origin {}{}",
                            r.prefix,
                            prot.name,
                            prot.prefix,
                            from(),
                            origin_text(origin),
                            if prot.origin_as.is_empty() {
                                "; nobody may announce it".to_string()
                            } else {
                                format!(", not AS {}", as_list(&prot.origin_as))
                            }
                        )
                    });
                }
            } else if side == Side::Cluster
                && forbidden.is_none()
                && !cx
                    .intent
                    .cluster_may_announce
                    .iter()
                    .any(|m| m.matches(&r.prefix))
            {
                if let Some(a) = origin.filter(|a| cx.pod_as.contains(a)) {
                    out.hit(Check::PodOutsidePool, r, i, || {
                        format!(
                            "{} from {} (origin AS {a}, a pod AS) is outside every pod and LoadBalancer pool",
                            r.prefix,
                            from()
                        )
                    });
                } else if let Some(a) = origin.filter(|a| cx.lb_as.contains(a)) {
                    out.hit(Check::LbOutsidePool, r, i, || {
                        format!(
                            "{} from {} (origin AS {a}, a LoadBalancer AS) is outside every LoadBalancer pool",
                            r.prefix,
                            from()
                        )
                    });
                }
            }
        }
    }
    if side == Side::Cluster {
        check_path(cx, out, i, r, &from);
    }
    if side == Side::Upstream && !hijack {
        if let Some(u) = &cx.intent.upstream {
            if !u.may_announce.is_empty() && !u.may_announce.iter().any(|m| m.matches(&r.prefix)) {
                out.hit(Check::UpstreamUnexpectedPrefix, r, i, || {
                    format!(
                        "{} from the upstream {} ({}) is not in its may_announce list",
                        r.prefix, u.name, r.peer
                    )
                });
            }
        }
    }
    check_local_pref(cx, out, i, r);
}

fn check_next_hop(
    cx: &Context<'_>,
    out: &mut Collector,
    i: usize,
    r: &AuditRoute,
    allowed: Option<&std::collections::BTreeSet<std::net::IpAddr>>,
    pool: &str,
) {
    let ok = match (r.next_hop, allowed) {
        (Some(nh), Some(set)) => set.contains(&nh),
        _ => false,
    };
    if !ok {
        out.hit(Check::NextHopNotNode, r, i, || {
            format!(
                "{} from {} has next hop {}, which is not a node allowed for pool {pool}",
                r.prefix,
                cx.speaker_name(cx.speaker(r)),
                r.next_hop
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "none".into())
            )
        });
    }
}

fn check_communities(
    out: &mut Collector,
    i: usize,
    r: &AuditRoute,
    pool: &str,
    communities: &[CommunityText],
    large: &[LargeCommunityText],
    from: &dyn Fn() -> String,
) {
    let mut missing: Vec<String> = communities
        .iter()
        .filter(|c| !r.path.communities.contains(&c.0))
        .map(|c| c.0.to_string())
        .collect();
    missing.extend(
        large
            .iter()
            .filter(|c| !r.path.large_communities.contains(&c.0))
            .map(|c| c.0.to_string()),
    );
    if !missing.is_empty() {
        out.hit(Check::MissingRequiredCommunity, r, i, || {
            format!(
                "{} from {} lacks {} required by pool {pool}",
                r.prefix,
                from(),
                missing.join(", ")
            )
        });
    }
}

fn check_path(
    cx: &Context<'_>,
    out: &mut Collector,
    i: usize,
    r: &AuditRoute,
    from: &dyn Fn() -> String,
) {
    let path = &r.path.as_path;
    if path.has_as_set() {
        out.hit(Check::AsSet, r, i, || {
            format!(
                "{} from {} carries an AS_SET in [{path}] (deprecated, RFC 6472)",
                r.prefix,
                from()
            )
        });
    }
    if let Some(max) = cx.intent.max_as_path_length {
        let n = path.path_len();
        if n > max {
            out.hit(Check::AsPathTooLong, r, i, || {
                format!(
                    "{} from {} has an AS path of {n} ASes [{path}], more than the maximum {max}",
                    r.prefix,
                    from()
                )
            });
        }
    }
    let private = path
        .segments()
        .flat_map(|s| s.asns)
        .find(|a| is_private_as(**a) && !cx.named_as.contains(a));
    if let Some(a) = private {
        out.hit(Check::PrivateAsToUpstream, r, i, || {
            format!(
                "{} from {} carries private AS {a} in [{path}], which the intent does not name; the vMX would pass it on",
                r.prefix,
                from()
            )
        });
    }
}

fn check_local_pref(cx: &Context<'_>, out: &mut Collector, i: usize, r: &AuditRoute) {
    let Some(lp) = r.path.local_pref else { return };
    if !cx.set.attributes_as_received {
        return;
    }
    let peer = cx.set.peers.get(&r.peer).copied().unwrap_or_default();
    let local = peer.local_as.or(cx.intent.local_as);
    if let (Some(peer_as), Some(local_as)) = (peer.asn, local) {
        if peer_as != local_as {
            out.hit(Check::LocalPrefOverEbgp, r, i, || {
                format!(
                    "{} from {} (AS {peer_as}, eBGP to AS {local_as}) carries LOCAL_PREF {lp}, which is for iBGP only",
                    r.prefix, r.peer
                )
            });
        }
    }
}
