//! Capabilities advertised in OPEN (RFC 5492) and their values.
//!
//! Known capabilities are checked for their length and parsed; any other code is kept as raw
//! bytes (unknown capabilities must be tolerated, RFC 5492 §3).

use crate::error::ErrorKind;
use crate::family::Family;
use crate::parser::{PResult, ParseError};
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// Capability codes (IANA "Capability Codes").
pub mod code {
    #![allow(missing_docs)]
    pub const MULTIPROTOCOL: u8 = 1;
    pub const ROUTE_REFRESH: u8 = 2;
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    pub const EXTENDED_MESSAGE: u8 = 6;
    pub const ROLE: u8 = 9;
    pub const GRACEFUL_RESTART: u8 = 64;
    pub const FOUR_OCTET_AS: u8 = 65;
    pub const ADD_PATH: u8 = 69;
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    pub const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    pub const FQDN: u8 = 73;
    pub const SOFTWARE_VERSION: u8 = 75;
}

/// ADD-PATH direction for one family (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddPathMode {
    /// 1: able to receive multiple paths.
    Receive,
    /// 2: able to send multiple paths.
    Send,
    /// 3: both.
    Both,
    /// Any other value, as received.
    Other(u8),
}

impl AddPathMode {
    /// Wire value.
    pub fn code(self) -> u8 {
        match self {
            AddPathMode::Receive => 1,
            AddPathMode::Send => 2,
            AddPathMode::Both => 3,
            AddPathMode::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_code(v: u8) -> Self {
        match v {
            1 => AddPathMode::Receive,
            2 => AddPathMode::Send,
            3 => AddPathMode::Both,
            v => AddPathMode::Other(v),
        }
    }

    /// Whether the sender of this capability can receive multiple paths.
    pub fn can_receive(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// Whether the sender of this capability can send multiple paths.
    pub fn can_send(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

/// One family in the graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: Family,
    /// The flags octet (0x80: forwarding state preserved).
    pub flags: u8,
}

/// One family in the long-lived graceful restart capability (RFC 9494 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LongLivedFamily {
    /// The family.
    pub family: Family,
    /// The flags octet (0x80: forwarding state preserved).
    pub flags: u8,
    /// Long-lived stale time in seconds (24 bits).
    pub stale_time: u32,
}

/// One capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// 1: multiprotocol extensions for a family (RFC 4760 §8).
    Multiprotocol(Family),
    /// 2: route refresh (RFC 2918).
    RouteRefresh,
    /// 5: extended next hop encoding (RFC 8950): (NLRI AFI, NLRI SAFI, next-hop AFI).
    ExtendedNextHop(Vec<(u16, u16, u16)>),
    /// 6: extended messages up to 65535 octets (RFC 8654).
    ExtendedMessage,
    /// 9: BGP role (RFC 9234): 0 provider, 1 RS, 2 RS-client, 3 customer, 4 peer.
    Role(u8),
    /// 64: graceful restart (RFC 4724).
    GracefulRestart {
        /// The top four bits of the first octet: 0x8 restart state (R), 0x4 notification (N).
        flags: u8,
        /// Restart time in seconds (12 bits).
        restart_time: u16,
        /// Families with preserved state.
        families: Vec<GracefulRestartFamily>,
    },
    /// 65: 4-octet AS number support, carrying our AS (RFC 6793).
    FourOctetAs(u32),
    /// 69: ADD-PATH (RFC 7911).
    AddPath(Vec<(Family, AddPathMode)>),
    /// 70: enhanced route refresh (RFC 7313).
    EnhancedRouteRefresh,
    /// 71: long-lived graceful restart (RFC 9494).
    LongLivedGracefulRestart(Vec<LongLivedFamily>),
    /// 73: FQDN (draft-walton-bgp-hostname-capability): host and domain name.
    Fqdn {
        /// Host name bytes (normally ASCII).
        hostname: Bytes,
        /// Domain name bytes.
        domain: Bytes,
    },
    /// 75: software version (draft-abraitis-bgp-version-capability).
    SoftwareVersion(Bytes),
    /// Any other capability, as received.
    Unknown {
        /// Capability code.
        code: u8,
        /// Value bytes.
        data: Bytes,
    },
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        use Capability::*;
        match self {
            Multiprotocol(_) => code::MULTIPROTOCOL,
            RouteRefresh => code::ROUTE_REFRESH,
            ExtendedNextHop(_) => code::EXTENDED_NEXT_HOP,
            ExtendedMessage => code::EXTENDED_MESSAGE,
            Role(_) => code::ROLE,
            GracefulRestart { .. } => code::GRACEFUL_RESTART,
            FourOctetAs(_) => code::FOUR_OCTET_AS,
            AddPath(_) => code::ADD_PATH,
            EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            LongLivedGracefulRestart(_) => code::LONG_LIVED_GRACEFUL_RESTART,
            Fqdn { .. } => code::FQDN,
            SoftwareVersion(_) => code::SOFTWARE_VERSION,
            Unknown { code, .. } => *code,
        }
    }

    /// The name of the capability as network engineers know it.
    pub fn name(&self) -> &'static str {
        use Capability::*;
        match self {
            Multiprotocol(_) => "multiprotocol",
            RouteRefresh => "route-refresh",
            ExtendedNextHop(_) => "extended-nexthop",
            ExtendedMessage => "extended-message",
            Role(_) => "role",
            GracefulRestart { .. } => "graceful-restart",
            FourOctetAs(_) => "4-octet-as",
            AddPath(_) => "add-path",
            EnhancedRouteRefresh => "enhanced-route-refresh",
            LongLivedGracefulRestart(_) => "long-lived-graceful-restart",
            Fqdn { .. } => "fqdn",
            SoftwareVersion(_) => "software-version",
            Unknown { .. } => "unknown",
        }
    }

