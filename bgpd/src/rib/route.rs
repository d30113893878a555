//! What the RIBs store per route: interned attributes (kept encoded or decoded) and the next
//! hop.

use super::attr_block;
use bgp_proto::{
    attribute_type as tc, AsPath, AttributeValue, Community, LargeCommunity, Origin, PathAttribute,
    PathAttributes, SessionContext,
};
use bytes::BytesMut;
use std::borrow::Cow;
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
/// A set is kept **encoded**: an attribute block (RFC 4271 §4.3) without NEXT_HOP, with
/// 4-octet AS numbers (RFC 6793), in the set's order, which for every received set is rising
/// type-code order. A clean UPDATE's set is its block as received, minus NEXT_HOP, copied
/// once ([`RouteAttrs::from_encoded`], [`super::received`]); a set made of decoded values
/// ([`RouteAttrs::new`]: the full decoder's, or one policy or an export rewrote,
/// [`RouteAttrs::edit`]) is encoded when made. The RIB stores, selects and exports to
/// route-server clients without decoding it: the per-route values it reads
/// ([`RouteAttrs::origin`], [`RouteAttrs::path_len`], [`RouteAttrs::contains_as`], …) are
/// read from the octets ([`super::attr_block`]), and a route-server client is sent the octets
/// as they are ([`super::wire`]). The decoded values are made when first asked for
/// ([`RouteAttrs::attributes`]: `show`, the API, logs, rewrites) and kept beside.
///
/// Equality and hashing are the next hop's and the octets'.
pub struct RouteAttrs {
    /// Next hop.
    pub next_hop: NextHop,
    encoded: Box<[u8]>,
    /// Boxed: most sets are never decoded, and the cell is then 16 octets, not 32.
    parsed: OnceLock<Box<PathAttributes>>,
}

/// Shared attributes.
pub type SharedAttrs = Arc<RouteAttrs>;

/// RFC 4271 §9.1.1: LOCAL_PREF assumed when absent.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// `attributes` encoded with 4-octet AS numbers (RFC 6793), whatever the peer's.
fn encode(attributes: &PathAttributes) -> Box<[u8]> {
    encode_each(attributes.0.iter().map(Cow::Borrowed))
}

/// Attributes encoded one after another, in the order given, as a set's octets (4-octet AS
/// numbers, RFC 6793): for a set built from decoded attributes without first collecting
/// them into a [`PathAttributes`] of its own.
pub(super) fn encode_each<'a, I>(attributes: I) -> Box<[u8]>
where
    I: Iterator<Item = Cow<'a, PathAttribute>> + Clone,
{
    let ctx = SessionContext {
        four_octet_as: true,
        ibgp: true,
        ..SessionContext::default()
    };
    // Room for a usual set (a full table's are 20 to 200 octets) from the start: growing
    // from empty took five reallocations per set.
    let mut out = BytesMut::with_capacity(256);
    if attributes
        .clone()
        .try_for_each(|a| a.encode(&ctx, &mut out))
        .is_err()
    {
        // A value over 65,535 octets (only a policy could build one): kept as its
        // description, so that equal sets still compare equal.
        let all = PathAttributes(attributes.map(Cow::into_owned).collect());
        out.clear();
        out.extend_from_slice(&[0xff]);
        out.extend_from_slice(format!("{all:?}").as_bytes());
    }
    out.to_vec().into_boxed_slice()
}

impl RouteAttrs {
    /// A set of decoded attributes (kept in the given order), encoded now.
    pub fn new(next_hop: NextHop, attributes: PathAttributes) -> Self {
        RouteAttrs {
            next_hop,
            encoded: encode(&attributes),
            parsed: OnceLock::from(Box::new(attributes)),
        }
    }

    /// A set kept encoded: `block` holds well-formed attributes (checked by
    /// [`bgp_proto::CheckedUpdate`] or encoded by the daemon) with 4-octet AS numbers, in
    /// rising type-code order, without NEXT_HOP, MP_REACH_NLRI, MP_UNREACH_NLRI, AS4_PATH or
    /// AS4_AGGREGATOR.
    pub fn from_encoded(next_hop: NextHop, block: Box<[u8]>) -> Self {
        RouteAttrs {
            next_hop,
            encoded: block,
            parsed: OnceLock::new(),
        }
    }

