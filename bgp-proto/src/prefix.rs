//! NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5) with optional ADD-PATH path identifiers
//! (RFC 7911 §3).
//!
//! A prefix is a length octet followed by the fewest octets that hold that many bits.
//! Validated here: the length fits the family (else RFC 4271 §6.3 Invalid Network Field) and
//! the bytes are present. Host bits set beyond the length are masked and reported as
//! [`AttributeAction::Repaired`].

use crate::error::{AttributeAction, ErrorKind, UpdateIssue};
use crate::family::Family;
use crate::parser::{fail, u32_, u8_, PResult, ParseError};
use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One NLRI entry: a prefix and, with ADD-PATH, its path identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    /// The prefix (host bits always zero).
    pub prefix: IpNet,
    /// RFC 7911 path identifier, present when ADD-PATH is in use for the family.
    pub path_id: Option<u32>,
}

impl Nlri {
    /// A prefix without path identifier.
    pub fn new(prefix: IpNet) -> Self {
        Nlri {
            prefix,
            path_id: None,
        }
    }

    /// Writes this entry; the path identifier is written when present (`add_path` decides
    /// whether one must be: a missing one is written as 0).
    pub fn encode(&self, add_path: bool, buf: &mut BytesMut) {
        if add_path {
            buf.put_u32(self.path_id.unwrap_or(0));
        }
        let len = self.prefix.prefix_len();
        buf.put_u8(len);
        let n = usize::from(len).div_ceil(8);
        match self.prefix {
            IpNet::V4(p) => buf.put_slice(p.network().octets().get(..n).unwrap_or(&[])),
            IpNet::V6(p) => buf.put_slice(p.network().octets().get(..n).unwrap_or(&[])),
        }
    }

    /// Octets on the wire given whether ADD-PATH applies.
    pub fn wire_len(&self, add_path: bool) -> usize {
        (if add_path { 4 } else { 0 }) + 1 + usize::from(self.prefix.prefix_len()).div_ceil(8)
    }
}

impl fmt::Display for Nlri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path_id {
            Some(id) => write!(f, "{} path-id {}", self.prefix, id),
            None => write!(f, "{}", self.prefix),
        }
    }
}

/// Parses one prefix (no path identifier) of `family`. Returns the prefix and whether host
/// bits had to be masked.
pub(crate) fn parse_prefix(input: &[u8], family: Family) -> PResult<'_, (IpNet, bool)> {
    let (rest, len) = u8_(input)?;
    if len > family.max_prefix_len() {
        return fail(input, ErrorKind::InvalidNetworkField { prefix_length: len });
    }
    let n = usize::from(len).div_ceil(8);
    if rest.len() < n {
        return fail(input, ErrorKind::InvalidNetworkField { prefix_length: len });
    }
    let (bytes, rest) = rest.split_at(n);
    if family.max_prefix_len() == 32 {
        let raw = ipv4_octets(bytes);
        let masked = raw & ipv4_mask(len);
        let net = Ipv4Net::new(Ipv4Addr::from(masked), len).map_err(|_| {
            nom::Err::Failure(ParseError::at(
                input,
                ErrorKind::InvalidNetworkField { prefix_length: len },
            ))
        })?;
        Ok((rest, (IpNet::V4(net), masked != raw)))
    } else {
        let mut octets = [0u8; 16];
        octets.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
        let raw = u128::from_be_bytes(octets);
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        let masked = raw & mask;
        let net = Ipv6Net::new(Ipv6Addr::from(masked), len).map_err(|_| {
            nom::Err::Failure(ParseError::at(
                input,
                ErrorKind::InvalidNetworkField { prefix_length: len },
            ))
        })?;
        Ok((rest, (IpNet::V6(net), masked != raw)))
    }
}

/// Parses a whole NLRI field of `family` into `out`. `base` is the message start (for issue
/// offsets); repaired prefixes are reported into `issues`.
pub(crate) fn parse_nlri_field(
    mut input: &[u8],
    family: Family,
    add_path: bool,
    base: &[u8],
    out: &mut Vec<Nlri>,
    issues: &mut Vec<UpdateIssue>,
) -> Result<(), ParseError> {
    if !add_path && family.max_prefix_len() == 32 {
        input = ipv4_fast(input, out);
    }
    while !input.is_empty() {
        let start = input;
        let path_id = if add_path {
            let (rest, id) = u32_(input)
                .map_err(|_| ParseError::at(start, ErrorKind::TruncatedPathIdentifier))?;
            input = rest;
            Some(id)
        } else {
            None
        };
        let (rest, (prefix, repaired)) =
            parse_prefix(input, family).map_err(|e| crate::parser::into_error(e, input))?;
        if repaired {
            issues.push(UpdateIssue {
                kind: ErrorKind::InvalidNetworkField {
                    prefix_length: prefix.prefix_len(),
                },
                offset: ParseError::at(input, ErrorKind::BadMarker).offset_from(base),
                action: AttributeAction::Repaired,
            });
        }
        out.push(Nlri { prefix, path_id });
        input = rest;
    }
    Ok(())
}

