//! AS_PATH and AS4_PATH (RFC 4271 §4.3 and §5.1.2, RFC 5065 confederation segments,
//! RFC 6793 2- and 4-octet forms, RFC 7606 §7.2 malformations, RFC 7607 AS 0).

use crate::error::{EncodeError, ErrorKind};
use crate::parser::{PResult, ParseError};
use bytes::{BufMut, BytesMut};
use std::fmt;

/// RFC 6793 §9: AS_TRANS, the 2-octet stand-in for a 4-octet AS number.
pub const AS_TRANS: u32 = 23456;

/// The type of an AS_PATH segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentType {
    /// AS_SET (1): an unordered set, e.g. after aggregation.
    Set,
    /// AS_SEQUENCE (2): the ordered path.
    Sequence,
    /// AS_CONFED_SEQUENCE (3, RFC 5065).
    ConfedSequence,
    /// AS_CONFED_SET (4, RFC 5065).
    ConfedSet,
}

impl SegmentType {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            SegmentType::Set => 1,
            SegmentType::Sequence => 2,
            SegmentType::ConfedSequence => 3,
            SegmentType::ConfedSet => 4,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => return None,
        })
    }
}

/// One AS_PATH segment, borrowed from its [`AsPath`] (or from the caller, to build one with
/// [`AsPath::from_segments`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsSegment<'a> {
    /// Segment type.
    pub kind: SegmentType,
    /// The AS numbers, in wire order.
    pub asns: &'a [u32],
}

/// The number of AS numbers one stored segment can hold (its header word keeps the count in
/// 24 bits; a wire segment holds at most 255, and an AS_PATH attribute at most 32,767).
const MAX_STORED_SEGMENT: usize = 0x00ff_ffff;

/// An AS_PATH (or AS4_PATH): a list of segments.
///
/// Stored flat, in one allocation: each segment is a header word (the segment type's code in
/// the top octet, the AS count in the low 24 bits) followed by its AS numbers. A path is
/// decoded from every UPDATE and kept in every attribute set, and a list of separately
/// allocated segments cost one more allocation per UPDATE and 32 more octets per set
/// (BENCHMARKS.md, session 11). [`AsPath::segments`] reads it segment by segment.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    words: Box<[u32]>,
}

/// The header word of a stored segment of type `code` (the wire's segment type).
fn header(code: u8, count: usize) -> u32 {
    (u32::from(code) << 24) | (count.min(MAX_STORED_SEGMENT) as u32)
}

/// The segment type of a stored header word (written by [`header`] from a valid type).
fn kind_of(header: u32) -> SegmentType {
    match header >> 24 {
        1 => SegmentType::Set,
        2 => SegmentType::Sequence,
        3 => SegmentType::ConfedSequence,
        _ => SegmentType::ConfedSet,
    }
}

/// The segments of an [`AsPath`], leftmost first.
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    words: &'a [u32],
}

impl<'a> Iterator for Segments<'a> {
    type Item = AsSegment<'a>;

    fn next(&mut self) -> Option<AsSegment<'a>> {
        let (&h, rest) = self.words.split_first()?;
        let count = (h as usize) & MAX_STORED_SEGMENT;
        let (asns, rest) = rest.split_at_checked(count).unwrap_or((rest, &[]));
        self.words = rest;
        Some(AsSegment {
            kind: kind_of(h),
            asns,
        })
    }
}

/// Builds the stored words of a path segment by segment.
#[derive(Default)]
struct PathWords {
    words: Vec<u32>,
    /// Where the last segment's header is, to extend that segment.
    last: Option<usize>,
}

impl PathWords {
    /// Appends a segment (split where it exceeds what a header can count).
    fn push(&mut self, kind: SegmentType, asns: &[u32]) {
        if asns.is_empty() {
            self.last = Some(self.words.len());
            self.words.push(header(kind.code(), 0));
        }
        for chunk in asns.chunks(MAX_STORED_SEGMENT) {
            self.last = Some(self.words.len());
            self.words.push(header(kind.code(), chunk.len()));
            self.words.extend_from_slice(chunk);
        }
    }

    /// Appends AS numbers to the last segment if it is of type `kind` and has room, else
    /// starts a segment.
    fn join(&mut self, kind: SegmentType, asns: &[u32]) {
        if let Some(h) = self.last.and_then(|i| self.words.get_mut(i)) {
            let count = (*h as usize) & MAX_STORED_SEGMENT;
            if kind_of(*h) == kind && count + asns.len() <= MAX_STORED_SEGMENT {
                *h = header(kind.code(), count + asns.len());
                self.words.extend_from_slice(asns);
                return;
            }
        }
        self.push(kind, asns);
    }

