//! What an MRT archive keeps that a BGP session refuses.
//!
//! A collector records what its peers sent, including what RFC 7606 and RFC 7607 would make
//! a live session drop. Two such cases are recovered here, after the UPDATE decoder has
//! recorded its [`UpdateIssue`] (which stays listed):
//!
//! - RFC 7607 AS 0 in AS_PATH, AS4_PATH, AGGREGATOR or AS4_AGGREGATOR: the decoder drops
//!   the attribute; here it is put back, AS 0 included, at its place in the attribute order.
//! - A BGP4MP UPDATE whose NLRI field ends in a truncated prefix: decoding fails (RFC 4271
//!   §6.3); here the message is decoded up to the last whole prefix, and the truncation is
//!   listed as an `InvalidNetworkField` issue with [`AttributeAction::TreatAsWithdraw`].

use crate::attribute::{
    type_code as tc, Aggregator, AsPath, AsSegment, AttributeValue, PathAttribute, PathAttributes,
    SegmentType,
};
use crate::context::SessionContext;
use crate::error::{AttributeAction, DecodeError, ErrorKind, UpdateIssue};
use crate::header::HEADER_LEN;
use crate::message::Message;
use std::net::Ipv4Addr;

/// Puts back the attributes of `block` that were dropped only because they carry AS 0.
pub(crate) fn restore_as_zero(
    block: &[u8],
    four_octet_as: bool,
    attrs: &mut PathAttributes,
    issues: &[UpdateIssue],
) {
    let dropped = |code: u8| {
        issues
            .iter()
            .any(|i| i.kind == ErrorKind::AsZero { type_code: code })
    };
    if !issues
        .iter()
        .any(|i| matches!(i.kind, ErrorKind::AsZero { .. }))
    {
        return;
    }
    let mut order: Vec<u8> = Vec::with_capacity(16);
    let mut rest = block;
    while let Some((flags, code, value, after)) = next_attribute(rest) {
        rest = after;
        order.push(code);
        if !dropped(code) || attrs.get(code).is_some() {
            continue;
        }
        let restored = match code {
            tc::AS_PATH => as_path(value, four_octet_as).map(AttributeValue::AsPath),
            tc::AS4_PATH => as_path(value, true).map(AttributeValue::As4Path),
            tc::AGGREGATOR => aggregator(value, four_octet_as).map(AttributeValue::Aggregator),
            tc::AS4_AGGREGATOR => aggregator(value, true).map(AttributeValue::As4Aggregator),
            _ => None,
        };
        let Some(value) = restored else { continue };
        // Before the first kept attribute that came later in the block.
        let at = attrs
            .0
            .iter()
            .position(|a| !order.contains(&a.type_code()))
            .unwrap_or(attrs.0.len());
        attrs.0.insert(at, PathAttribute { flags, value });
    }
}

/// One attribute of a block: flags, type code, value, and the rest of the block.
fn next_attribute(block: &[u8]) -> Option<(u8, u8, &[u8], &[u8])> {
    let [flags, code, rest @ ..] = block else {
        return None;
    };
    let (len, rest) = if flags & crate::attribute::flags::EXTENDED_LENGTH != 0 {
        let (l, rest) = rest.split_first_chunk::<2>()?;
        (usize::from(u16::from_be_bytes(*l)), rest)
    } else {
        let (l, rest) = rest.split_first()?;
        (usize::from(*l), rest)
    };
    if rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    Some((*flags, *code, value, rest))
}

