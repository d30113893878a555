//! Best-path selection: RFC 4271 §9.1.2.2 with the RFC 4456 §9 tie-breakers.
//!
//! The steps, in order (the first that differs decides):
//! 0. a path that is not LLGR-stale (RFC 9494 §4.2: LLGR-stale paths are least preferred);
//! 1. highest LOCAL_PREF (absent = 100, RFC 4271 §9.1.1);
//! 2. shortest AS_PATH (an AS_SET counts one, confederation segments zero; §9.1.2.2 a);
//! 3. lowest ORIGIN (IGP < EGP < INCOMPLETE; §9.1.2.2 b);
//! 4. lowest MED, only between routes from the same neighboring AS (absent = 0; §9.1.2.2 c);
//! 5. eBGP-learned over iBGP-learned (§9.1.2.2 d);
//! 6. (IGP cost to the next hop: bgpd runs no IGP, so all are equal; §9.1.2.2 e);
//! 7. lowest BGP identifier, using ORIGINATOR_ID when present (§9.1.2.2 f, RFC 4456 §9);
//! 8. shortest CLUSTER_LIST (RFC 4456 §9);
//! 9. lowest peer address (§9.1.2.2 g).
//!
//! Step 4 makes the order non-transitive, so the best path is found by a linear pass
//! (never by sorting, which needs a total order).

use super::route::RouteAttrs;
use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// The facts about a candidate path that selection looks at.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The path's attributes (after import policy).
    pub attrs: &'a RouteAttrs,
    /// Learned over eBGP.
    pub ebgp: bool,
    /// The BGP identifier of the peer it was learned from.
    pub peer_id: Ipv4Addr,
    /// The address of that peer.
    pub peer_address: IpAddr,
    /// Kept in the long-lived stale phase, or received with LLGR_STALE (RFC 9494 §4.2).
    pub llgr_stale: bool,
}

/// Which step decided between two paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// LLGR-stale against not (RFC 9494 §4.2).
    LlgrStale,
    /// LOCAL_PREF.
    LocalPref,
    /// AS_PATH length.
    AsPathLength,
    /// ORIGIN.
    Origin,
    /// MED.
    Med,
    /// eBGP over iBGP.
    External,
    /// BGP identifier / ORIGINATOR_ID.
    RouterId,
    /// CLUSTER_LIST length.
    ClusterListLength,
    /// Peer address.
    PeerAddress,
    /// Nothing differs.
    Equal,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::LlgrStale => "llgr-stale",
            Step::LocalPref => "local-pref",
            Step::AsPathLength => "as-path-length",
            Step::Origin => "origin",
            Step::Med => "med",
            Step::External => "ebgp-over-ibgp",
            Step::RouterId => "router-id",
            Step::ClusterListLength => "cluster-list-length",
            Step::PeerAddress => "peer-address",
            Step::Equal => "equal",
        })
    }
}

/// Compares two candidates: `Ordering::Less` means `a` is preferred. Returns the deciding step.
pub fn compare(a: &Candidate<'_>, b: &Candidate<'_>) -> (Ordering, Step) {
    let lp = |c: &Candidate<'_>| {
        c.attrs
            .local_pref()
            .unwrap_or(super::route::DEFAULT_LOCAL_PREF)
    };
    let steps: [(Ordering, Step); 9] = [
        (a.llgr_stale.cmp(&b.llgr_stale), Step::LlgrStale),
        (lp(b).cmp(&lp(a)), Step::LocalPref),
        (
            a.attrs.path_len().cmp(&b.attrs.path_len()),
            Step::AsPathLength,
        ),
        (a.attrs.origin().cmp(&b.attrs.origin()), Step::Origin),
        (med_order(a, b), Step::Med),
        (b.ebgp.cmp(&a.ebgp), Step::External),
        (router_id(a).cmp(&router_id(b)), Step::RouterId),
        (cluster_len(a).cmp(&cluster_len(b)), Step::ClusterListLength),
        (a.peer_address.cmp(&b.peer_address), Step::PeerAddress),
    ];
    steps
        .into_iter()
        .find(|(o, _)| *o != Ordering::Equal)
        .unwrap_or((Ordering::Equal, Step::Equal))
}

fn med_order(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    match (a.attrs.first_as(), b.attrs.first_as()) {
        (Some(x), Some(y)) if x == y => a.attrs.med().unwrap_or(0).cmp(&b.attrs.med().unwrap_or(0)),
        _ => Ordering::Equal,
    }
}

fn router_id(c: &Candidate<'_>) -> Ipv4Addr {
    c.attrs.originator_id().unwrap_or(c.peer_id)
}

fn cluster_len(c: &Candidate<'_>) -> usize {
    c.attrs.cluster_list_len()
}

