//! What the RIBs store per route: interned attributes (kept encoded or decoded) and the next
//! hop.

use super::attr_block;
use bgp_proto::{
    attribute_type as tc, AsPath, AttributeValue, Community, LargeCommunity, Origin,
    PathAttributes, SessionContext,
};
use bytes::BytesMut;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

/// Index of a peer in the daemon (stable while the neighbor is configured).
pub type PeerId = u32;

/// A route's next hop, whatever attribute carried it (NEXT_HOP or MP_REACH_NLRI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NextHop {
    /// An IPv4 next hop.
    V4(Ipv4Addr),
    /// An IPv6 next hop with an optional link-local address (RFC 2545 §3).
    V6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address.
        link_local: Option<Ipv6Addr>,
    },
}

impl NextHop {
    /// The address to show and compare (the global one for IPv6).
    pub fn addr(&self) -> IpAddr {
        match self {
            NextHop::V4(a) => IpAddr::V4(*a),
            NextHop::V6 { global, .. } => IpAddr::V6(*global),
        }
    }

    /// A next hop from an address.
    pub fn from_addr(a: IpAddr) -> Self {
        match a {
            IpAddr::V4(a) => NextHop::V4(a),
            IpAddr::V6(global) => NextHop::V6 {
                global,
                link_local: None,
            },
        }
    }
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHop::V4(a) => write!(f, "{a}"),
            NextHop::V6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            NextHop::V6 {
                global,
                link_local: Some(ll),
            } => write!(f, "{global} ({ll})"),
        }
    }
}

/// The attributes of a route: the next hop plus every path attribute except NEXT_HOP,
/// MP_REACH_NLRI and MP_UNREACH_NLRI. Interned: equal sets share one allocation.
///
/// A set is kept in one of two forms, and the other is made from it when first asked for:
/// - **encoded**: the attribute block as received (RFC 4271 §4.3), minus NEXT_HOP, in rising
///   type-code order with 4-octet AS numbers ([`RouteAttrs::from_encoded`]). A clean UPDATE's
///   set is kept so ([`super::received`]): copied once from the message, never decoded while
///   the RIB only stores, selects and exports it to route-server clients, which get the
///   octets as they are;
/// - **parsed**: a [`PathAttributes`] ([`RouteAttrs::new`]): sets the full decoder made,
///   and every set policy or an export rewrites ([`RouteAttrs::edit`]).
///
/// The per-route values the RIB reads ([`RouteAttrs::origin`], [`RouteAttrs::path_len`],
/// [`RouteAttrs::contains_as`], …) come from whichever form is there
/// ([`super::attr_block`] reads the octets). Equality and hashing use the encoded form, so a
/// set is the same whichever way it came.
pub struct RouteAttrs {
    /// Next hop.
    pub next_hop: NextHop,
    encoded: OnceLock<Box<[u8]>>,
    parsed: OnceLock<PathAttributes>,
}

/// Shared attributes.
pub type SharedAttrs = Arc<RouteAttrs>;

/// RFC 4271 §9.1.1: LOCAL_PREF assumed when absent.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// The context a set is encoded in: 4-octet AS numbers (RFC 6793), whatever the peer's.
fn canonical() -> SessionContext {
    SessionContext {
        four_octet_as: true,
        ibgp: true,
        ..SessionContext::default()
    }
}

impl RouteAttrs {
    /// A set of decoded attributes (kept in the given order).
    pub fn new(next_hop: NextHop, attributes: PathAttributes) -> Self {
        RouteAttrs {
            next_hop,
            encoded: OnceLock::new(),
            parsed: OnceLock::from(attributes),
        }
    }

    /// A set kept encoded: `block` holds well-formed attributes (checked by
    /// [`bgp_proto::CheckedUpdate`] or encoded by the daemon) with 4-octet AS numbers, in
    /// rising type-code order, without NEXT_HOP, MP_REACH_NLRI, MP_UNREACH_NLRI, AS4_PATH or
    /// AS4_AGGREGATOR.
    pub fn from_encoded(next_hop: NextHop, block: Box<[u8]>) -> Self {
        RouteAttrs {
            next_hop,
            encoded: OnceLock::from(block),
            parsed: OnceLock::new(),
        }
    }

    /// The attributes, decoded (the first call on an encoded set decodes it and keeps the
    /// result).
    pub fn attributes(&self) -> &PathAttributes {
        self.parsed.get_or_init(|| {
            let block = self.encoded.get().map_or(&[][..], |b| &b[..]);
            bgp_proto::decode_checked_block(block, true, |_| true)
        })
    }

