//! UPDATEs checked in place: the common, clean UPDATE validated without being decoded into
//! owned values.
//!
//! [`Message::decode`](crate::Message::decode) builds an [`Update`]: a vector of prefixes, a
//! vector of attributes, an AS path and community lists of their own. For a session loading a
//! table that is most of the decoding cost (allocation, the copies, and dropping it all
//! again), although nearly every UPDATE a feed sends is well-formed and uses a handful of
//! attributes. [`CheckedUpdate::check`] validates such an UPDATE where it lies and keeps
//! only where its fields are and the few values best-path selection reads
//! ([`AttributeIndex`]); nothing is allocated. The prefixes and attributes are read from the
//! message bytes when asked for.
//!
//! It accepts exactly the UPDATEs the full decoder decodes without any RFC 7606 issue, within
//! this subset:
//! - IPv4 unicast NLRI and withdrawals in the message's own fields, without ADD-PATH;
//! - ORIGIN, AS_PATH, NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR,
//!   COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST, EXTENDED_COMMUNITIES, LARGE_COMMUNITY, and
//!   optional attributes this crate carries opaque (other than the TLV-checked
//!   TUNNEL_ENCAPSULATION and Prefix-SID), each with its expected flags and a valid value.
//!
//! Anything else (a problem of any kind, MP_REACH_NLRI or MP_UNREACH_NLRI, AS4_PATH,
//! ADD-PATH) gives `None`, and the caller decodes the message with
//! [`Message::decode`](crate::Message::decode), which reports what is wrong, with the RFC's
//! action and byte offset. So the check never has to decide an error itself, and cannot
//! decide one differently: a property test and a fuzz target hold it to the full decoder
//! (every accepted message decodes with no issue, to the same prefixes and attributes).

use crate::attribute::{
    expected_flags, flags, parse_value, split_attribute, type_code as tc, AttributeValue,
    Community, Origin, PathAttribute, PathAttributes,
};
use crate::context::SessionContext;
use crate::header::{HEADER_LEN, MARKER};
use crate::prefix::{ipv4_mask, Nlri};
use crate::update::Update;
use ipnet::{IpNet, Ipv4Net};
use std::net::Ipv4Addr;

/// Where one attribute's value lies in the attribute block: offset and length. An absent
/// attribute has length 0 and [`AttributeIndex::present`] says it is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u16,
    len: u16,
}

impl Span {
    fn of(self, block: &[u8]) -> &[u8] {
        let start = usize::from(self.start);
        block
            .get(start..start + usize::from(self.len))
            .unwrap_or(&[])
    }
}

/// What a checked UPDATE's attributes say that best-path selection and the RIB read per
/// route, found while checking them, and where the variable-length ones are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttributeIndex {
    /// Bit `n` set: an attribute of type `n` (below 64) is in the block. Types 64 and above
    /// are carried opaque and not recorded.
    pub present: u64,
    origin: u8,
    next_hop: u32,
    med: u32,
    local_pref: u32,
    as_path: Span,
    communities: Span,
    /// The whole NEXT_HOP attribute, header included.
    next_hop_attribute: Span,
    /// Some attribute's type code is not above the one before it.
    out_of_order: bool,
}

impl AttributeIndex {
    fn has(&self, code: u8) -> bool {
        self.present & (1u64 << (code % 64)) != 0
    }
}

/// A well-formed UPDATE, validated in the message it arrived in. See the module docs for
/// which UPDATEs [`CheckedUpdate::check`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedUpdate<'a> {
    withdrawn: &'a [u8],
    attributes: &'a [u8],
    nlri: &'a [u8],
    withdrawn_count: usize,
    nlri_count: usize,
    four_octet_as: bool,
    index: AttributeIndex,
}