    fn finish(self) -> AsPath {
        AsPath {
            words: self.words.into_boxed_slice(),
        }
    }
}

impl fmt::Debug for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.segments()).finish()
    }
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: impl Into<Vec<u32>>) -> Self {
        let asns = asns.into();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath::from_segments([AsSegment {
            kind: SegmentType::Sequence,
            asns: &asns,
        }])
    }

    /// A path of these segments, in order (empty segments are kept, as a decoded MRT record
    /// may hold them; [`AsPath::encode`] leaves them out).
    pub fn from_segments<'s>(segments: impl IntoIterator<Item = AsSegment<'s>>) -> Self {
        let mut words = PathWords::default();
        for s in segments {
            words.push(s.kind, s.asns);
        }
        words.finish()
    }

    /// The segments, leftmost first.
    pub fn segments(&self) -> Segments<'_> {
        Segments { words: &self.words }
    }

    /// Whether the path has no segments (an iBGP-originated route's AS_PATH).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Parses an AS_PATH (`type_code` 2) or AS4_PATH (17) value. `four_octet` selects the AS
    /// number width (AS4_PATH is always 4-octet).
    ///
    /// Two passes: the first checks every segment (RFC 4271 §6.3, RFC 7606 §7.2, RFC 7607)
    /// and counts the words to store, the second fills one exactly sized allocation.
    pub(crate) fn parse(
        input: &[u8],
        four_octet: bool,
        type_code: u8,
    ) -> Result<AsPath, ParseError> {
        let width = if four_octet { 4 } else { 2 };
        let mut words = 0;
        let mut rest = input;
        while !rest.is_empty() {
            let at = rest;
            let [kind, count, after @ ..] = rest else {
                return Err(ParseError::at(
                    at,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "truncated segment header",
                    },
                ));
            };
            if SegmentType::from_code(*kind).is_none() {
                return Err(ParseError::at(
                    at,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "unknown segment type",
                    },
                ));
            }
            if *count == 0 {
                return Err(ParseError::at(
                    at,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "zero-length segment",
                    },
                ));
            }
            let Some((body, after)) = after.split_at_checked(usize::from(*count) * width) else {
                return Err(ParseError::at(
                    at,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "segment overruns the attribute",
                    },
                ));
            };
            let zero = if four_octet {
                body.as_chunks::<4>().0.contains(&[0; 4])
            } else {
                body.as_chunks::<2>().0.contains(&[0; 2])
            };
            if zero {
                return Err(ParseError::at(at, ErrorKind::AsZero { type_code }));
            }
            words += 1 + usize::from(*count);
            rest = after;
        }
        let mut out = Vec::with_capacity(words);
        let mut rest = input;
        while let [kind, count, after @ ..] = rest {
            let n = usize::from(*count);
            let (body, after) = after.split_at_checked(n * width).unwrap_or((after, &[]));
            out.push(header(*kind, n));
            if four_octet {
                out.extend(
                    body.as_chunks::<4>()
                        .0
                        .iter()
                        .map(|c| u32::from_be_bytes(*c)),
                );
            } else {
                out.extend(
                    body.as_chunks::<2>()
                        .0
                        .iter()
                        .map(|c| u32::from(u16::from_be_bytes(*c))),
                );
            }
            rest = after;
        }
        Ok(AsPath {
            words: out.into_boxed_slice(),
        })
    }

    /// Octets the value takes on the wire (segments longer than 255 ASNs are split; empty
    /// segments are left out, as [`AsPath::encode`] does).
    pub fn wire_len(&self, four_octet: bool) -> usize {
        let width = if four_octet { 4 } else { 2 };
        self.segments()
            .map(|s| s.asns.len().div_ceil(255) * 2 + s.asns.len() * width)
            .sum()
    }

    /// Writes the value. Toward a 2-octet speaker, AS numbers above 65535 become AS_TRANS
    /// (RFC 6793 §4.2.2); the caller adds AS4_PATH (see [`AsPath::needs_as4_path`]).
    pub fn encode(&self, four_octet: bool, buf: &mut BytesMut) {
        for seg in self.segments() {
            for chunk in seg.asns.chunks(255) {
                buf.put_u8(seg.kind.code());
                buf.put_u8(chunk.len() as u8);
                for asn in chunk {
                    if four_octet {
                        buf.put_u32(*asn);
                    } else {
                        buf.put_u16(u16::try_from(*asn).unwrap_or(AS_TRANS as u16));
                    }
                }
            }
        }
    }

    /// Encodes after checking that the value fits a 2-octet attribute length.
    pub fn encode_checked(&self, four_octet: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let len = self.wire_len(four_octet);
        if len > usize::from(u16::MAX) {
            return Err(EncodeError::ValueTooLarge {
                what: "AS_PATH length",
                value: len,
                max: 65535,
            });
        }
        self.encode(four_octet, buf);
        Ok(())
    }

    /// RFC 6793 §4.2.2: whether a 2-octet encoding loses information (an AS above 65535),
    /// so AS4_PATH must accompany it.
    pub fn needs_as4_path(&self) -> bool {
        self.segments().flat_map(|s| s.asns).any(|a| *a > 0xffff)
    }

    /// RFC 4271 §9.1.2.2 (a): path length for best-path selection; an AS_SET counts as one,
    /// confederation segments count zero (RFC 5065 §5.3).
    pub fn path_len(&self) -> usize {
        self.segments()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// The leftmost AS of the first AS_SEQUENCE segment, if the path starts with one.
    pub fn first_as(&self) -> Option<u32> {
        match self.segments().next() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) => asns.first().copied(),
            _ => None,
        }
    }

    /// The originating AS: the rightmost AS of a final AS_SEQUENCE.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments().last() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) => asns.last().copied(),
            _ => None,
        }
    }

    /// Whether `asn` appears anywhere in the path (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments().any(|s| s.asns.contains(&asn))
    }

    /// Whether any segment is an AS_CONFED_SEQUENCE or AS_CONFED_SET (RFC 5065 §3): such a
    /// path may only come from a peer in the same confederation (RFC 5065 §5).
    pub fn has_confed_segment(&self) -> bool {
        self.segments()
            .any(|s| matches!(s.kind, SegmentType::ConfedSequence | SegmentType::ConfedSet))
    }

    /// Whether any segment is an AS_SET.
    pub fn has_as_set(&self) -> bool {
        self.segments().any(|s| s.kind == SegmentType::Set)
    }

    /// Prepends `asn` to the leftmost AS_SEQUENCE (RFC 4271 §5.1.2), making one if needed
    /// (also when that sequence already holds the 255 AS numbers a wire segment can carry).
    pub fn prepend(&mut self, asn: u32) {
        let mut words = Vec::with_capacity(self.words.len() + 2);
        match self.segments().next() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) if asns.len() < 255 => {
                words.push(header(SegmentType::Sequence.code(), asns.len() + 1));
                words.push(asn);
                words.extend(self.words.iter().skip(1));
            }
            _ => {
                words.push(header(SegmentType::Sequence.code(), 1));
                words.push(asn);
                words.extend_from_slice(&self.words);
            }
        }
        self.words = words.into_boxed_slice();
    }

    /// Number of AS numbers counted the way RFC 6793 §4.2.3 counts them (a set counts one,
    /// confederation segments count zero) — the same as [`AsPath::path_len`].
    fn rfc6793_len(&self) -> usize {
        self.path_len()
    }

    /// RFC 6793 §4.2.3: the path a NEW speaker reconstructs from a 2-octet AS_PATH and the
    /// AS4_PATH that came with it. If AS4_PATH is longer than AS_PATH it is ignored;
    /// otherwise the leading ASNs of AS_PATH are kept and the rest replaced by AS4_PATH.
    /// Confederation segments in AS4_PATH are dropped (RFC 6793 §6: they must not be carried
    /// there, and a NEW speaker discards them and goes on).
    pub fn merge_as4(&self, as4: &AsPath) -> AsPath {
        let len = self.rfc6793_len();
        let len4 = as4.rfc6793_len();
        if len4 > len {
            return self.clone();
        }
        let mut keep = len - len4;
        let mut out = PathWords::default();
        for seg in self.segments() {
            if keep == 0 {
                break;
            }
            match seg.kind {
                SegmentType::Sequence => {
                    let n = keep.min(seg.asns.len());
                    out.push(seg.kind, seg.asns.get(..n).unwrap_or(seg.asns));
                    keep -= n;
                }
                SegmentType::Set => {
                    out.push(seg.kind, seg.asns);
                    keep -= 1;
                }
                SegmentType::ConfedSequence | SegmentType::ConfedSet => {
                    out.push(seg.kind, seg.asns)
                }
            }
        }
        for seg in as4.segments() {
            match seg.kind {
                // Join adjacent sequences so the result is the path the AS4 speaker sent.
                SegmentType::Sequence => out.join(seg.kind, seg.asns),
                SegmentType::Set => out.push(seg.kind, seg.asns),
                SegmentType::ConfedSequence | SegmentType::ConfedSet => {}
            }
        }
        out.finish()
    }
}