    /// Octets of the value (without code and length).
    pub fn value_len(&self) -> usize {
        use Capability::*;
        match self {
            Multiprotocol(_) | FourOctetAs(_) => 4,
            RouteRefresh | ExtendedMessage | EnhancedRouteRefresh => 0,
            ExtendedNextHop(v) => v.len() * 6,
            Role(_) => 1,
            GracefulRestart { families, .. } => 2 + families.len() * 4,
            AddPath(v) => v.len() * 4,
            LongLivedGracefulRestart(v) => v.len() * 7,
            Fqdn { hostname, domain } => 2 + hostname.len() + domain.len(),
            SoftwareVersion(v) => 1 + v.len(),
            Unknown { data, .. } => data.len(),
        }
    }

    /// Octets on the wire (code, length and value).
    pub fn wire_len(&self) -> usize {
        2 + self.value_len()
    }

    /// Writes code, length and value. The caller checks `value_len() <= 255`.
    pub fn encode(&self, buf: &mut BytesMut) {
        use Capability::*;
        buf.put_u8(self.code());
        buf.put_u8(self.value_len() as u8);
        match self {
            Multiprotocol(f) => {
                buf.put_u16(f.afi);
                buf.put_u8(0);
                buf.put_u8(f.safi);
            }
            RouteRefresh | ExtendedMessage | EnhancedRouteRefresh => {}
            ExtendedNextHop(v) => v.iter().for_each(|(a, s, n)| {
                buf.put_u16(*a);
                buf.put_u16(*s);
                buf.put_u16(*n);
            }),
            Role(r) => buf.put_u8(*r),
            GracefulRestart {
                flags,
                restart_time,
                families,
            } => {
                buf.put_u16((u16::from(*flags & 0xf) << 12) | (restart_time & 0x0fff));
                for f in families {
                    buf.put_u16(f.family.afi);
                    buf.put_u8(f.family.safi);
                    buf.put_u8(f.flags);
                }
            }
            FourOctetAs(asn) => buf.put_u32(*asn),
            AddPath(v) => v.iter().for_each(|(f, m)| {
                buf.put_u16(f.afi);
                buf.put_u8(f.safi);
                buf.put_u8(m.code());
            }),
            LongLivedGracefulRestart(v) => v.iter().for_each(|f| {
                buf.put_u16(f.family.afi);
                buf.put_u8(f.family.safi);
                buf.put_u8(f.flags);
                let [_, t1, t2, t3] = f.stale_time.to_be_bytes();
                buf.put_slice(&[t1, t2, t3]);
            }),
            Fqdn { hostname, domain } => {
                buf.put_u8(hostname.len() as u8);
                buf.put_slice(hostname);
                buf.put_u8(domain.len() as u8);
                buf.put_slice(domain);
            }
            SoftwareVersion(v) => {
                buf.put_u8(v.len() as u8);
                buf.put_slice(v);
            }
            Unknown { data, .. } => buf.put_slice(data),
        }
    }