impl<'a> CheckedUpdate<'a> {
    /// Checks `message` (a whole framed message, header included) received in `ctx`.
    /// `Some` when it is an UPDATE the full decoder would decode without any issue and it
    /// is of the common form the module docs name; `None` otherwise, and the caller decodes
    /// it with [`Message::decode`](crate::Message::decode).
    #[inline]
    pub fn check(message: &'a [u8], ctx: &SessionContext) -> Option<CheckedUpdate<'a>> {
        Self::check_with(message, ctx, |_, field| count_ipv4_prefixes(field))
    }

    /// As [`CheckedUpdate::check`], reading the announced prefixes (the NLRI field) into
    /// `nlri` in the same pass as it checks them (appended): a session loading a table then
    /// reads each prefix once. On `None` the vector may hold some of them: the caller drops
    /// it.
    #[inline]
    pub fn check_into(
        message: &'a [u8],
        ctx: &SessionContext,
        nlri: &mut Vec<Nlri>,
    ) -> Option<CheckedUpdate<'a>> {
        Self::check_with(message, ctx, |is_nlri, field| {
            if is_nlri {
                read_ipv4_prefixes(field, nlri)
            } else {
                count_ipv4_prefixes(field)
            }
        })
    }

    /// The check, with `prefixes(is_nlri, field)` checking and counting the prefixes of the
    /// Withdrawn Routes field (`false`) and then of the NLRI field (`true`).
    #[inline(always)]
    fn check_with(
        message: &'a [u8],
        ctx: &SessionContext,
        mut prefixes: impl FnMut(bool, &[u8]) -> Option<usize>,
    ) -> Option<CheckedUpdate<'a>> {
        // RFC 4271 §4.1: marker, length and type. Any problem is the full decoder's to report.
        let (header, body) = message.split_first_chunk::<HEADER_LEN>()?;
        let (marker, [hi, lo, kind]) = header.split_first_chunk::<16>()? else {
            return None;
        };
        let length = usize::from(u16::from_be_bytes([*hi, *lo]));
        if *marker != MARKER
            || *kind != 2
            || length != message.len()
            || length > ctx.max_message_len()
            || ctx.add_path.contains(crate::family::Family::IPV4_UNICAST)
        {
            return None;
        }
        // RFC 4271 §4.3: the withdrawn routes, the attribute block and the NLRI field.
        let (wlen, rest) = body.split_first_chunk::<2>()?;
        let (withdrawn, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*wlen)))?;
        let (alen, rest) = rest.split_first_chunk::<2>()?;
        let (attributes, nlri) = rest.split_at_checked(usize::from(u16::from_be_bytes(*alen)))?;

        let withdrawn_count = prefixes(false, withdrawn)?;
        let nlri_count = prefixes(true, nlri)?;
        let index = check_attributes(attributes, ctx)?;
        // RFC 4271 §5: ORIGIN, AS_PATH and NEXT_HOP come with any NLRI (RFC 7606 §3(d)
        // otherwise, the full decoder's to report).
        const MANDATORY: u64 = (1 << tc::ORIGIN) | (1 << tc::AS_PATH) | (1 << tc::NEXT_HOP);
        if nlri_count > 0 && index.present & MANDATORY != MANDATORY {
            return None;
        }
        Some(CheckedUpdate {
            withdrawn,
            attributes,
            nlri,
            withdrawn_count,
            nlri_count,
            four_octet_as: ctx.four_octet_as,
            index,
        })
    }

    /// The announced IPv4 unicast routes (the NLRI field).
    pub fn nlri(&self) -> Ipv4Prefixes<'a> {
        Ipv4Prefixes(self.nlri)
    }

    /// How many routes the NLRI field announces.
    pub fn nlri_count(&self) -> usize {
        self.nlri_count
    }

    /// The withdrawn IPv4 unicast routes (the Withdrawn Routes field).
    pub fn withdrawn(&self) -> Ipv4Prefixes<'a> {
        Ipv4Prefixes(self.withdrawn)
    }

    /// How many routes the Withdrawn Routes field withdraws.
    pub fn withdrawn_count(&self) -> usize {
        self.withdrawn_count
    }

    /// RFC 4724 §2: an UPDATE with no withdrawals, attributes or NLRI is IPv4 unicast's
    /// End-of-RIB marker.
    pub fn is_end_of_rib(&self) -> bool {
        self.withdrawn.is_empty() && self.attributes.is_empty() && self.nlri.is_empty()
    }

    /// The attribute block as received (every attribute in it is kept: a checked UPDATE has
    /// nothing to discard).
    pub fn attribute_block(&self) -> &'a [u8] {
        self.attributes
    }

    /// The attribute block as received, in two parts: the octets before the NEXT_HOP
    /// attribute and those after it (the whole block and nothing when it has none). A RIB
    /// that keeps the next hop in a field of its own keeps the rest as they are.
    pub fn attribute_block_around_next_hop(&self) -> (&'a [u8], &'a [u8]) {
        let Span { start, len } = self.index.next_hop_attribute;
        let (start, end) = (usize::from(start), usize::from(start) + usize::from(len));
        match (self.attributes.get(..start), self.attributes.get(end..)) {
            (Some(head), Some(tail)) if self.index.has(tc::NEXT_HOP) => (head, tail),
            _ => (self.attributes, &[]),
        }
    }

    /// Whether every attribute's type code is above the one before it (RFC 4271 §5 asks a
    /// sender to order them so; a receiver must not rely on it).
    pub fn in_type_order(&self) -> bool {
        !self.index.out_of_order
    }

    /// The attributes as (flags, type code, value), in received order.
    pub fn attributes(&self) -> RawAttributes<'a> {
        RawAttributes(self.attributes)
    }

    /// Whether the UPDATE was checked with 4-octet AS numbers (RFC 6793): the width of the
    /// AS numbers in its AS_PATH and AGGREGATOR.
    pub fn four_octet_as(&self) -> bool {
        self.four_octet_as
    }

    /// What the check found; see [`AttributeIndex`].
    pub fn index(&self) -> &AttributeIndex {
        &self.index
    }

    /// ORIGIN, if present.
    pub fn origin(&self) -> Option<Origin> {
        let origin = match self.index.origin {
            0 => Origin::Igp,
            1 => Origin::Egp,
            _ => Origin::Incomplete,
        };
        self.index.has(tc::ORIGIN).then_some(origin)
    }

    /// NEXT_HOP, if present.
    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        self.index
            .has(tc::NEXT_HOP)
            .then(|| Ipv4Addr::from(self.index.next_hop))
    }

    /// MULTI_EXIT_DISC, if present.
    pub fn med(&self) -> Option<u32> {
        self.index
            .has(tc::MULTI_EXIT_DISC)
            .then_some(self.index.med)
    }

    /// LOCAL_PREF, if present (only an iBGP peer's is accepted).
    pub fn local_pref(&self) -> Option<u32> {
        self.index
            .has(tc::LOCAL_PREF)
            .then_some(self.index.local_pref)
    }

    /// The AS_PATH value as received, in the session's AS width (empty when absent).
    pub fn as_path_value(&self) -> &'a [u8] {
        self.index.as_path.of(self.attributes)
    }

    /// The COMMUNITIES, in received order.
    pub fn communities(&self) -> impl Iterator<Item = Community> + 'a {
        let (chunks, _) = self.index.communities.of(self.attributes).as_chunks::<4>();
        chunks.iter().map(|c| Community(u32::from_be_bytes(*c)))
    }

    /// The same UPDATE decoded into owned values, as [`Message::decode`](crate::Message::decode)
    /// gives it: for the callers (and the tests) that need an [`Update`].
    pub fn to_update(&self) -> Update {
        Update {
            withdrawn: self.withdrawn().collect(),
            attributes: self.path_attributes(|_| true),
            nlri: self.nlri().collect(),
            issues: Vec::new(),
        }
    }

    /// The attributes whose type `keep` accepts, decoded into owned values as the full
    /// decoder decodes them, in received order, in a vector of exactly their number.
    pub fn path_attributes(&self, keep: impl Fn(u8) -> bool) -> PathAttributes {
        decode_checked_block(self.attributes, self.four_octet_as, keep)
    }
}