/// An AS path, AS 0 allowed; `None` if it is malformed in any other way.
fn as_path(mut data: &[u8], four_octet: bool) -> Option<AsPath> {
    let width = if four_octet { 4 } else { 2 };
    let mut segments = Vec::new();
    while let [kind, count, rest @ ..] = data {
        let kind = match kind {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => return None,
        };
        let n = usize::from(*count) * width;
        if *count == 0 || rest.len() < n {
            return None;
        }
        let (body, after) = rest.split_at(n);
        let asns: Vec<u32> = body
            .chunks_exact(width)
            .map(|c| c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
            .collect();
        segments.push((kind, asns));
        data = after;
    }
    data.is_empty().then(|| {
        AsPath::from_segments(
            segments
                .iter()
                .map(|(kind, asns)| AsSegment { kind: *kind, asns }),
        )
    })
}

/// An AGGREGATOR value, AS 0 allowed.
fn aggregator(data: &[u8], four_octet: bool) -> Option<Aggregator> {
    let (asn, address) = match (four_octet, data) {
        (true, [a, b, c, d, e, f, g, h]) => {
            (u32::from_be_bytes([*a, *b, *c, *d]), [*e, *f, *g, *h])
        }
        (false, [a, b, e, f, g, h]) => (u32::from(u16::from_be_bytes([*a, *b])), [*e, *f, *g, *h]),
        _ => return None,
    };
    Some(Aggregator {
        asn,
        address: Ipv4Addr::from(address),
    })
}

/// Where the parts of an UPDATE are: (attribute block, start of the NLRI field), as offsets
/// into the message. `None` if the lengths do not add up.
fn update_layout(message: &[u8]) -> Option<(std::ops::Range<usize>, usize)> {
    let body = message.get(HEADER_LEN..)?;
    let (w, rest) = body.split_first_chunk::<2>()?;
    let wlen = usize::from(u16::from_be_bytes(*w));
    let (a, _) = rest.get(wlen..)?.split_first_chunk::<2>()?;
    let alen = usize::from(u16::from_be_bytes(*a));
    let attrs_at = HEADER_LEN + 2 + wlen + 2;
    let nlri_at = attrs_at + alen;
    (nlri_at <= message.len()).then_some((attrs_at..nlri_at, nlri_at))
}

/// Decodes a BGP4MP message; an UPDATE whose NLRI field ends in a truncated prefix is
/// decoded up to it. AS 0 attributes are restored.
#[inline]
pub(crate) fn decode_recorded_message(
    bgp: &[u8],
    ctx: &SessionContext,
) -> Result<Message, DecodeError> {
    let mut message = match Message::decode(bgp, ctx) {
        Ok(m) => m,
        Err(e) => salvage_truncated_nlri(bgp, ctx, e)?,
    };
    if let Message::Update(u) = &mut message {
        // Only an AS 0 issue can have dropped an attribute to restore.
        if u.issues.is_empty() {
            return Ok(message);
        }
        if let Some((block, _)) = update_layout(bgp) {
            let block = bgp.get(block).unwrap_or(&[]);
            restore_as_zero(block, ctx.four_octet_as, &mut u.attributes, &u.issues);
        }
    }
    Ok(message)
}

/// Retries an UPDATE that failed at a prefix of its NLRI field, without that prefix and what
/// follows. Gives back the original error when that is not the case.
fn salvage_truncated_nlri(
    bgp: &[u8],
    ctx: &SessionContext,
    error: DecodeError,
) -> Result<Message, DecodeError> {
    let ErrorKind::InvalidNetworkField { prefix_length } = error.kind else {
        return Err(error);
    };
    let Some((_, nlri_at)) = update_layout(bgp) else {
        return Err(error);
    };
    let cut = error.offset;
    if cut < nlri_at || cut >= bgp.len() || bgp.get(18) != Some(&2) {
        return Err(error);
    }
    let mut shorter = bgp.get(..cut).map(<[u8]>::to_vec).unwrap_or_default();
    let Ok(len) = u16::try_from(cut) else {
        return Err(error);
    };
    if let Some(field) = shorter.get_mut(16..18) {
        field.copy_from_slice(&len.to_be_bytes());
    }
    match Message::decode(&shorter, ctx) {
        Ok(Message::Update(mut u)) => {
            u.issues.push(UpdateIssue {
                kind: ErrorKind::InvalidNetworkField { prefix_length },
                offset: cut,
                action: AttributeAction::TreatAsWithdraw,
            });
            Ok(Message::Update(u))
        }
        _ => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(four: bool) -> SessionContext {
        crate::mrt::Bgp4mpMessage::context(four, false)
    }

    /// An UPDATE (2-octet AS) with AS_PATH `7018 0`, AGGREGATOR `0 0.0.0.0`, NEXT_HOP, and
    /// NLRI 11.13.0.0/13 followed by a truncated /11.
    const UPDATE: [u8; 56] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x00, 0x38, 0x02, // header
        0x00, 0x00, 0x00, 0x1d, // no withdrawals, 29 octets of attributes
        0x40, 0x01, 0x01, 0x00, // ORIGIN
        0x40, 0x02, 0x06, 0x02, 0x02, 0x1b, 0x6a, 0x00, 0x00, // AS_PATH 7018 0
        0x40, 0x03, 0x04, 12, 0, 1, 63, // NEXT_HOP
        0xc0, 0x07, 0x06, 0x00, 0x00, 0, 0, 0, 0, // AGGREGATOR 0 0.0.0.0
        0x0d, 0x0b, 0x0d, 0x0b, // 11.13.0.0/13, then /11 without its octets
    ];

    #[test]
    fn truncated_nlri_and_as_zero_are_recovered() {
        assert!(Message::decode(&UPDATE, &ctx(false)).is_err());
        let Ok(Message::Update(u)) = decode_recorded_message(&UPDATE, &ctx(false)) else {
            panic!("not recovered");
        };
        assert_eq!(u.nlri.len(), 1);
        assert_eq!(
            u.nlri.first().map(|n| n.prefix.to_string()).as_deref(),
            Some("11.8.0.0/13")
        );
        assert_eq!(
            u.attributes.as_path().map(|p| p.to_string()).as_deref(),
            Some("7018 0")
        );
        assert_eq!(u.attributes.aggregator().map(|a| a.asn), Some(0));
        let codes: Vec<u8> = u.attributes.0.iter().map(|a| a.type_code()).collect();
        assert_eq!(codes, vec![1, 2, 3, 7]);
        assert!(u
            .issues
            .iter()
            .any(|i| i.kind == ErrorKind::AsZero { type_code: 2 }));
        assert!(u
            .issues
            .iter()
            .any(|i| i.offset == 55
                && i.kind == ErrorKind::InvalidNetworkField { prefix_length: 11 }));
    }

    #[test]
    fn other_errors_stay_errors() {
        let mut bad = UPDATE;
        if let Some(b) = bad.get_mut(22) {
            *b = 0xff; // attribute length overruns the message
        }
        assert!(decode_recorded_message(&bad, &ctx(false)).is_err());
    }
}
