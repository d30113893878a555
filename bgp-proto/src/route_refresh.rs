//! ROUTE-REFRESH (RFC 2918 §3) with the RFC 7313 §3 subtypes (BoRR, EoRR).

use crate::family::Family;
use bytes::{BufMut, Bytes, BytesMut};

/// ROUTE-REFRESH subtype: a normal request (RFC 2918).
pub const SUBTYPE_REQUEST: u8 = 0;
/// RFC 7313: Beginning of Route Refresh.
pub const SUBTYPE_BORR: u8 = 1;
/// RFC 7313: End of Route Refresh.
pub const SUBTYPE_EORR: u8 = 2;

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// 0 request, 1 BoRR, 2 EoRR (RFC 7313); the octet was "reserved" in RFC 2918.
    pub subtype: u8,
    /// Outbound route filter entries (RFC 5291) as received; empty otherwise.
    pub orf: Bytes,
}

impl RouteRefresh {
    /// A plain refresh request for `family`.
    pub fn request(family: Family) -> Self {
        RouteRefresh {
            family,
            subtype: SUBTYPE_REQUEST,
            orf: Bytes::new(),
        }
    }

    /// Octets of the body.
    pub fn body_len(&self) -> usize {
        4 + self.orf.len()
    }

    /// Writes the body.
    pub fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u16(self.family.afi);
        buf.put_u8(self.subtype);
        buf.put_u8(self.family.safi);
        buf.put_slice(&self.orf);
    }

    /// Parses a body of at least four octets (checked by the caller).
    pub(crate) fn parse(body: &[u8]) -> Option<RouteRefresh> {
        let [a, b, subtype, safi, orf @ ..] = body else {
            return None;
        };
        Some(RouteRefresh {
            family: Family::new(u16::from_be_bytes([*a, *b]), *safi),
            subtype: *subtype,
            orf: Bytes::copy_from_slice(orf),
        })
    }
}
