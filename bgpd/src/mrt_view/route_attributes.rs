//! The attribute columns of a route line, computed once per message (or RIB entry) with
//! bgpdump's rules:
//!
//! - AS path: bgpdump notation (`{a,b}` AS_SET, `(a b)` AS_CONFED_SEQUENCE, `[a,b]`
//!   AS_CONFED_SET); cut with `...` past 7,900 characters; `! Error !` when the AS_PATH is
//!   malformed; empty when absent.
//! - 2-octet records (BGP4MP MESSAGE, TABLE_DUMP): AS4_AGGREGATOR replaces an AGGREGATOR of
//!   AS_TRANS; when AGGREGATOR is another AS while AS4_AGGREGATOR is present, AS4_PATH is
//!   ignored. Otherwise AS4_PATH is merged when it is not longer than AS_PATH, counting a
//!   set as one and confederation sequences by their length (unlike RFC 6793 §4.2.3).
//! - ORIGIN absent or unknown prints INCOMPLETE; a missing NEXT_HOP prints 255.255.255.255;
//!   missing LOCAL_PREF and MED print 0.
//! - Communities: `aa:nn` separated by spaces, with `no-export`, `no-advertise` and
//!   `local-AS` for the RFC 1997 well-known values. Large communities are not printed.
//! - AG/NAG: whether ATOMIC_AGGREGATE was present. Aggregator `AS address`, empty when
//!   absent (or when its address is 255.255.255.255).

use super::text_format::push_u32;
use bgp_proto::{
    AsPath, AsSegment, ErrorKind, Origin, PathAttributes, SegmentType, UpdateIssue, AS_TRANS,
};
use std::net::Ipv4Addr;

/// bgpdump's AS path string limit: past this many characters it stops with `...`.
const AS_PATH_TEXT_LIMIT: usize = 7900;

/// The attribute columns of one route, as text and numbers.
#[derive(Debug)]
pub(crate) struct RouteAttributes {
    /// The AS path text (ASCII).
    pub as_path: Vec<u8>,
    /// IGP, EGP or INCOMPLETE.
    pub origin: &'static str,
    /// NEXT_HOP, or 255.255.255.255 when absent.
    pub next_hop: Ipv4Addr,
    /// LOCAL_PREF, 0 when absent.
    pub local_pref: u32,
    /// MULTI_EXIT_DISC, 0 when absent.
    pub med: u32,
    /// Communities text (ASCII, space-separated).
    pub communities: Vec<u8>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// Aggregator AS and address.
    pub aggregator: Option<(u32, Ipv4Addr)>,
}

impl Default for RouteAttributes {
    fn default() -> Self {
        RouteAttributes {
            as_path: Vec::new(),
            origin: "INCOMPLETE",
            next_hop: Ipv4Addr::BROADCAST,
            local_pref: 0,
            med: 0,
            communities: Vec::new(),
            atomic_aggregate: false,
            aggregator: None,
        }
    }
}

impl RouteAttributes {
    /// Recomputes every column from `attrs` (`two_octet`: the record carries 2-octet AS
    /// numbers, so AS4_PATH and AS4_AGGREGATOR apply).
    pub(crate) fn fill(&mut self, attrs: &PathAttributes, issues: &[UpdateIssue], two_octet: bool) {
        self.origin = match attrs.origin() {
            Some(Origin::Igp) => "IGP",
            Some(Origin::Egp) => "EGP",
            _ => "INCOMPLETE",
        };
        self.next_hop = attrs.next_hop().copied().unwrap_or(Ipv4Addr::BROADCAST);
        self.local_pref = attrs.local_pref().copied().unwrap_or(0);
        self.med = attrs.med().copied().unwrap_or(0);
        self.atomic_aggregate =
            attrs.atomic_aggregate() || issues.iter().any(|i| issue_type_code(&i.kind) == Some(6));
        self.fill_communities(attrs);

        let mut aggregator = attrs.aggregator().copied();
        let mut merge_as4 = two_octet;
        if two_octet {
            if let (Some(a), Some(a4)) = (aggregator, attrs.as4_aggregator()) {
                if a.asn == AS_TRANS {
                    aggregator = Some(*a4);
                } else {
                    merge_as4 = false;
                }
            }
        }
        self.aggregator = aggregator
            .filter(|a| a.address != Ipv4Addr::BROADCAST)
            .map(|a| (a.asn, a.address));

        self.as_path.clear();
        match attrs.as_path() {
            None => {
                if issues.iter().any(|i| as_path_unreadable(&i.kind)) {
                    self.as_path.extend_from_slice(b"! Error !");
                }
            }
            Some(path) => match attrs.as4_path().filter(|_| merge_as4) {
                Some(as4) if bgpdump_count(path) >= bgpdump_count(as4) => {
                    let merged = merge(path, as4);
                    self.write_as_path(merged.segments());
                }
                _ => self.write_as_path(path.segments()),
            },
        }
    }

