//! COMMUNITIES (RFC 1997, well-known values from IANA), EXTENDED_COMMUNITIES (RFC 4360) and
//! LARGE_COMMUNITY (RFC 8092).

use std::fmt;
use std::str::FromStr;

/// A standard community `aa:nn` (RFC 1997).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// ACCEPT_OWN (RFC 7611).
    pub const ACCEPT_OWN: Community = Community(0xFFFF_0001);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// NOPEER (RFC 3765).
    pub const NOPEER: Community = Community(0xFFFF_FF04);

    /// A community from its two halves.
    pub const fn new(asn: u16, value: u16) -> Self {
        Community(((asn as u32) << 16) | value as u32)
    }

    /// The IANA name of a well-known community, if this is one.
    pub fn well_known_name(self) -> Option<&'static str> {
        Some(match self {
            Community::GRACEFUL_SHUTDOWN => "GRACEFUL_SHUTDOWN",
            Community::ACCEPT_OWN => "ACCEPT_OWN",
            Community::LLGR_STALE => "LLGR_STALE",
            Community::NO_LLGR => "NO_LLGR",
            Community::BLACKHOLE => "BLACKHOLE",
            Community::NO_EXPORT => "NO_EXPORT",
            Community::NO_ADVERTISE => "NO_ADVERTISE",
            Community::NO_EXPORT_SUBCONFED => "NO_EXPORT_SUBCONFED",
            Community::NOPEER => "NOPEER",
            _ => return None,
        })
    }
}

impl fmt::Display for Community {
    /// Always `aa:nn`, like `bgpdump` and GoBGP's numeric form; use
    /// [`Community::well_known_name`] for the name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

/// Error parsing a community from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid community {0:?} (expected aa:nn, aa:nn:mm or a well-known name)")]
pub struct CommunityParseError(pub String);

impl FromStr for Community {
    type Err = CommunityParseError;

    /// Parses `aa:nn` or a well-known name (`NO_EXPORT`, `no-export`, ...).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CommunityParseError(s.to_string());
        let upper = s.trim().to_ascii_uppercase().replace('-', "_");
        for c in [
            Community::GRACEFUL_SHUTDOWN,
            Community::ACCEPT_OWN,
            Community::LLGR_STALE,
            Community::NO_LLGR,
            Community::BLACKHOLE,
            Community::NO_EXPORT,
            Community::NO_ADVERTISE,
            Community::NO_EXPORT_SUBCONFED,
            Community::NOPEER,
        ] {
            if c.well_known_name() == Some(upper.as_str()) {
                return Ok(c);
            }
        }
        let (a, b) = s.trim().split_once(':').ok_or_else(err)?;
        Ok(Community::new(
            a.parse().map_err(|_| err())?,
            b.parse().map_err(|_| err())?,
        ))
    }
}

/// An extended community (RFC 4360): eight octets, type and sub-type first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ExtendedCommunity {
    /// High-order type octet.
    pub fn type_high(&self) -> u8 {
        self.0[0]
    }

    /// Sub-type octet.
    pub fn subtype(&self) -> u8 {
        self.0[1]
    }
}

impl fmt::Display for ExtendedCommunity {
    /// Route target and route origin of the two-octet-AS, IPv4 and four-octet-AS types are
    /// shown as `rt:`/`soo:` with their values; anything else as hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        let kind = match b[1] {
            0x02 => "rt",
            0x03 => "soo",
            _ => "",
        };
        let t = b[0] & 0x3f;
        if !kind.is_empty() && matches!(t, 0x00..=0x02) {
            return match t {
                0x00 => write!(
                    f,
                    "{kind}:{}:{}",
                    u16::from_be_bytes([b[2], b[3]]),
                    u32::from_be_bytes([b[4], b[5], b[6], b[7]])
                ),
                0x01 => write!(
                    f,
                    "{kind}:{}.{}.{}.{}:{}",
                    b[2],
                    b[3],
                    b[4],
                    b[5],
                    u16::from_be_bytes([b[6], b[7]])
                ),
                _ => write!(
                    f,
                    "{kind}:{}:{}",
                    u32::from_be_bytes([b[2], b[3], b[4], b[5]]),
                    u16::from_be_bytes([b[6], b[7]])
                ),
            };
        }
        write!(f, "0x")?;
        for x in b {
            write!(f, "{x:02x}")?;
        }
        Ok(())
    }
}

/// A large community `global:local1:local2` (RFC 8092).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global administrator (an AS number).
    pub global_admin: u32,
    /// First local data part.
    pub local_data_1: u32,
    /// Second local data part.
    pub local_data_2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.global_admin, self.local_data_1, self.local_data_2
        )
    }
}

impl FromStr for LargeCommunity {
    type Err = CommunityParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CommunityParseError(s.to_string());
        let mut it = s.trim().split(':');
        let mut next = || -> Result<u32, CommunityParseError> {
            it.next().ok_or_else(err)?.parse().map_err(|_| err())
        };
        let c = LargeCommunity {
            global_admin: next()?,
            local_data_1: next()?,
            local_data_2: next()?,
        };
        if it.next().is_some() {
            return Err(err());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_text() {
        assert_eq!(Community::new(64513, 100).to_string(), "64513:100");
        assert_eq!("no-export".parse::<Community>(), Ok(Community::NO_EXPORT));
        assert_eq!("64514:7".parse::<Community>(), Ok(Community::new(64514, 7)));
        assert!("64514".parse::<Community>().is_err());
        assert_eq!(Community::BLACKHOLE.well_known_name(), Some("BLACKHOLE"));
        let l: LargeCommunity = "64513:1:2".parse().expect("parses");
        assert_eq!(l.to_string(), "64513:1:2");
    }

    #[test]
    fn extended_community_text() {
        let rt = ExtendedCommunity([0x00, 0x02, 0xfc, 0x00, 0, 0, 0, 100]);
        assert_eq!(rt.to_string(), "rt:64512:100");
        let other = ExtendedCommunity([0x80, 0x06, 0, 0, 0, 0, 0, 0]);
        assert_eq!(other.to_string(), "0x8006000000000000");
    }
}