    /// Parses one capability (code, length, value).
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Capability> {
        let start = input;
        let (code, len, rest) = match input {
            [c, l, rest @ ..] => (*c, *l, rest),
            _ => {
                return Err(nom::Err::Failure(ParseError::at(
                    input,
                    ErrorKind::MalformedOptionalParameters {
                        reason: "truncated capability header",
                    },
                )))
            }
        };
        if rest.len() < usize::from(len) {
            return Err(nom::Err::Failure(ParseError::at(
                start,
                ErrorKind::MalformedOptionalParameters {
                    reason: "capability overruns its parameter",
                },
            )));
        }
        let (v, rest) = rest.split_at(usize::from(len));
        let bad = || {
            nom::Err::Failure(ParseError::at(
                start,
                ErrorKind::BadCapabilityLength { code, length: len },
            ))
        };
        let n = v.len();
        let u16_at = |i: usize| {
            v.get(i..)
                .and_then(|s| s.first_chunk::<2>())
                .map(|b| u16::from_be_bytes(*b))
                .unwrap_or(0)
        };
        let cap = match code {
            code::MULTIPROTOCOL => {
                if n != 4 {
                    return Err(bad());
                }
                Capability::Multiprotocol(Family::new(u16_at(0), v.get(3).copied().unwrap_or(0)))
            }
            code::ROUTE_REFRESH | code::EXTENDED_MESSAGE | code::ENHANCED_ROUTE_REFRESH => {
                if n != 0 {
                    return Err(bad());
                }
                match code {
                    code::ROUTE_REFRESH => Capability::RouteRefresh,
                    code::EXTENDED_MESSAGE => Capability::ExtendedMessage,
                    _ => Capability::EnhancedRouteRefresh,
                }
            }
            code::EXTENDED_NEXT_HOP => {
                if n == 0 || n % 6 != 0 {
                    return Err(bad());
                }
                Capability::ExtendedNextHop(
                    (0..n / 6)
                        .map(|i| (u16_at(i * 6), u16_at(i * 6 + 2), u16_at(i * 6 + 4)))
                        .collect(),
                )
            }
            code::ROLE => match v {
                [r] => Capability::Role(*r),
                _ => return Err(bad()),
            },
            code::GRACEFUL_RESTART => {
                if n < 2 || (n - 2) % 4 != 0 {
                    return Err(bad());
                }
                let first = u16_at(0);
                Capability::GracefulRestart {
                    flags: (first >> 12) as u8,
                    restart_time: first & 0x0fff,
                    families: v
                        .get(2..)
                        .unwrap_or(&[])
                        .as_chunks::<4>()
                        .0
                        .iter()
                        .map(|&[a, b, safi, flags]| GracefulRestartFamily {
                            family: Family::new(u16::from_be_bytes([a, b]), safi),
                            flags,
                        })
                        .collect(),
                }
            }
            code::FOUR_OCTET_AS => match v {
                [a, b, c, d] => Capability::FourOctetAs(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => return Err(bad()),
            },
            code::ADD_PATH => {
                if n == 0 || n % 4 != 0 {
                    return Err(bad());
                }
                Capability::AddPath(
                    v.as_chunks::<4>()
                        .0
                        .iter()
                        .map(|&[a, b, safi, mode]| {
                            (
                                Family::new(u16::from_be_bytes([a, b]), safi),
                                AddPathMode::from_code(mode),
                            )
                        })
                        .collect(),
                )
            }
            code::LONG_LIVED_GRACEFUL_RESTART => {
                if n % 7 != 0 {
                    return Err(bad());
                }
                Capability::LongLivedGracefulRestart(
                    v.as_chunks::<7>()
                        .0
                        .iter()
                        .map(|&[a, b, safi, flags, t1, t2, t3]| LongLivedFamily {
                            family: Family::new(u16::from_be_bytes([a, b]), safi),
                            flags,
                            stale_time: u32::from_be_bytes([0, t1, t2, t3]),
                        })
                        .collect(),
                )
            }
            code::FQDN => {
                let Some((&hl, r)) = v.split_first() else {
                    return Err(bad());
                };
                let Some(host) = r.get(..usize::from(hl)) else {
                    return Err(bad());
                };
                let r = r.get(usize::from(hl)..).unwrap_or(&[]);
                let Some((&dl, r)) = r.split_first() else {
                    return Err(bad());
                };
                let Some(domain) = r.get(..usize::from(dl)) else {
                    return Err(bad());
                };
                if r.len() != usize::from(dl) {
                    return Err(bad());
                }
                Capability::Fqdn {
                    hostname: Bytes::copy_from_slice(host),
                    domain: Bytes::copy_from_slice(domain),
                }
            }
            code::SOFTWARE_VERSION => {
                let Some((&l, r)) = v.split_first() else {
                    return Err(bad());
                };
                if r.len() != usize::from(l) {
                    return Err(bad());
                }
                Capability::SoftwareVersion(Bytes::copy_from_slice(r))
            }
            _ => Capability::Unknown {
                code,
                data: Bytes::copy_from_slice(v),
            },
        };
        Ok((rest, cap))
    }
}

/// Shows bytes from a peer as text: printable ASCII as is, anything else escaped.
pub fn sanitize(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Capability::*;
        match self {
            Multiprotocol(fam) => write!(f, "multiprotocol {fam}"),
            ExtendedNextHop(v) => {
                write!(f, "extended-nexthop")?;
                for (a, s, n) in v {
                    write!(f, " {}/nh-afi{n}", Family::new(*a, *s as u8))?;
                }
                Ok(())
            }
            Role(r) => write!(
                f,
                "role {}",
                match r {
                    0 => "provider",
                    1 => "rs",
                    2 => "rs-client",
                    3 => "customer",
                    4 => "peer",
                    _ => "unknown",
                }
            ),
            GracefulRestart {
                flags,
                restart_time,
                families,
            } => {
                write!(f, "graceful-restart time {restart_time}")?;
                if flags & 0x8 != 0 {
                    write!(f, " restarting")?;
                }
                if flags & 0x4 != 0 {
                    write!(f, " notification")?;
                }
                for fam in families {
                    write!(
                        f,
                        " {}{}",
                        fam.family,
                        if fam.flags & 0x80 != 0 { "(F)" } else { "" }
                    )?;
                }
                Ok(())
            }
            FourOctetAs(asn) => write!(f, "4-octet-as {asn}"),
            AddPath(v) => {
                write!(f, "add-path")?;
                for (fam, m) in v {
                    let m = match m {
                        AddPathMode::Receive => "receive".to_string(),
                        AddPathMode::Send => "send".to_string(),
                        AddPathMode::Both => "send/receive".to_string(),
                        AddPathMode::Other(x) => format!("mode {x}"),
                    };
                    write!(f, " {fam} {m}")?;
                }
                Ok(())
            }
            LongLivedGracefulRestart(v) => {
                write!(f, "long-lived-graceful-restart")?;
                for fam in v {
                    write!(f, " {} stale {}s", fam.family, fam.stale_time)?;
                }
                Ok(())
            }
            Fqdn { hostname, domain } => {
                write!(f, "fqdn {}", sanitize(hostname))?;
                if !domain.is_empty() {
                    write!(f, ".{}", sanitize(domain))?;
                }
                Ok(())
            }
            SoftwareVersion(v) => write!(f, "software-version {:?}", sanitize(v)),
            Unknown { code, data } => write!(f, "capability {code} ({} octets)", data.len()),
            other => f.write_str(other.name()),
        }
    }
}
