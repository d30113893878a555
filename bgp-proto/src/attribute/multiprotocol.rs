//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4), with IPv6 global + link-local next
//! hops (RFC 2545 §3) and IPv4 NLRI over an IPv6 next hop (RFC 8950 §3).
//!
//! Any malformation here is fatal for the session (RFC 7606 §5.3 and §7.11: the NLRI cannot
//! be located), so errors are returned as [`ParseError`] and become NOTIFICATION 3/1.

use crate::context::SessionContext;
use crate::error::{ErrorKind, UpdateIssue};
use crate::family::{Family, AFI_IPV4, AFI_IPV6};
use crate::parser::{ipv4, ipv6, take, u16_, u8_, ParseError};
use crate::prefix::{parse_nlri_field, Nlri};
use bytes::{BufMut, Bytes, BytesMut};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The next hop carried in MP_REACH_NLRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MpNextHop {
    /// A 4-octet IPv4 next hop (IPv4 NLRI).
    Ipv4(Ipv4Addr),
    /// A 16-octet global IPv6 next hop, optionally followed by a link-local one (32 octets).
    Ipv6 {
        /// The global address.
        global: Ipv6Addr,
        /// The link-local address, when the length is 32.
        link_local: Option<Ipv6Addr>,
    },
    /// The next hop of a family this crate does not interpret, as received.
    Opaque(Bytes),
}

impl MpNextHop {
    /// Octets on the wire, without the length octet.
    pub fn wire_len(&self) -> usize {
        match self {
            MpNextHop::Ipv4(_) => 4,
            MpNextHop::Ipv6 {
                link_local: None, ..
            } => 16,
            MpNextHop::Ipv6 {
                link_local: Some(_),
                ..
            } => 32,
            MpNextHop::Opaque(b) => b.len(),
        }
    }

