//! The nom plumbing shared by every decoder: this crate's own nom error type and a few
//! primitive parsers over plain `&[u8]`.
//!
//! Errors remember the *address* of the byte where they happened, so the byte offset can be
//! computed once, at the message boundary, as `address - message_start` — also for errors
//! found inside sub-slices taken with [`take`]. No nom type leaves this crate.

use crate::error::ErrorKind;
use nom::IResult;

/// The nom error type used inside this crate: where (as an address) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// Address of the first byte of the input at which the error was found.
    pub at: usize,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl ParseError {
    /// An error of `kind` at the start of `input`.
    pub fn at(input: &[u8], kind: ErrorKind) -> Self {
        ParseError {
            at: input.as_ptr() as usize,
            kind,
        }
    }

    /// Byte offset of this error relative to `base` (the first byte of the message).
    pub fn offset_from(&self, base: &[u8]) -> usize {
        self.at.saturating_sub(base.as_ptr() as usize)
    }

    /// The public error, with the offset relative to `base`. A truncation inside an UPDATE
    /// becomes `truncation` (the RFC 4271 §6.3 error for that place).
    pub fn into_decode(self, base: &[u8], truncation: Option<ErrorKind>) -> crate::DecodeError {
        let offset = self.offset_from(base);
        let kind = match (self.kind, truncation) {
            (ErrorKind::Truncated { .. }, Some(t)) => t,
            (k, _) => k,
        };
        crate::DecodeError::new(kind, offset)
    }
}

impl<'a> nom::error::ParseError<&'a [u8]> for ParseError {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        ParseError::at(input, ErrorKind::Truncated { what: "field" })
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// Result of a parser in this crate.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, ParseError>;

/// A fatal parse failure of `kind` at the start of `input`.
pub(crate) fn fail<T>(input: &[u8], kind: ErrorKind) -> PResult<'_, T> {
    Err(nom::Err::Failure(ParseError::at(input, kind)))
}

/// Converts a finished nom result into the error at its place.
pub(crate) fn into_error(e: nom::Err<ParseError>, input: &[u8]) -> ParseError {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => ParseError::at(input, ErrorKind::Truncated { what: "field" }),
    }
}

/// One octet.
pub(crate) fn u8_(input: &[u8]) -> PResult<'_, u8> {
    nom::number::complete::be_u8(input)
}

/// Two octets, network order.
pub(crate) fn u16_(input: &[u8]) -> PResult<'_, u16> {
    nom::number::complete::be_u16(input)
}

/// Four octets, network order.
pub(crate) fn u32_(input: &[u8]) -> PResult<'_, u32> {
    nom::number::complete::be_u32(input)
}

/// Takes `n` bytes, or fails with `Truncated { what }` at the start of `input`.
pub(crate) fn take<'a>(input: &'a [u8], n: usize, what: &'static str) -> PResult<'a, &'a [u8]> {
    if input.len() < n {
        return fail(input, ErrorKind::Truncated { what });
    }
    let (head, rest) = input.split_at(n);
    Ok((rest, head))
}

/// An IPv4 address (4 octets).
pub(crate) fn ipv4(input: &[u8]) -> PResult<'_, std::net::Ipv4Addr> {
    let (rest, v) = u32_(input)?;
    Ok((rest, std::net::Ipv4Addr::from(v)))
}

/// An IPv6 address (16 octets).
pub(crate) fn ipv6(input: &[u8]) -> PResult<'_, std::net::Ipv6Addr> {
    let (rest, v) = nom::number::complete::be_u128(input)?;
    Ok((rest, std::net::Ipv6Addr::from(v)))
}