    /// The attributes, decoded (the first call decodes them and keeps the result).
    pub fn attributes(&self) -> &PathAttributes {
        self.parsed.get_or_init(|| Box::new(self.decode(|_| true)))
    }

    /// The attributes of types `keep` accepts, decoded from the octets (4-octet AS numbers).
    fn decode(&self, keep: impl Fn(u8) -> bool) -> PathAttributes {
        bgp_proto::decode_checked_block(&self.encoded, true, keep)
    }

    /// The attributes decoded for a look (`show`, the API, a log line): the kept values when
    /// the set has them, else decoded for this once and not kept, so that looking at a whole
    /// table does not leave every set decoded beside its octets.
    pub fn decoded(&self) -> Cow<'_, PathAttributes> {
        match self.parsed.get() {
            Some(p) => Cow::Borrowed(p),
            None => Cow::Owned(self.decode(|_| true)),
        }
    }

    /// The AS path as text (as `show` prints it), decoding only AS_PATH when the set has no
    /// decoded values: for policy's AS-path matches, per set, without keeping anything.
    pub fn as_path_string(&self) -> String {
        match self.parsed.get() {
            Some(p) => Self::as_path_text(p),
            None => Self::as_path_text(&self.decode(|code| code == tc::AS_PATH)),
        }
    }

    /// COMMUNITIES, read from the octets.
    pub fn community_values(&self) -> impl Iterator<Item = Community> + '_ {
        attr_block::communities(&self.encoded)
    }

    /// LARGE_COMMUNITY, read from the octets.
    pub fn large_community_values(&self) -> impl Iterator<Item = LargeCommunity> + '_ {
        attr_block::large_communities(&self.encoded)
    }

    /// The AS path as text (empty when absent), from [`RouteAttrs::decoded`] values.
    pub fn as_path_text(decoded: &PathAttributes) -> String {
        decoded
            .as_path()
            .map_or_else(|| AsPath::default().to_string(), ToString::to_string)
    }

    /// Whether the decoded values are kept beside the octets (for tests of what decodes).
    #[cfg(test)]
    pub(crate) fn is_decoded(&self) -> bool {
        self.parsed.get().is_some()
    }

    /// Changes the attributes with `f`, and encodes them again.
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut PathAttributes) -> R) -> R {
        let mut parsed = match self.parsed.take() {
            Some(p) => p,
            None => Box::new(self.decode(|_| true)),
        };
        let r = f(&mut parsed);
        // Kept in type-code order, as received sets are (RFC 4271 §5 asks it of a sender):
        // an attribute `set` adds goes in its place, and the set is sent as its octets.
        parsed.0.sort_by_key(bgp_proto::PathAttribute::type_code);
        self.encoded = encode(&parsed);
        self.parsed = OnceLock::from(parsed);
        r
    }

    /// The attributes encoded with 4-octet AS numbers, in the set's order.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// ORIGIN (INCOMPLETE when absent).
    pub fn origin(&self) -> Origin {
        attr_block::origin(&self.encoded)
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
        attr_block::path_len(attr_block::as_path(&self.encoded))
    }

    /// The leftmost AS of a first AS_SEQUENCE (the neighbor AS).
    pub fn first_as(&self) -> Option<u32> {
        attr_block::first_as(attr_block::as_path(&self.encoded))
    }

    /// The originating AS: the rightmost AS of a final AS_SEQUENCE.
    pub fn origin_as(&self) -> Option<u32> {
        attr_block::origin_as(attr_block::as_path(&self.encoded))
    }

    /// Whether `asn` is anywhere in the AS path (RFC 4271 §9.1.2).
    pub fn contains_as(&self, asn: u32) -> bool {
        attr_block::contains_as(attr_block::as_path(&self.encoded), asn)
    }

    /// LOCAL_PREF, if present.
    pub fn local_pref(&self) -> Option<u32> {
        attr_block::four_octets(&self.encoded, tc::LOCAL_PREF)
    }

    /// MED, if present.
    pub fn med(&self) -> Option<u32> {
        attr_block::four_octets(&self.encoded, tc::MULTI_EXIT_DISC)
    }

    /// ORIGINATOR_ID, if present (RFC 4456 §7).
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        attr_block::four_octets(&self.encoded, tc::ORIGINATOR_ID).map(Ipv4Addr::from)
    }

    /// How many cluster ids CLUSTER_LIST holds (RFC 4456 §9).
    pub fn cluster_list_len(&self) -> usize {
        attr_block::list_len(&self.encoded, tc::CLUSTER_LIST)
    }

    /// Whether CLUSTER_LIST holds `id` (RFC 4456 §8).
    pub fn cluster_list_contains(&self, id: Ipv4Addr) -> bool {
        attr_block::list_contains(&self.encoded, tc::CLUSTER_LIST, u32::from(id))
    }

    /// Whether COMMUNITIES holds `c`.
    pub fn has_community(&self, c: Community) -> bool {
        attr_block::list_contains(&self.encoded, tc::COMMUNITIES, c.0)
    }

    /// Whether an attribute of type `code` is in the set.
    pub fn has(&self, code: u8) -> bool {
        attr_block::find(&self.encoded, code).is_some()
    }

    /// Whether the set carries an attribute the decoder keeps opaque (RFC 4271 §5).
    pub fn has_opaque(&self) -> bool {
        attr_block::has_opaque(&self.encoded)
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
        self.next_hop == other.next_hop && self.encoded == other.encoded
    }
}