    /// Changes the attributes with `f`; the encoded form is dropped (and made again when
    /// asked for).
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut PathAttributes) -> R) -> R {
        let mut parsed = match self.parsed.take() {
            Some(p) => p,
            None => {
                let block = self.encoded.get().map_or(&[][..], |b| &b[..]);
                bgp_proto::decode_checked_block(block, true, |_| true)
            }
        };
        let r = f(&mut parsed);
        self.encoded = OnceLock::new();
        self.parsed = OnceLock::from(parsed);
        r
    }

    /// The attributes encoded with 4-octet AS numbers, in the set's order (the first call on
    /// a parsed set encodes it and keeps the result).
    pub fn encoded(&self) -> &[u8] {
        self.encoded.get_or_init(|| {
            let mut out = BytesMut::new();
            let parsed = self.parsed.get().map(|p| p.0.as_slice()).unwrap_or(&[]);
            for a in parsed {
                if a.encode(&canonical(), &mut out).is_err() {
                    // A value over 65,535 octets (only a policy could build one): kept as
                    // its description, so equal sets still compare equal.
                    out.clear();
                    out.extend_from_slice(&[0xff]);
                    out.extend_from_slice(format!("{parsed:?}").as_bytes());
                    break;
                }
            }
            out.to_vec().into_boxed_slice()
        })
    }

    /// The encoded form when the set has not been decoded: per-route reads then go to the
    /// octets instead of decoding the set.
    fn only_encoded(&self) -> Option<&[u8]> {
        match self.parsed.get() {
            Some(_) => None,
            None => self.encoded.get().map(|b| &b[..]),
        }
    }

    /// ORIGIN (INCOMPLETE when absent).
    pub fn origin(&self) -> Origin {
        match self.only_encoded() {
            Some(b) => attr_block::origin(b),
            None => self
                .attributes()
                .origin()
                .copied()
                .unwrap_or(Origin::Incomplete),
        }
    }

    /// AS_PATH (empty when absent), decoded: for what shows or rewrites it. The RIB's
    /// per-route reads use [`RouteAttrs::path_len`], [`RouteAttrs::first_as`],
    /// [`RouteAttrs::origin_as`] and [`RouteAttrs::contains_as`].
    pub fn as_path(&self) -> &AsPath {
        static EMPTY: std::sync::LazyLock<AsPath> = std::sync::LazyLock::new(AsPath::default);
        self.attributes().as_path().unwrap_or_else(|| &EMPTY)
    }

    /// RFC 4271 §9.1.2.2 a): the AS path's length.
    pub fn path_len(&self) -> usize {
        match self.only_encoded() {
            Some(b) => attr_block::path_len(attr_block::as_path(b)),
            None => self.as_path().path_len(),
        }
    }

    /// The leftmost AS of a first AS_SEQUENCE (the neighbor AS).
    pub fn first_as(&self) -> Option<u32> {
        match self.only_encoded() {
            Some(b) => attr_block::first_as(attr_block::as_path(b)),
            None => self.as_path().first_as(),
        }
    }

    /// The originating AS: the rightmost AS of a final AS_SEQUENCE.
    pub fn origin_as(&self) -> Option<u32> {
        match self.only_encoded() {
            Some(b) => attr_block::origin_as(attr_block::as_path(b)),
            None => self.as_path().origin_as(),
        }
    }

    /// Whether `asn` is anywhere in the AS path (RFC 4271 §9.1.2).
    pub fn contains_as(&self, asn: u32) -> bool {
        match self.only_encoded() {
            Some(b) => attr_block::contains_as(attr_block::as_path(b), asn),
            None => self.as_path().contains(asn),
        }
    }

    /// LOCAL_PREF, if present.
    pub fn local_pref(&self) -> Option<u32> {
        match self.only_encoded() {
            Some(b) => attr_block::four_octets(b, tc::LOCAL_PREF),
            None => self.attributes().local_pref().copied(),
        }
    }

    /// MED, if present.
    pub fn med(&self) -> Option<u32> {
        match self.only_encoded() {
            Some(b) => attr_block::four_octets(b, tc::MULTI_EXIT_DISC),
            None => self.attributes().med().copied(),
        }
    }

    /// ORIGINATOR_ID, if present (RFC 4456 §7).
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        match self.only_encoded() {
            Some(b) => attr_block::four_octets(b, tc::ORIGINATOR_ID).map(Ipv4Addr::from),
            None => self.attributes().originator_id().copied(),
        }
    }

    /// How many cluster ids CLUSTER_LIST holds (RFC 4456 §9).
    pub fn cluster_list_len(&self) -> usize {
        match self.only_encoded() {
            Some(b) => attr_block::list_len(b, tc::CLUSTER_LIST),
            None => self.attributes().cluster_list().map_or(0, |l| l.len()),
        }
    }

    /// Whether CLUSTER_LIST holds `id` (RFC 4456 §8).
    pub fn cluster_list_contains(&self, id: Ipv4Addr) -> bool {
        match self.only_encoded() {
            Some(b) => attr_block::list_contains(b, tc::CLUSTER_LIST, u32::from(id)),
            None => self
                .attributes()
                .cluster_list()
                .is_some_and(|l| l.contains(&id)),
        }
    }

    /// Whether COMMUNITIES holds `c`.
    pub fn has_community(&self, c: Community) -> bool {
        match self.only_encoded() {
            Some(b) => attr_block::list_contains(b, tc::COMMUNITIES, c.0),
            None => self.communities().contains(&c),
        }
    }

    /// Whether an attribute of type `code` is in the set.
    pub fn has(&self, code: u8) -> bool {
        match self.only_encoded() {
            Some(b) => attr_block::find(b, code).is_some(),
            None => self.attributes().get(code).is_some(),
        }
    }

    /// Whether the set carries an attribute the decoder keeps opaque (RFC 4271 §5).
    pub fn has_opaque(&self) -> bool {
        match self.only_encoded() {
            Some(b) => attr_block::has_opaque(b),
            None => self
                .attributes()
                .0
                .iter()
                .any(|a| matches!(a.value, AttributeValue::Unknown { .. })),
        }
    }

    /// COMMUNITIES, decoded.
    pub fn communities(&self) -> &[Community] {
        self.attributes().communities()
    }

    /// LARGE_COMMUNITY, decoded.
    pub fn large_communities(&self) -> &[LargeCommunity] {
        self.attributes().large_communities()
    }

    /// Sets or replaces one attribute.
    pub fn set(&mut self, value: AttributeValue) {
        self.edit(|a| a.set(value));
    }
}

