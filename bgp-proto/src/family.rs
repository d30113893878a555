//! Address families: AFI (RFC 4760 §3, IANA "Address Family Numbers") and SAFI.

use std::fmt;

/// AFI for IPv4.
pub const AFI_IPV4: u16 = 1;
/// AFI for IPv6.
pub const AFI_IPV6: u16 = 2;
/// SAFI unicast.
pub const SAFI_UNICAST: u8 = 1;
/// SAFI multicast.
pub const SAFI_MULTICAST: u8 = 2;

/// An address family: AFI and SAFI as carried on the wire (unknown values are kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family {
    /// Address Family Identifier.
    pub afi: u16,
    /// Subsequent Address Family Identifier.
    pub safi: u8,
}

impl Family {
    /// IPv4 unicast (1/1).
    pub const IPV4_UNICAST: Family = Family {
        afi: AFI_IPV4,
        safi: SAFI_UNICAST,
    };
    /// IPv6 unicast (2/1).
    pub const IPV6_UNICAST: Family = Family {
        afi: AFI_IPV6,
        safi: SAFI_UNICAST,
    };
    /// IPv4 multicast (1/2).
    pub const IPV4_MULTICAST: Family = Family {
        afi: AFI_IPV4,
        safi: SAFI_MULTICAST,
    };
    /// IPv6 multicast (2/2).
    pub const IPV6_MULTICAST: Family = Family {
        afi: AFI_IPV6,
        safi: SAFI_MULTICAST,
    };

    /// A family from its wire values.
    pub const fn new(afi: u16, safi: u8) -> Self {
        Family { afi, safi }
    }

    /// Whether this crate parses the NLRI of this family into prefixes (IPv4/IPv6 unicast
    /// and multicast). Other families are carried as opaque bytes.
    pub fn has_prefix_nlri(self) -> bool {
        matches!(self.afi, AFI_IPV4 | AFI_IPV6)
            && matches!(self.safi, SAFI_UNICAST | SAFI_MULTICAST)
    }

    /// Maximum prefix length for the family's addresses (32 or 128).
    pub fn max_prefix_len(self) -> u8 {
        if self.afi == AFI_IPV6 {
            128
        } else {
            32
        }
    }

    /// Bit of this family in [`FamilySet`], if it has one.
    fn bit(self) -> Option<u8> {
        match (self.afi, self.safi) {
            (AFI_IPV4, SAFI_UNICAST) => Some(1),
            (AFI_IPV6, SAFI_UNICAST) => Some(2),
            (AFI_IPV4, SAFI_MULTICAST) => Some(4),
            (AFI_IPV6, SAFI_MULTICAST) => Some(8),
            _ => None,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.afi, self.safi) {
            (AFI_IPV4, SAFI_UNICAST) => f.write_str("ipv4-unicast"),
            (AFI_IPV6, SAFI_UNICAST) => f.write_str("ipv6-unicast"),
            (AFI_IPV4, SAFI_MULTICAST) => f.write_str("ipv4-multicast"),
            (AFI_IPV6, SAFI_MULTICAST) => f.write_str("ipv6-multicast"),
            (afi, safi) => write!(f, "afi{afi}-safi{safi}"),
        }
    }
}

/// A small set of the prefix families (IPv4/IPv6 unicast/multicast), e.g. the families for
/// which ADD-PATH was negotiated in one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FamilySet(u8);

impl FamilySet {
    /// The empty set.
    pub const EMPTY: FamilySet = FamilySet(0);
    /// All four prefix families.
    pub const ALL: FamilySet = FamilySet(0x0f);

    /// Adds a family (families without prefix NLRI are ignored).
    pub fn insert(&mut self, family: Family) {
        if let Some(b) = family.bit() {
            self.0 |= b;
        }
    }

    /// Removes a family.
    pub fn remove(&mut self, family: Family) {
        if let Some(b) = family.bit() {
            self.0 &= !b;
        }
    }

    /// Whether the family is in the set.
    pub fn contains(self, family: Family) -> bool {
        family.bit().is_some_and(|b| self.0 & b != 0)
    }

    /// The families in the set.
    pub fn families(self) -> impl Iterator<Item = Family> {
        [
            Family::IPV4_UNICAST,
            Family::IPV6_UNICAST,
            Family::IPV4_MULTICAST,
            Family::IPV6_MULTICAST,
        ]
        .into_iter()
        .filter(move |f| self.contains(*f))
    }

    /// A set holding the given families.
    pub fn of(families: &[Family]) -> Self {
        let mut s = FamilySet::EMPTY;
        for f in families {
            s.insert(*f);
        }
        s
    }
}

impl fmt::Display for FamilySet {
    /// `ipv4-unicast,ipv6-unicast`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.families().map(|x| x.to_string()).collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}
