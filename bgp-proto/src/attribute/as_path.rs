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

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    /// Segment type.
    pub kind: SegmentType,
    /// The AS numbers, in wire order. A boxed slice, not a `Vec`: attribute sets are kept
    /// for as long as their routes, and a slice has no spare capacity to carry.
    pub asns: Box<[u32]>,
}

/// An AS_PATH (or AS4_PATH): a list of segments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    /// The segments, leftmost first (boxed for the same reason as [`AsSegment::asns`]).
    pub segments: Box<[AsSegment]>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: impl Into<Vec<u32>>) -> Self {
        let asns = asns.into();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: Box::new([AsSegment {
                kind: SegmentType::Sequence,
                asns: asns.into_boxed_slice(),
            }]),
        }
    }

    /// Parses an AS_PATH (`type_code` 2) or AS4_PATH (17) value. `four_octet` selects the AS
    /// number width (AS4_PATH is always 4-octet).
    pub(crate) fn parse(
        mut input: &[u8],
        four_octet: bool,
        type_code: u8,
    ) -> Result<AsPath, ParseError> {
        let width = if four_octet { 4 } else { 2 };
        let mut segments = Vec::with_capacity(1);
        while !input.is_empty() {
            let [kind, count, rest @ ..] = input else {
                return Err(ParseError::at(
                    input,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "truncated segment header",
                    },
                ));
            };
            let Some(kind) = SegmentType::from_code(*kind) else {
                return Err(ParseError::at(
                    input,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "unknown segment type",
                    },
                ));
            };
            if *count == 0 {
                return Err(ParseError::at(
                    input,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "zero-length segment",
                    },
                ));
            }
            let n = usize::from(*count) * width;
            if rest.len() < n {
                return Err(ParseError::at(
                    input,
                    ErrorKind::MalformedAsPath {
                        type_code,
                        reason: "segment overruns the attribute",
                    },
                ));
            }
            let (body, after) = rest.split_at(n);
            let asns: Box<[u32]> = if four_octet {
                body.as_chunks::<4>()
                    .0
                    .iter()
                    .map(|c| u32::from_be_bytes(*c))
                    .collect()
            } else {
                body.as_chunks::<2>()
                    .0
                    .iter()
                    .map(|c| u32::from(u16::from_be_bytes(*c)))
                    .collect()
            };
            if asns.contains(&0) {
                return Err(ParseError::at(input, ErrorKind::AsZero { type_code }));
            }
            segments.push(AsSegment { kind, asns });
            input = after;
        }
        Ok(AsPath {
            segments: segments.into_boxed_slice(),
        })
    }

    /// Octets the value takes on the wire (segments longer than 255 ASNs are split; empty
    /// segments are left out, as [`AsPath::encode`] does).
    pub fn wire_len(&self, four_octet: bool) -> usize {
        let width = if four_octet { 4 } else { 2 };
        self.segments
            .iter()
            .map(|s| s.asns.len().div_ceil(255) * 2 + s.asns.len() * width)
            .sum()
    }

    /// Writes the value. Toward a 2-octet speaker, AS numbers above 65535 become AS_TRANS
    /// (RFC 6793 §4.2.2); the caller adds AS4_PATH (see [`AsPath::needs_as4_path`]).
    pub fn encode(&self, four_octet: bool, buf: &mut BytesMut) {
        for seg in &self.segments {
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
        self.segments
            .iter()
            .flat_map(|s| &s.asns)
            .any(|a| *a > 0xffff)
    }

    /// RFC 4271 §9.1.2.2 (a): path length for best-path selection; an AS_SET counts as one,
    /// confederation segments count zero (RFC 5065 §5.3).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// The leftmost AS of the first AS_SEQUENCE segment, if the path starts with one.
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) => asns.first().copied(),
            _ => None,
        }
    }

    /// The originating AS: the rightmost AS of a final AS_SEQUENCE.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) => asns.last().copied(),
            _ => None,
        }
    }

    /// Whether `asn` appears anywhere in the path (loop detection, RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// Whether any segment is an AS_SET.
    pub fn has_as_set(&self) -> bool {
        self.segments.iter().any(|s| s.kind == SegmentType::Set)
    }

    /// Prepends `asn` to the leftmost AS_SEQUENCE (RFC 4271 §5.1.2), making one if needed.
    pub fn prepend(&mut self, asn: u32) {
        match self.segments.first_mut() {
            Some(AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }) if asns.len() < 255 => {
                *asns = std::iter::once(asn).chain(asns.iter().copied()).collect();
            }
            _ => {
                let first = AsSegment {
                    kind: SegmentType::Sequence,
                    asns: Box::new([asn]),
                };
                self.segments = std::iter::once(first)
                    .chain(self.segments.iter().cloned())
                    .collect();
            }
        }
    }

    /// Number of AS numbers counted the way RFC 6793 §4.2.3 counts them (a set counts one,
    /// confederation segments count zero) — the same as [`AsPath::path_len`].
    fn rfc6793_len(&self) -> usize {
        self.path_len()
    }

    /// RFC 6793 §4.2.3: the path a NEW speaker reconstructs from a 2-octet AS_PATH and the
    /// AS4_PATH that came with it. If AS4_PATH is longer than AS_PATH it is ignored;
    /// otherwise the leading ASNs of AS_PATH are kept and the rest replaced by AS4_PATH.
    pub fn merge_as4(&self, as4: &AsPath) -> AsPath {
        let len = self.rfc6793_len();
        let len4 = as4.rfc6793_len();
        if len4 > len {
            return self.clone();
        }
        let mut keep = len - len4;
        let mut out: Vec<AsSegment> = Vec::new();
        for seg in &self.segments {
            if keep == 0 {
                break;
            }
            match seg.kind {
                SegmentType::Sequence => {
                    let n = keep.min(seg.asns.len());
                    out.push(AsSegment {
                        kind: seg.kind,
                        asns: seg.asns.iter().take(n).copied().collect(),
                    });
                    keep -= n;
                }
                SegmentType::Set => {
                    out.push(seg.clone());
                    keep -= 1;
                }
                SegmentType::ConfedSequence | SegmentType::ConfedSet => out.push(seg.clone()),
            }
        }
        for seg in &as4.segments {
            // Join adjacent sequences so the result is the path the AS4 speaker sent.
            if let (Some(last), SegmentType::Sequence) = (out.last_mut(), seg.kind) {
                if last.kind == SegmentType::Sequence {
                    last.asns = last.asns.iter().chain(seg.asns.iter()).copied().collect();
                    continue;
                }
            }
            out.push(seg.clone());
        }
        AsPath {
            segments: out.into_boxed_slice(),
        }
    }
}

impl fmt::Display for AsPath {
    /// `bgpdump` notation: sequences space-separated, `{a,b}` for AS_SET, `(a b)` for
    /// AS_CONFED_SEQUENCE, `[a,b]` for AS_CONFED_SET.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
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
    }

    #[test]
    fn long_segments_split_on_encode() {
        let p = AsPath::sequence((1..=600).collect::<Vec<u32>>());
        let mut buf = BytesMut::new();
        p.encode(true, &mut buf);
        assert_eq!(buf.len(), p.wire_len(true));
        let back = AsPath::parse(&buf, true, 2).expect("parses");
        assert_eq!(back.segments.len(), 3);
        assert_eq!(back.path_len(), 600);
    }
}