impl fmt::Display for AsPath {
    /// `bgpdump` notation: sequences space-separated, `{a,b}` for AS_SET, `(a b)` for
    /// AS_CONFED_SEQUENCE, `[a,b]` for AS_CONFED_SET.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let (open, sep, close) = match seg.kind {
                SegmentType::Sequence => ("", " ", ""),
                SegmentType::Set => ("{", ",", "}"),
                SegmentType::ConfedSequence => ("(", " ", ")"),
                SegmentType::ConfedSet => ("[", ",", "]"),
            };
            f.write_str(open)?;
            for (j, asn) in seg.asns.iter().enumerate() {
                if j > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{asn}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// Parses an AS number of the session's width.
#[allow(dead_code)]
pub(crate) fn asn(input: &[u8], four_octet: bool) -> PResult<'_, u32> {
    if four_octet {
        crate::parser::u32_(input)
    } else {
        let (rest, v) = crate::parser::u16_(input)?;
        Ok((rest, u32::from(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_octet_sequence_round_trip() {
        let bytes = [2u8, 2, 0, 0, 0xfc, 0x00, 0, 0, 0xfc, 0x01];
        let p = AsPath::parse(&bytes, true, 2).expect("parses");
        assert_eq!(p.to_string(), "64512 64513");
        assert_eq!(p.wire_len(true), bytes.len());
        let mut buf = BytesMut::new();
        p.encode(true, &mut buf);
        assert_eq!(&buf[..], &bytes);
    }

    #[test]
    fn malformations() {
        assert!(matches!(
            AsPath::parse(&[5, 1, 0, 1], false, 2),
            Err(ParseError {
                kind: ErrorKind::MalformedAsPath {
                    reason: "unknown segment type",
                    ..
                },
                ..
            })
        ));
        assert!(matches!(
            AsPath::parse(&[2, 0], false, 2),
            Err(ParseError {
                kind: ErrorKind::MalformedAsPath {
                    reason: "zero-length segment",
                    ..
                },
                ..
            })
        ));
        assert!(matches!(
            AsPath::parse(&[2, 2, 0, 1], false, 2),
            Err(ParseError {
                kind: ErrorKind::MalformedAsPath { .. },
                ..
            })
        ));
        assert!(matches!(
            AsPath::parse(&[2, 1, 0, 0], false, 2),
            Err(ParseError {
                kind: ErrorKind::AsZero { type_code: 2 },
                ..
            })
        ));
    }

    #[test]
    fn as_trans_and_merge() {
        let real = AsPath::sequence(vec![64512, 4_200_000_000, 64513]);
        let mut buf = BytesMut::new();
        real.encode(false, &mut buf);
        let two = AsPath::parse(&buf, false, 2).expect("parses");
        assert_eq!(two.to_string(), "64512 23456 64513");
        let as4 = AsPath::sequence(vec![4_200_000_000, 64513]);
        assert_eq!(two.merge_as4(&as4), real);
        // An AS4_PATH longer than AS_PATH is ignored.
        let long = AsPath::sequence(vec![1, 2, 3, 4]);
        assert_eq!(two.merge_as4(&long), two);
        // Confederation segments in AS4_PATH are dropped (RFC 6793 §6).
        let confed = AsPath::from_segments([
            AsSegment {
                kind: SegmentType::ConfedSequence,
                asns: &[65100],
            },
            AsSegment {
                kind: SegmentType::Sequence,
                asns: &[4_200_000_000, 64513],
            },
        ]);
        assert_eq!(two.merge_as4(&confed), real);
    }

    #[test]
    fn long_segments_split_on_encode() {
        let p = AsPath::sequence((1..=600).collect::<Vec<u32>>());
        let mut buf = BytesMut::new();
        p.encode(true, &mut buf);
        assert_eq!(buf.len(), p.wire_len(true));
        let back = AsPath::parse(&buf, true, 2).expect("parses");
        assert_eq!(back.segments().count(), 3);
        assert_eq!(back.path_len(), 600);
    }
}
