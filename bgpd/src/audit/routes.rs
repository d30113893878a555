//! The routes an audit looks at, whatever their source: one [`AuditRoute`] per path (peer,
//! prefix, path id), with its attributes shared ([`PathInfo`], interned: a table of a
//! million routes has far fewer distinct attribute sets).

use crate::daemon::query::{NeighborRow, RibEntry};
use bgp_proto::{AsPath, AsSegment, Community, LargeCommunity, SegmentType};
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// The attributes of a route the checks read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PathInfo {
    /// AS_PATH (4-octet, AS4_PATH merged).
    pub as_path: AsPath,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities.
    pub communities: Vec<Community>,
    /// Large communities.
    pub large_communities: Vec<LargeCommunity>,
}

impl PathInfo {
    /// The originating AS (rightmost of a final AS_SEQUENCE).
    pub fn origin_as(&self) -> Option<u32> {
        self.as_path.origin_as()
    }
}

/// One path.
#[derive(Debug, Clone)]
pub struct AuditRoute {
    /// The prefix.
    pub prefix: IpNet,
    /// The peer it was received from.
    pub peer: IpAddr,
    /// ADD-PATH path id (0 without).
    pub path_id: u32,
    /// Next hop (the global address for IPv6), if the route has one.
    pub next_hop: Option<IpAddr>,
    /// Shared attributes.
    pub path: Arc<PathInfo>,
}

/// What is known about a peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its AS.
    pub asn: Option<u32>,
    /// The AS of the speaker on our side of the session (MRT BGP4MP records say it).
    pub local_as: Option<u32>,
}

/// The routes to audit and what the source knows about them.
#[derive(Debug, Clone, Default)]
pub struct RouteSet {
    /// Every path.
    pub routes: Vec<AuditRoute>,
    /// Peers by address.
    pub peers: HashMap<IpAddr, PeerInfo>,
    /// LOCAL_PREF is as the peer sent it (MRT), not as import policy left it (Loc-RIB);
    /// `local-pref-over-ebgp` only runs when it is.
    pub attributes_as_received: bool,
    /// Where the routes came from, for the report.
    pub source: String,
    /// What the source could not read (skipped records, a possibly cut snapshot).
    pub notes: Vec<String>,
}

/// Interns [`PathInfo`]s: equal attribute sets share one allocation.
#[derive(Debug, Default)]
pub struct PathInterner {
    paths: HashSet<Arc<PathInfo>>,
    /// By a hash of the text, so a repeated attribute set costs no allocation.
    by_text: HashMap<u64, Vec<(TextKey, Arc<PathInfo>)>>,
}

#[derive(Debug)]
struct TextKey {
    as_path: String,
    local_pref: Option<u32>,
    communities: Vec<String>,
    large_communities: Vec<String>,
}

impl PathInterner {
    /// The shared copy of `p`.
    pub fn intern(&mut self, p: PathInfo) -> Arc<PathInfo> {
        if let Some(k) = self.paths.get(&p) {
            return k.clone();
        }
        let a = Arc::new(p);
        self.paths.insert(a.clone());
        a
    }

    /// The attributes of a RIB entry as the API or a snapshot prints them.
    pub fn from_text(
        &mut self,
        as_path: &str,
        local_pref: Option<u32>,
        communities: &[String],
        large_communities: &[String],
    ) -> Result<Arc<PathInfo>, String> {
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (as_path, local_pref, communities, large_communities).hash(&mut h);
            h.finish()
        };
        let same = |k: &TextKey| {
            k.as_path == as_path
                && k.local_pref == local_pref
                && k.communities == communities
                && k.large_communities == large_communities
        };
        if let Some((_, p)) = self
            .by_text
            .get(&hash)
            .and_then(|v| v.iter().find(|(k, _)| same(k)))
        {
            return Ok(p.clone());
        }
        let info = PathInfo {
            as_path: parse_as_path(as_path)?,
            local_pref,
            communities: communities
                .iter()
                .map(|c| c.parse().map_err(|_| format!("bad community {c:?}")))
                .collect::<Result<_, _>>()?,
            large_communities: large_communities
                .iter()
                .map(|c| c.parse().map_err(|_| format!("bad large community {c:?}")))
                .collect::<Result<_, _>>()?,
        };
        let p = self.intern(info);
        let key = TextKey {
            as_path: as_path.to_string(),
            local_pref,
            communities: communities.to_vec(),
            large_communities: large_communities.to_vec(),
        };
        self.by_text.entry(hash).or_default().push((key, p.clone()));
        Ok(p)
    }
}