    fn fill_communities(&mut self, attrs: &PathAttributes) {
        let out = &mut self.communities;
        out.clear();
        for (i, c) in attrs.communities().iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            match c.0 {
                0xFFFF_FF01 => out.extend_from_slice(b"no-export"),
                0xFFFF_FF02 => out.extend_from_slice(b"no-advertise"),
                0xFFFF_FF03 => out.extend_from_slice(b"local-AS"),
                v => {
                    push_u32(out, v >> 16);
                    out.push(b':');
                    push_u32(out, v & 0xffff);
                }
            }
        }
    }

    fn write_as_path<'a>(&mut self, segments: impl Iterator<Item = AsSegment<'a>>) {
        let out = &mut self.as_path;
        out.clear();
        'segments: for (i, seg) in segments.enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            let (open, sep) = match seg.kind {
                SegmentType::Sequence => (None, b' '),
                SegmentType::Set => (Some(b'{'), b','),
                SegmentType::ConfedSequence => (Some(b'('), b' '),
                SegmentType::ConfedSet => (Some(b'['), b','),
            };
            out.extend(open);
            for (j, asn) in seg.asns.iter().enumerate() {
                if j > 0 {
                    out.push(sep);
                }
                push_u32(out, *asn);
                if out.len() > AS_PATH_TEXT_LIMIT {
                    out.extend_from_slice(b"...");
                    break 'segments;
                }
            }
            match seg.kind {
                SegmentType::Sequence => {}
                SegmentType::Set => out.push(b'}'),
                SegmentType::ConfedSequence => out.push(b')'),
                SegmentType::ConfedSet => out.push(b']'),
            }
        }
    }
}

/// The attribute type an RFC 7606 issue is about, if it names one.
fn issue_type_code(kind: &ErrorKind) -> Option<u8> {
    match kind {
        ErrorKind::AttributeFlags { type_code, .. }
        | ErrorKind::AttributeLength { type_code, .. }
        | ErrorKind::DuplicateAttribute { type_code } => Some(*type_code),
        _ => None,
    }
}

/// An AS_PATH bgpdump cannot read either (it accepts empty segments and AS 0).
fn as_path_unreadable(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::MalformedAsPath { type_code: 2, reason } if *reason != "zero-length segment"
    )
}

/// bgpdump's path length: sets count one, every other segment its length.
fn bgpdump_count(p: &AsPath) -> usize {
    p.segments()
        .map(|s| match s.kind {
            SegmentType::Set | SegmentType::ConfedSet => 1,
            SegmentType::Sequence | SegmentType::ConfedSequence => s.asns.len(),
        })
        .sum()
}