    /// Writes the address(es), without the length octet.
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            MpNextHop::Ipv4(a) => buf.put_slice(&a.octets()),
            MpNextHop::Ipv6 { global, link_local } => {
                buf.put_slice(&global.octets());
                if let Some(ll) = link_local {
                    buf.put_slice(&ll.octets());
                }
            }
            MpNextHop::Opaque(b) => buf.put_slice(b),
        }
    }

    /// Interprets `bytes` as the next hop of `family`. Lengths that do not fit a prefix
    /// family are an error; other families keep the bytes.
    pub(crate) fn parse(bytes: &[u8], family: Family) -> Result<MpNextHop, ParseError> {
        if !family.has_prefix_nlri() {
            return Ok(MpNextHop::Opaque(Bytes::copy_from_slice(bytes)));
        }
        let bad = || {
            ParseError::at(
                bytes,
                ErrorKind::MalformedMultiprotocolAttribute {
                    type_code: 14,
                    reason: "next-hop length does not fit the address family",
                },
            )
        };
        match (family.afi, bytes.len()) {
            (AFI_IPV4, 4) => Ok(MpNextHop::Ipv4(ipv4(bytes).map_err(|_| bad())?.1)),
            (AFI_IPV4 | AFI_IPV6, 16) => Ok(MpNextHop::Ipv6 {
                global: ipv6(bytes).map_err(|_| bad())?.1,
                link_local: None,
            }),
            (AFI_IPV4 | AFI_IPV6, 32) => {
                let (rest, global) = ipv6(bytes).map_err(|_| bad())?;
                let (_, ll) = ipv6(rest).map_err(|_| bad())?;
                Ok(MpNextHop::Ipv6 {
                    global,
                    link_local: Some(ll),
                })
            }
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for MpNextHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MpNextHop::Ipv4(a) => write!(f, "{a}"),
            MpNextHop::Ipv6 { global, .. } => write!(f, "{global}"),
            MpNextHop::Opaque(b) => {
                for x in b.iter() {
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// MP_REACH_NLRI (type 14): reachable prefixes of one family and their next hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// The family of the NLRI.
    pub family: Family,
    /// The next hop.
    pub next_hop: MpNextHop,
    /// The prefixes (for IPv4/IPv6 unicast and multicast).
    pub nlri: Vec<Nlri>,
    /// The NLRI bytes of a family this crate does not parse, as received.
    pub opaque_nlri: Bytes,
}

/// MP_UNREACH_NLRI (type 15): withdrawn prefixes of one family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// The family of the withdrawn NLRI.
    pub family: Family,
    /// The withdrawn prefixes (for IPv4/IPv6 unicast and multicast).
    pub withdrawn: Vec<Nlri>,
    /// The NLRI bytes of a family this crate does not parse, as received.
    pub opaque_nlri: Bytes,
}

fn mp_error(input: &[u8], type_code: u8, reason: &'static str) -> ParseError {
    ParseError::at(
        input,
        ErrorKind::MalformedMultiprotocolAttribute { type_code, reason },
    )
}

fn family(input: &[u8], type_code: u8) -> Result<(&[u8], Family), ParseError> {
    let (rest, afi) = u16_(input).map_err(|_| mp_error(input, type_code, "truncated AFI"))?;
    let (rest, safi) = u8_(rest).map_err(|_| mp_error(input, type_code, "truncated SAFI"))?;
    Ok((rest, Family::new(afi, safi)))
}

fn nlri_of(
    input: &[u8],
    family: Family,
    ctx: &SessionContext,
    base: &[u8],
    issues: &mut Vec<UpdateIssue>,
) -> Result<(Vec<Nlri>, Bytes), ParseError> {
    if !family.has_prefix_nlri() {
        return Ok((Vec::new(), Bytes::copy_from_slice(input)));
    }
    let add_path = ctx.add_path.contains(family);
    let mut nlri = Vec::with_capacity(input.len() / if add_path { 8 } else { 4 });
    parse_nlri_field(input, family, add_path, base, &mut nlri, issues)?;
    Ok((nlri, Bytes::new()))
}

impl MpReach {
    /// Parses the value of MP_REACH_NLRI.
    pub(crate) fn parse(
        input: &[u8],
        ctx: &SessionContext,
        base: &[u8],
        issues: &mut Vec<UpdateIssue>,
    ) -> Result<MpReach, ParseError> {
        let (rest, family) = family(input, 14)?;
        let (rest, nh_len) =
            u8_(rest).map_err(|_| mp_error(rest, 14, "truncated next-hop length"))?;
        let (rest, nh) = take(rest, usize::from(nh_len), "next hop")
            .map_err(|_| mp_error(rest, 14, "next hop overruns the attribute"))?;
        let next_hop = MpNextHop::parse(nh, family)?;
        let (rest, _reserved) =
            u8_(rest).map_err(|_| mp_error(rest, 14, "missing reserved octet"))?;
        let (nlri, opaque_nlri) = nlri_of(rest, family, ctx, base, issues)?;
        Ok(MpReach {
            family,
            next_hop,
            nlri,
            opaque_nlri,
        })
    }

    /// Octets of the value on the wire.
    pub fn wire_len(&self, ctx: &SessionContext) -> usize {
        let add_path = ctx.add_path.contains(self.family);
        3 + 1
            + self.next_hop.wire_len()
            + 1
            + self
                .nlri
                .iter()
                .map(|n| n.wire_len(add_path))
                .sum::<usize>()
            + self.opaque_nlri.len()
    }

    /// Writes the value.
    pub fn encode(&self, ctx: &SessionContext, buf: &mut BytesMut) {
        let add_path = ctx.add_path.contains(self.family);
        buf.put_u16(self.family.afi);
        buf.put_u8(self.family.safi);
        buf.put_u8(self.next_hop.wire_len() as u8);
        self.next_hop.encode(buf);
        buf.put_u8(0);
        for n in &self.nlri {
            n.encode(add_path, buf);
        }
        buf.put_slice(&self.opaque_nlri);
    }
}

impl MpUnreach {
    /// Parses the value of MP_UNREACH_NLRI.
    pub(crate) fn parse(
        input: &[u8],
        ctx: &SessionContext,
        base: &[u8],
        issues: &mut Vec<UpdateIssue>,
    ) -> Result<MpUnreach, ParseError> {
        let (rest, family) = family(input, 15)?;
        let (withdrawn, opaque_nlri) = nlri_of(rest, family, ctx, base, issues)?;
        Ok(MpUnreach {
            family,
            withdrawn,
            opaque_nlri,
        })
    }

    /// Octets of the value on the wire.
    pub fn wire_len(&self, ctx: &SessionContext) -> usize {
        let add_path = ctx.add_path.contains(self.family);
        3 + self
            .withdrawn
            .iter()
            .map(|n| n.wire_len(add_path))
            .sum::<usize>()
            + self.opaque_nlri.len()
    }

    /// Writes the value.
    pub fn encode(&self, ctx: &SessionContext, buf: &mut BytesMut) {
        let add_path = ctx.add_path.contains(self.family);
        buf.put_u16(self.family.afi);
        buf.put_u8(self.family.safi);
        for n in &self.withdrawn {
            n.encode(add_path, buf);
        }
        buf.put_slice(&self.opaque_nlri);
    }
}
