//! What the RIBs store per route: interned attributes and the next hop.

use bgp_proto::{AsPath, AttributeValue, Community, LargeCommunity, Origin, PathAttributes};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteAttrs {
    /// Next hop.
    pub next_hop: NextHop,
    /// The other attributes, in received order.
    pub attributes: PathAttributes,
}

/// Shared attributes.
pub type SharedAttrs = Arc<RouteAttrs>;

/// RFC 4271 §9.1.1: LOCAL_PREF assumed when absent.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

impl RouteAttrs {
    /// ORIGIN (INCOMPLETE when absent).
    pub fn origin(&self) -> Origin {
        self.attributes
            .origin()
            .copied()
            .unwrap_or(Origin::Incomplete)
    }

    /// AS_PATH (empty when absent), borrowed: best-path comparisons and loop checks read it
    /// per route and must not copy it.
    pub fn as_path(&self) -> &AsPath {
        static EMPTY: std::sync::LazyLock<AsPath> = std::sync::LazyLock::new(AsPath::default);
        self.attributes.as_path().unwrap_or_else(|| &EMPTY)
    }

    /// LOCAL_PREF, if present.
    pub fn local_pref(&self) -> Option<u32> {
        self.attributes.local_pref().copied()
    }

    /// MED, if present.
    pub fn med(&self) -> Option<u32> {
        self.attributes.med().copied()
    }

    /// COMMUNITIES.
    pub fn communities(&self) -> &[Community] {
        self.attributes.communities()
    }

    /// LARGE_COMMUNITY.
    pub fn large_communities(&self) -> &[LargeCommunity] {
        self.attributes.large_communities()
    }

    /// Sets or replaces one attribute.
    pub fn set(&mut self, value: AttributeValue) {
        self.attributes.set(value);
    }
}