/// bgpdump's AS_PATH + AS4_PATH merge: leading segments of AS_PATH until its count minus
/// AS4_PATH's count is reached (the last one cut short), then AS4_PATH as it is.
fn merge(path: &AsPath, as4: &AsPath) -> AsPath {
    let keep = bgpdump_count(path) - bgpdump_count(as4);
    let mut out = Vec::new();
    let mut count = 0;
    for seg in path.segments() {
        if count >= keep {
            break;
        }
        match seg.kind {
            SegmentType::Set | SegmentType::ConfedSet => {
                count += 1;
                out.push(seg);
            }
            SegmentType::Sequence | SegmentType::ConfedSequence => {
                let n = seg.asns.len().min(keep - count);
                count += seg.asns.len();
                out.push(AsSegment {
                    kind: seg.kind,
                    asns: seg.asns.get(..n).unwrap_or(seg.asns),
                });
            }
        }
    }
    out.extend(as4.segments());
    AsPath::from_segments(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::{Aggregator, AttributeValue, PathAttribute};

    fn text(v: &[u8]) -> &str {
        std::str::from_utf8(v).unwrap_or_default()
    }

    fn attrs(values: Vec<AttributeValue>) -> PathAttributes {
        PathAttributes(values.into_iter().map(PathAttribute::new).collect())
    }

    fn seg(kind: SegmentType, asns: &[u32]) -> AsSegment<'_> {
        AsSegment { kind, asns }
    }

    #[test]
    fn notation_and_defaults() {
        let path = AsPath::from_segments([
            seg(SegmentType::ConfedSequence, &[65001, 65002]),
            seg(SegmentType::Sequence, &[1, 2]),
            seg(SegmentType::Set, &[3, 4]),
            seg(SegmentType::ConfedSet, &[5]),
        ]);
        let mut r = RouteAttributes::default();
        r.fill(&attrs(vec![AttributeValue::AsPath(path)]), &[], false);
        assert_eq!(text(&r.as_path), "(65001 65002) 1 2 {3,4} [5]");
        assert_eq!(r.origin, "INCOMPLETE");
        assert_eq!(r.next_hop, Ipv4Addr::BROADCAST);
        assert_eq!((r.local_pref, r.med), (0, 0));
        assert!(!r.atomic_aggregate && r.aggregator.is_none());
    }

    #[test]
    fn as4_merge_and_aggregator() {
        let two = AsPath::sequence(vec![64496, AS_TRANS, AS_TRANS]);
        let four = AsPath::sequence(vec![4_200_000_000, 4_200_000_001]);
        let trans = Aggregator {
            asn: AS_TRANS,
            address: Ipv4Addr::new(192, 0, 2, 1),
        };
        let real = Aggregator {
            asn: 4_200_000_001,
            address: Ipv4Addr::new(192, 0, 2, 1),
        };
        let mut r = RouteAttributes::default();
        let a = attrs(vec![
            AttributeValue::AsPath(two.clone()),
            AttributeValue::As4Path(four.clone()),
            AttributeValue::Aggregator(trans),
            AttributeValue::As4Aggregator(real),
        ]);
        r.fill(&a, &[], true);
        assert_eq!(text(&r.as_path), "64496 4200000000 4200000001");
        assert_eq!(r.aggregator, Some((4_200_000_001, real.address)));
        // A 4-octet record ignores AS4_PATH.
        r.fill(&a, &[], false);
        assert_eq!(text(&r.as_path), "64496 23456 23456");
        // AGGREGATOR of another AS than AS_TRANS with AS4_AGGREGATOR: no merge at all.
        let other = Aggregator {
            asn: 64497,
            ..trans
        };
        let a = attrs(vec![
            AttributeValue::AsPath(two),
            AttributeValue::As4Path(four),
            AttributeValue::Aggregator(other),
            AttributeValue::As4Aggregator(real),
        ]);
        r.fill(&a, &[], true);
        assert_eq!(text(&r.as_path), "64496 23456 23456");
        assert_eq!(r.aggregator, Some((64497, other.address)));
    }

    #[test]
    fn communities_with_names() {
        let a = attrs(vec![AttributeValue::Communities(
            vec![
                bgp_proto::Community(0xFFFF_FF01),
                bgp_proto::Community::new(3356, 2),
                bgp_proto::Community(0xFFFF_FF03),
            ]
            .into(),
        )]);
        let mut r = RouteAttributes::default();
        r.fill(&a, &[], false);
        assert_eq!(text(&r.communities), "no-export 3356:2 local-AS");
    }

    #[test]
    fn long_paths_are_cut() {
        let path = AsPath::sequence((0..2000u32).map(|i| 4_000_000_000 + i).collect::<Vec<_>>());
        let mut r = RouteAttributes::default();
        r.fill(&attrs(vec![AttributeValue::AsPath(path)]), &[], false);
        assert!(r.as_path.ends_with(b"..."));
        assert!(r.as_path.len() <= AS_PATH_TEXT_LIMIT + 20);
    }
}