/// Decodes the attributes whose type `keep` accepts from an attribute block that
/// [`CheckedUpdate::check`] accepted (or one cut from such a block attribute by attribute),
/// with AS numbers of `four_octet_as` width, into owned values as the full decoder decodes
/// them, in block order, in a vector of exactly their number. This is how a RIB that keeps
/// checked blocks reads one when it needs the values.
pub fn decode_checked_block(
    block: &[u8],
    four_octet_as: bool,
    keep: impl Fn(u8) -> bool,
) -> PathAttributes {
    let ctx = SessionContext {
        four_octet_as,
        ibgp: true,
        ..SessionContext::default()
    };
    let kept = || RawAttributes(block).filter(|(_, code, _)| keep(*code));
    let mut out = Vec::with_capacity(kept().count());
    out.extend(kept().map(|(f, code, data)| PathAttribute {
        flags: f,
        // Checked: every value decodes (the fallback is never taken).
        value: parse_value(code, data, &ctx).unwrap_or(AttributeValue::Unknown {
            type_code: code,
            data: data.into(),
        }),
    }));
    PathAttributes(out)
}

/// Whether the decoder carries attributes of `type_code` opaque, as
/// [`AttributeValue::Unknown`] (RFC 4271 §5: an export passes them on by their Transitive
/// bit).
pub fn carried_opaque(type_code: u8) -> bool {
    expected_flags(type_code).is_none()
}