/// The common case of [`parse_nlri_field`]: IPv4 prefixes without path identifiers, read
/// in one tight loop (the bulk of a full table). It stops at the first prefix that is not
/// clean — a length over 32, missing octets, host bits set — and returns the rest, which the
/// general loop then reports exactly as RFC 4271 §6.3 and RFC 7606 §5.3 require.
fn ipv4_fast<'a>(mut input: &'a [u8], out: &mut Vec<Nlri>) -> &'a [u8] {
    // Most prefixes of a full table take 4 octets (/17 to /24); shorter ones may still grow
    // the vector once.
    out.reserve(input.len().div_ceil(4));
    loop {
        // The length octet decides how many address octets follow (RFC 4271 §4.3). A length
        // over 32, or missing octets, is the general loop's to report (RFC 4271 §6.3).
        let (len, raw, rest) = if let [len @ 0..=32, a, b, c, d, ..] = *input {
            // At least four octets follow: read them at once and keep the prefix's own
            // (the others belong to the next prefix).
            let n = usize::from(len).div_ceil(8);
            let keep = u32::MAX.checked_shl(32 - 8 * n as u32).unwrap_or(0);
            let Some(rest) = input.get(1 + n..) else {
                break;
            };
            (len, u32::from_be_bytes([a, b, c, d]) & keep, rest)
        } else {
            match *input {
                [len @ 0, ref rest @ ..] => (len, 0, rest),
                [len @ 1..=8, a, ref rest @ ..] => (len, u32::from_be_bytes([a, 0, 0, 0]), rest),
                [len @ 9..=16, a, b, ref rest @ ..] => {
                    (len, u32::from_be_bytes([a, b, 0, 0]), rest)
                }
                [len @ 17..=24, a, b, c, ref rest @ ..] => {
                    (len, u32::from_be_bytes([a, b, c, 0]), rest)
                }
                [len @ 25..=32, a, b, c, d, ref rest @ ..] => {
                    (len, u32::from_be_bytes([a, b, c, d]), rest)
                }
                _ => break,
            }
        };
        if raw & ipv4_mask(len) != raw {
            break;
        }
        let Ok(net) = Ipv4Net::new(Ipv4Addr::from(raw), len) else {
            break;
        };
        out.push(Nlri {
            prefix: IpNet::V4(net),
            path_id: None,
        });
        input = rest;
    }
    input
}

/// The (at most four) octets of an IPv4 prefix as an address number, missing octets zero.
fn ipv4_octets(bytes: &[u8]) -> u32 {
    match *bytes {
        [] => 0,
        [a] => u32::from_be_bytes([a, 0, 0, 0]),
        [a, b] => u32::from_be_bytes([a, b, 0, 0]),
        [a, b, c] => u32::from_be_bytes([a, b, c, 0]),
        [a, b, c, d, ..] => u32::from_be_bytes([a, b, c, d]),
    }
}

/// The network mask of an IPv4 prefix length (0 for /0; callers check `len <= 32`).
pub(crate) fn ipv4_mask(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(len)))
        .unwrap_or(0)
}

/// Reads the bytes of one prefix for MRT (no path identifier), for callers that already
/// know the family.
pub(crate) fn take_prefix(input: &[u8], family: Family) -> PResult<'_, IpNet> {
    let (rest, (p, _)) = parse_prefix(input, family)?;
    Ok((rest, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_prefix_both_directions() {
        let bytes = [24u8, 10, 244, 1];
        let (rest, (p, repaired)) = parse_prefix(&bytes, Family::IPV4_UNICAST).expect("parses");
        assert!(rest.is_empty());
        assert!(!repaired);
        assert_eq!(p.to_string(), "10.244.1.0/24");
        let mut buf = BytesMut::new();
        Nlri::new(p).encode(false, &mut buf);
        assert_eq!(&buf[..], &bytes);
    }

    #[test]
    fn host_bits_are_masked() {
        let bytes = [24u8, 10, 244, 1, 7];
        let (_, (p, _)) = parse_prefix(&bytes[..4], Family::IPV4_UNICAST).expect("parses");
        assert_eq!(p.to_string(), "10.244.1.0/24");
        let bytes = [23u8, 10, 244, 1];
        let (_, (p, repaired)) = parse_prefix(&bytes, Family::IPV4_UNICAST).expect("parses");
        assert!(repaired);
        assert_eq!(p.to_string(), "10.244.0.0/23");
    }

    #[test]
    fn too_long_prefix_is_invalid_network_field() {
        let bytes = [33u8, 1, 2, 3, 4, 5];
        let e = parse_prefix(&bytes, Family::IPV4_UNICAST).expect_err("fails");
        assert!(matches!(
            e,
            nom::Err::Failure(ParseError {
                kind: ErrorKind::InvalidNetworkField { prefix_length: 33 },
                ..
            })
        ));
    }

    #[test]
    fn fast_path_leaves_a_too_long_ipv4_prefix_to_the_general_loop() {
        // Found by bgpd's session_rib fuzz target (overflow checks on): length 33.
        let mut out = Vec::new();
        let input = [24u8, 10, 244, 1, 33, 1, 2, 3, 4, 5];
        let rest = ipv4_fast(&input, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(Some(rest), input.get(4..));
    }

    #[test]
    fn ipv6_prefix_122() {
        let bytes = [
            122u8, 0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40,
        ];
        let (_, (p, repaired)) = parse_prefix(&bytes, Family::IPV6_UNICAST).expect("parses");
        assert!(!repaired);
        assert_eq!(p.to_string(), "fd00:10:244::40/122");
    }
}