impl Eq for RouteAttrs {}

impl Hash for RouteAttrs {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Written whole, not field by field: a session hashes every received set.
        match self.next_hop {
            NextHop::V4(a) => state.write_u32(a.to_bits()),
            NextHop::V6 { global, link_local } => {
                state.write_u128(global.to_bits());
                state.write_u128(link_local.map_or(0, Ipv6Addr::to_bits));
                state.write_u8(u8::from(link_local.is_some()));
            }
        }
        state.write(&self.encoded);
    }
}

impl fmt::Debug for RouteAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteAttrs")
            .field("next_hop", &self.next_hop)
            .field("attributes", &self.decoded())
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
    fn an_encoded_set_reads_compares_and_hashes_as_its_decoded_values() {
        let p = parsed();
        let e = RouteAttrs::from_encoded(p.next_hop, p.encoded().into());
        assert!(e.parsed.get().is_none());
        assert_eq!(e, p);
        assert_eq!(hash(&e), hash(&p));
        // Read from the octets, as the decoded values say.
        let v = p.attributes();
        let path = v.as_path().unwrap();
        assert_eq!(e.origin(), *v.origin().unwrap());
        assert_eq!(
            (e.path_len(), e.first_as(), e.origin_as()),
            (path.path_len(), path.first_as(), path.origin_as())
        );
        assert_eq!(
            (e.path_len(), e.first_as(), e.origin_as()),
            (3, Some(64513), Some(64514))
        );
        assert!(e.contains_as(64600) && !e.contains_as(64512));
        assert_eq!(
            (e.med(), e.local_pref()),
            (v.med().copied(), v.local_pref().copied())
        );
        assert_eq!((e.med(), e.local_pref()), (Some(20), Some(300)));
        assert_eq!(e.originator_id(), v.originator_id().copied());
        assert_eq!(e.cluster_list_len(), v.cluster_list().unwrap().len());
        assert!(e.cluster_list_contains(Ipv4Addr::new(10, 0, 0, 3)));
        assert!(!e.cluster_list_contains(Ipv4Addr::new(10, 0, 0, 4)));
        assert!(e.has_community(Community::NO_EXPORT) && !e.has_community(Community::NO_ADVERTISE));
        assert!(e.has(tc::LOCAL_PREF) && !e.has(tc::AGGREGATOR) && !e.has_opaque());
        assert!(e.parsed.get().is_none(), "none of that decoded the set");
        assert_eq!(*e.decoded(), *v, "a look decodes");
        assert!(e.parsed.get().is_none(), "and keeps nothing");
        assert_eq!(e.attributes(), v, "decoded on demand, to the same values");
        assert!(e.parsed.get().is_some(), "and kept decoded");
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