/// Counts the prefixes of an IPv4 NLRI field without ADD-PATH, or `None` when one is not
/// well-formed: a length over 32 or octets missing (RFC 4271 §6.3), or host bits set beyond
/// the length (repaired and reported by the full decoder).
#[inline]
fn count_ipv4_prefixes(mut field: &[u8]) -> Option<usize> {
    let mut count = 0;
    while let Some((&len, rest)) = field.split_first() {
        let (raw, rest) = ipv4_prefix(len, rest)?;
        if raw & !ipv4_mask(len) != 0 {
            return None;
        }
        field = rest;
        count += 1;
    }
    Some(count)
}

/// As [`count_ipv4_prefixes`], appending the prefixes to `out` as it checks them.
#[inline]
fn read_ipv4_prefixes(mut field: &[u8], out: &mut Vec<Nlri>) -> Option<usize> {
    // Room for prefixes of 3 octets and a length (a /17 to /24), what a table mostly holds.
    out.reserve(field.len() / 4 + 1);
    let before = out.len();
    while let Some((&len, rest)) = field.split_first() {
        let (raw, rest) = ipv4_prefix(len, rest)?;
        if raw & !ipv4_mask(len) != 0 {
            return None;
        }
        field = rest;
        let net = Ipv4Net::new(Ipv4Addr::from(raw), len).ok()?;
        out.push(Nlri::new(IpNet::V4(net)));
    }
    Some(out.len() - before)
}

/// The address octets of an IPv4 prefix of `len` bits at the start of `rest` (missing
/// octets zero) and what follows it, or `None` when `len` is over 32 or octets are missing.
#[inline(always)]
fn ipv4_prefix(len: u8, rest: &[u8]) -> Option<(u32, &[u8])> {
    if len > 32 {
        return None;
    }
    let n = usize::from(len).div_ceil(8);
    let after = rest.get(n..)?;
    // Read as one word, then keep the prefix's own octets (the others belong to what
    // follows): an octet-by-octet copy into a word costs a store-forwarding stall.
    let word = match *rest {
        [a, b, c, d, ..] => u32::from_be_bytes([a, b, c, d]),
        [a, b, c] => u32::from_be_bytes([a, b, c, 0]),
        [a, b] => u32::from_be_bytes([a, b, 0, 0]),
        [a] => u32::from_be_bytes([a, 0, 0, 0]),
        [] => 0,
    };
    let own = u32::MAX.checked_shl(32 - 8 * n as u32).unwrap_or(0);
    Some((word & own, after))
}