/// The index of the best candidate (a linear pass; `None` when empty).
pub fn select<'a>(candidates: impl IntoIterator<Item = Candidate<'a>>) -> Option<usize> {
    let mut best: Option<(usize, Candidate<'a>)> = None;
    for (i, c) in candidates.into_iter().enumerate() {
        best = match best {
            Some((bi, b)) if compare(&b, &c).0 != Ordering::Greater => Some((bi, b)),
            _ => Some((i, c)),
        };
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::route::NextHop;
    use bgp_proto::{AsPath, AttributeValue, Origin, PathAttribute, PathAttributes};

    fn attrs(path: &[u32], lp: Option<u32>, med: Option<u32>, origin: Origin) -> RouteAttrs {
        let mut v = vec![
            PathAttribute::new(AttributeValue::Origin(origin)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(path.to_vec()))),
        ];
        if let Some(lp) = lp {
            v.push(PathAttribute::new(AttributeValue::LocalPref(lp)));
        }
        if let Some(m) = med {
            v.push(PathAttribute::new(AttributeValue::Med(m)));
        }
        RouteAttrs::new(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)), PathAttributes(v))
    }

    fn cand(a: &RouteAttrs, ebgp: bool, id: u8) -> Candidate<'_> {
        Candidate {
            attrs: a,
            ebgp,
            peer_id: Ipv4Addr::new(10, 0, 0, id),
            peer_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, id)),
            llgr_stale: false,
        }
    }

    #[test]
    fn llgr_stale_is_least_preferred_whatever_else() {
        // RFC 9494 §4.2: even a far better LOCAL_PREF loses when LLGR-stale.
        let better = attrs(&[1], Some(500), None, Origin::Igp);
        let worse = attrs(&[1, 2, 3], Some(50), None, Origin::Incomplete);
        let mut stale = cand(&better, true, 1);
        stale.llgr_stale = true;
        assert_eq!(
            compare(&stale, &cand(&worse, true, 2)),
            (Ordering::Greater, Step::LlgrStale)
        );
        assert_eq!(select(vec![stale, cand(&worse, true, 2)]), Some(1));
    }

    #[test]
    fn each_step_decides() {
        let igp = Origin::Igp;
        let hi = attrs(&[1, 2], Some(200), None, igp);
        let lo = attrs(&[1], Some(100), None, igp);
        assert_eq!(
            compare(&cand(&hi, true, 1), &cand(&lo, true, 2)),
            (Ordering::Less, Step::LocalPref)
        );
        let short = attrs(&[1], None, None, igp);
        let long = attrs(&[1, 2], None, None, igp);
        assert_eq!(
            compare(&cand(&long, true, 1), &cand(&short, true, 2)),
            (Ordering::Greater, Step::AsPathLength)
        );
        let inc = attrs(&[1], None, None, Origin::Incomplete);
        assert_eq!(
            compare(&cand(&inc, true, 1), &cand(&short, true, 2)),
            (Ordering::Greater, Step::Origin)
        );
        let m5 = attrs(&[1], None, Some(5), igp);
        let m9 = attrs(&[1], None, Some(9), igp);
        assert_eq!(
            compare(&cand(&m9, true, 1), &cand(&m5, true, 2)),
            (Ordering::Greater, Step::Med)
        );
        // MED is not compared across neighboring ASes.
        let other = attrs(&[7], None, Some(1), igp);
        assert_eq!(
            compare(&cand(&m9, true, 1), &cand(&other, true, 2)).1,
            Step::RouterId
        );
        assert_eq!(
            compare(&cand(&short, false, 1), &cand(&short, true, 2)),
            (Ordering::Greater, Step::External)
        );
        assert_eq!(
            compare(&cand(&short, true, 3), &cand(&short, true, 2)),
            (Ordering::Greater, Step::RouterId)
        );
    }

    #[test]
    fn reflector_tie_breakers() {
        let mut a = attrs(&[1], None, None, Origin::Igp);
        a.set(AttributeValue::OriginatorId(Ipv4Addr::new(10, 0, 0, 9)));
        let mut b = attrs(&[1], None, None, Origin::Igp);
        b.set(AttributeValue::OriginatorId(Ipv4Addr::new(10, 0, 0, 9)));
        b.set(AttributeValue::ClusterList(
            vec![Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2)].into(),
        ));
        a.set(AttributeValue::ClusterList(
            vec![Ipv4Addr::new(1, 1, 1, 1)].into(),
        ));
        // Peer ids differ (1 < 2) but ORIGINATOR_ID is equal, so CLUSTER_LIST decides.
        assert_eq!(
            compare(&cand(&b, false, 1), &cand(&a, false, 2)),
            (Ordering::Greater, Step::ClusterListLength)
        );
    }

    #[test]
    fn select_is_linear_and_handles_med_cycles() {
        // A classic MED cycle: the result must be one of them and must not panic.
        let a = attrs(&[1], None, Some(10), Origin::Igp);
        let b = attrs(&[1], None, Some(20), Origin::Igp);
        let c = attrs(&[2], None, Some(0), Origin::Igp);
        let cands = vec![cand(&b, true, 1), cand(&c, true, 3), cand(&a, true, 2)];
        assert!(select(cands).is_some());
        assert_eq!(select(Vec::<Candidate<'_>>::new()), None);
    }
}