impl Clone for RouteAttrs {
    fn clone(&self) -> Self {
        RouteAttrs {
            next_hop: self.next_hop,
            encoded: self.encoded.clone(),
            parsed: self.parsed.clone(),
        }
    }
}

impl PartialEq for RouteAttrs {
    fn eq(&self, other: &Self) -> bool {
        self.next_hop == other.next_hop && self.encoded() == other.encoded()
    }
}

impl Eq for RouteAttrs {}

impl Hash for RouteAttrs {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.next_hop.hash(state);
        self.encoded().hash(state);
    }
}

impl fmt::Debug for RouteAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteAttrs")
            .field("next_hop", &self.next_hop)
            .field("attributes", self.attributes())
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bgp_proto::{AsPath, PathAttribute};

    fn parsed() -> RouteAttrs {
        let values = vec![
            AttributeValue::Origin(Origin::Egp),
            AttributeValue::AsPath(AsPath::sequence(vec![64513, 64600, 64514])),
            AttributeValue::Med(20),
            AttributeValue::LocalPref(300),
            AttributeValue::Communities(vec![Community::NO_EXPORT, Community::new(1, 2)].into()),
            AttributeValue::OriginatorId(Ipv4Addr::new(10, 0, 0, 1)),
            AttributeValue::ClusterList(
                vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)].into(),
            ),
        ];
        RouteAttrs::new(
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            PathAttributes(values.into_iter().map(PathAttribute::new).collect()),
        )
    }

    /// The interning hash: one seed for the process.
    fn hash(a: &RouteAttrs) -> u64 {
        crate::rib::intern::hash(a)
    }

    #[test]
    fn both_forms_of_a_set_read_equal_compare_equal_and_hash_alike() {
        let p = parsed();
        let e = RouteAttrs::from_encoded(p.next_hop, p.encoded().into());
        assert!(e.only_encoded().is_some() && p.only_encoded().is_none());
        assert_eq!(e, p);
        assert_eq!(hash(&e), hash(&p));
        assert_eq!(e.origin(), p.origin());
        assert_eq!(e.path_len(), 3);
        assert_eq!(
            (e.path_len(), e.first_as(), e.origin_as()),
            (p.path_len(), p.first_as(), p.origin_as())
        );
        assert_eq!((e.first_as(), e.origin_as()), (Some(64513), Some(64514)));
        assert!(e.contains_as(64600) && !e.contains_as(64512));
        assert_eq!((e.med(), e.local_pref()), (Some(20), Some(300)));
        assert_eq!((e.med(), e.local_pref()), (p.med(), p.local_pref()));
        assert_eq!(e.originator_id(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(e.originator_id(), p.originator_id());
        assert_eq!((e.cluster_list_len(), p.cluster_list_len()), (2, 2));
        assert!(e.cluster_list_contains(Ipv4Addr::new(10, 0, 0, 3)));
        assert!(!e.cluster_list_contains(Ipv4Addr::new(10, 0, 0, 4)));
        assert!(e.has_community(Community::NO_EXPORT) && !e.has_community(Community::NO_ADVERTISE));
        assert!(e.has(tc::LOCAL_PREF) && !e.has(tc::AGGREGATOR) && !e.has_opaque());
        assert_eq!(
            e.attributes(),
            p.attributes(),
            "decoded on demand, to the same values"
        );
        assert!(e.only_encoded().is_none(), "and kept decoded");
    }

    #[test]
    fn an_edited_set_is_encoded_again() {
        let mut e = RouteAttrs::from_encoded(parsed().next_hop, parsed().encoded().into());
        let before = e.clone();
        e.set(AttributeValue::Med(21));
        assert_eq!(e.med(), Some(21));
        assert_ne!(e, before, "the encoded form follows the change");
        assert_ne!(hash(&e), hash(&before));
        e.set(AttributeValue::Med(20));
        assert_eq!(e, before);
        e.edit(|a| a.remove(tc::COMMUNITIES));
        assert!(!e.has_community(Community::NO_EXPORT));
        assert!(!RouteAttrs::from_encoded(e.next_hop, e.encoded().into())
            .has_community(Community::NO_EXPORT));
    }
}