/// The prefixes of a checked IPv4 NLRI field.
#[derive(Debug, Clone)]
pub struct Ipv4Prefixes<'a>(&'a [u8]);

impl Iterator for Ipv4Prefixes<'_> {
    type Item = Nlri;

    fn next(&mut self) -> Option<Nlri> {
        let (&len, rest) = self.0.split_first()?;
        let (raw, rest) = ipv4_prefix(len, rest)?;
        self.0 = rest;
        let net = Ipv4Net::new(Ipv4Addr::from(raw), len).ok()?;
        Some(Nlri::new(IpNet::V4(net)))
    }
}

/// The attributes of a checked attribute block, as (flags, type code, value).
#[derive(Debug, Clone)]
pub struct RawAttributes<'a>(&'a [u8]);

impl<'a> RawAttributes<'a> {
    /// The attributes of `block`, an attribute block that was checked before (an attribute
    /// cut short ends the iteration).
    pub fn new(block: &'a [u8]) -> Self {
        RawAttributes(block)
    }
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = (u8, u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (f, code, data, rest) = split_attribute(self.0)?;
        self.0 = rest;
        Some((f, code, data))
    }
}

/// Checks an attribute block: every attribute is one the module docs name, once, with its
/// expected flags and a value the full decoder takes without an issue. Returns what it
/// found, or `None` for anything else.
#[inline]
fn check_attributes(block: &[u8], ctx: &SessionContext) -> Option<AttributeIndex> {
    use flags::{OPTIONAL, TRANSITIVE};
    const BOTH: u8 = OPTIONAL | TRANSITIVE;
    let mut index = AttributeIndex::default();
    let mut high_seen = [0u64; 3];
    // One above the last type code seen (0: none yet), so that the order test is one compare.
    let mut after_last = 0u16;
    let mut rest = block;
    while !rest.is_empty() {
        let (f, code, data, after) = split_attribute(rest)?;
        let attribute_at = block.len() - rest.len();
        let value_at = attribute_at + (rest.len() - after.len() - data.len());
        rest = after;
        index.out_of_order |= u16::from(code) < after_last;
        after_last = u16::from(code) + 1;
        // RFC 7606 §3(g): a repeated attribute is the full decoder's to report.
        if code < 64 {
            let bit = 1u64 << code;
            if index.present & bit != 0 {
                return None;
            }
            index.present |= bit;
        } else {
            let word = high_seen.get_mut(usize::from(code / 64) - 1)?;
            let bit = 1u64 << (code % 64);
            if *word & bit != 0 {
                return None;
            }
            *word |= bit;
        }
        let span = || {
            Some(Span {
                start: u16::try_from(value_at).ok()?,
                len: u16::try_from(data.len()).ok()?,
            })
        };
        let four = || data.first_chunk::<4>().map(|b| u32::from_be_bytes(*b));
        // The type code decides; the flags must then be the type's, and the value its form.
        // Any mismatch, and any type the full decoder interprets beyond these, is the full
        // decoder's to report.
        let flags = f & BOTH;
        match code {
            tc::ORIGIN if flags == TRANSITIVE => match *data {
                [o @ 0..=2] => index.origin = o,
                _ => return None,
            },
            tc::AS_PATH if flags == TRANSITIVE => {
                check_as_path(data, ctx)?;
                index.as_path = span()?;
            }
            tc::NEXT_HOP if flags == TRANSITIVE && data.len() == 4 => {
                index.next_hop = four()?;
                index.next_hop_attribute = Span {
                    start: u16::try_from(attribute_at).ok()?,
                    len: u16::try_from(value_at + 4 - attribute_at).ok()?,
                };
            }
            tc::MULTI_EXIT_DISC if flags == OPTIONAL && data.len() == 4 => index.med = four()?,
            // RFC 7606 §7.5: from an external peer, LOCAL_PREF is discarded (an issue).
            tc::LOCAL_PREF if flags == TRANSITIVE && ctx.ibgp && data.len() == 4 => {
                index.local_pref = four()?
            }
            tc::ATOMIC_AGGREGATE if flags == TRANSITIVE && data.is_empty() => {}
            // RFC 7606 §7.7; RFC 6793 §6 forbids AS 0.
            tc::AGGREGATOR if flags == BOTH => {
                let asn = match (ctx.four_octet_as, data) {
                    (true, [a, b, c, d, _, _, _, _]) => u32::from_be_bytes([*a, *b, *c, *d]),
                    (false, [a, b, _, _, _, _]) => u32::from(u16::from_be_bytes([*a, *b])),
                    _ => return None,
                };
                if asn == 0 {
                    return None;
                }
            }
            tc::COMMUNITIES if flags == BOTH && multiple_of(data, 4) => index.communities = span()?,
            // RFC 4456 §8 (RFC 7606 §7.9, §7.10): only an internal peer's are kept.
            tc::ORIGINATOR_ID if flags == OPTIONAL && ctx.ibgp && data.len() == 4 => {}
            tc::CLUSTER_LIST if flags == OPTIONAL && ctx.ibgp && multiple_of(data, 4) => {}
            tc::EXTENDED_COMMUNITIES if flags == BOTH && multiple_of(data, 8) => {}
            tc::LARGE_COMMUNITY if flags == BOTH && multiple_of(data, 12) => {}
            // Every other type this crate interprets ([`expected_flags`] knows them all), or
            // checks the TLVs of, is the full decoder's.
            _ if expected_flags(code).is_some()
                || matches!(code, tc::TUNNEL_ENCAPSULATION | tc::PREFIX_SID) =>
            {
                return None
            }
            // Any other optional attribute is carried opaque (RFC 4271 §5); a well-known one
            // this crate does not know resets the session (§6.3).
            _ if f & OPTIONAL != 0 => {}
            _ => return None,
        }
    }
    Some(index)
}