/// Parses an AS path in the notation bgpd and bgpdump print: sequences space-separated,
/// `{a,b}` AS_SET, `(a b)` AS_CONFED_SEQUENCE, `[a,b]` AS_CONFED_SET.
pub fn parse_as_path(text: &str) -> Result<AsPath, String> {
    let mut segments: Vec<(SegmentType, Vec<u32>)> = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (kind, close) = match rest.chars().next() {
            Some('{') => (SegmentType::Set, '}'),
            Some('(') => (SegmentType::ConfedSequence, ')'),
            Some('[') => (SegmentType::ConfedSet, ']'),
            _ => (SegmentType::Sequence, ' '),
        };
        let (body, after) = if kind == SegmentType::Sequence {
            // A run of numbers up to the next bracket.
            let end = rest.find(['{', '(', '[']).unwrap_or(rest.len());
            rest.split_at(end)
        } else {
            let end = rest
                .find(close)
                .ok_or_else(|| format!("AS path {text:?}: missing {close:?}"))?;
            let (inner, after) = rest.split_at(end);
            (
                inner.get(1..).unwrap_or_default(),
                after.get(1..).unwrap_or_default(),
            )
        };
        let asns = body
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u32>()
                    .map_err(|_| format!("AS path {text:?}: {s:?} is not an AS number"))
            })
            .collect::<Result<Vec<u32>, String>>()?;
        if !asns.is_empty() {
            match segments.last_mut() {
                Some((last, joined)) if *last == kind && kind == SegmentType::Sequence => {
                    joined.extend(asns);
                }
                _ => segments.push((kind, asns)),
            }
        }
        rest = after.trim_start();
    }
    Ok(AsPath::from_segments(
        segments
            .iter()
            .map(|(kind, asns)| AsSegment { kind: *kind, asns }),
    ))
}

/// Private AS numbers (RFC 6996): 64512–65534 and 4200000000–4294967294.
pub fn is_private_as(asn: u32) -> bool {
    (64512..=65534).contains(&asn) || (4_200_000_000..=4_294_967_294).contains(&asn)
}

impl RouteSet {
    /// Routes from RIB entries (the API's or a snapshot's JSON). `neighbors`, when known,
    /// gives each peer's AS.
    pub fn from_rib_entries(
        entries: &[RibEntry],
        neighbors: &[NeighborRow],
        source: String,
    ) -> Result<RouteSet, String> {
        let mut interner = PathInterner::default();
        let mut routes = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let at = || format!("entry {i} ({} from {})", e.prefix, e.peer);
            let prefix: IpNet = e
                .prefix
                .parse()
                .map_err(|_| format!("{}: {:?} is not a prefix", at(), e.prefix))?;
            let next_hop = e
                .next_hop
                .split_whitespace()
                .next()
                .and_then(|a| a.parse().ok());
            let path = interner
                .from_text(
                    &e.as_path,
                    e.local_pref,
                    &e.communities,
                    &e.large_communities,
                )
                .map_err(|m| format!("{}: {m}", at()))?;
            routes.push(AuditRoute {
                prefix: prefix.trunc(),
                peer: e.peer,
                path_id: e.path_id,
                next_hop,
                path,
            });
        }
        let peers = neighbors
            .iter()
            .map(|n| {
                (
                    n.address,
                    PeerInfo {
                        asn: Some(n.peer_as),
                        local_as: None,
                    },
                )
            })
            .collect();
        Ok(RouteSet {
            routes,
            peers,
            attributes_as_received: false,
            source,
            notes: Vec::new(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn as_path_text_round_trips() {
        for text in [
            "",
            "64513",
            "64512 64513",
            "64512 {64513,64514}",
            "(65001 65002) 64512 [1,2] 3",
        ] {
            let p = parse_as_path(text).unwrap();
            assert_eq!(p.to_string(), text);
        }
        assert!(parse_as_path("64512 x").is_err());
        assert!(parse_as_path("{64512").is_err());
        assert_eq!(parse_as_path("64512 {1,2}").unwrap().path_len(), 2);
    }

    #[test]
    fn private_as() {
        assert!(is_private_as(64512) && is_private_as(65534) && is_private_as(4_200_000_000));
        assert!(!is_private_as(65535) && !is_private_as(3356));
    }
}