/// Whether a list value is non-empty and a whole number of `n`-octet items.
fn multiple_of(data: &[u8], n: usize) -> bool {
    !data.is_empty() && data.len().is_multiple_of(n)
}

/// Checks an AS_PATH value as the full decoder does, in the session's AS width (RFC 4271
/// §4.3, RFC 7606 §7.2): known segment types, no empty segment, no segment overrunning the
/// value, no AS 0 (RFC 7607); no confederation segment from an external peer (RFC 5065 §5);
/// and, where the session enforces it, the leftmost AS (RFC 4271 §6.3).
#[inline]
fn check_as_path(mut value: &[u8], ctx: &SessionContext) -> Option<()> {
    let width = if ctx.four_octet_as { 4 } else { 2 };
    let mut first = true;
    while let [kind, count, ref after @ ..] = *value {
        let confed = match kind {
            1 | 2 => false,
            3 | 4 => true,
            _ => return None,
        };
        if count == 0 || (confed && !ctx.ibgp) {
            return None;
        }
        let (asns, after) = after.split_at_checked(usize::from(count) * width)?;
        let zero = if ctx.four_octet_as {
            asns.as_chunks::<4>().0.contains(&[0; 4])
        } else {
            asns.as_chunks::<2>().0.contains(&[0; 2])
        };
        if zero {
            return None;
        }
        if first {
            if let Some(expected) = ctx.enforce_first_as {
                let leftmost = match (kind, ctx.four_octet_as, asns) {
                    (2, true, [a, b, c, d, ..]) => u32::from_be_bytes([*a, *b, *c, *d]),
                    (2, false, [a, b, ..]) => u32::from(u16::from_be_bytes([*a, *b])),
                    _ => return None,
                };
                if leftmost != expected {
                    return None;
                }
            }
            first = false;
        }
        value = after;
    }
    // A segment header cut short; and an empty path where the first AS is enforced.
    (value.is_empty() && !(first && ctx.enforce_first_as.is_some())).then_some(())
}
