//! OPEN (RFC 4271 §4.2) with optional parameters, including the RFC 9072 extended-length form.
//!
//! Validated here: version (2/1), hold time 1 or 2 (2/6), BGP identifier 0 (2/3), AS 0
//! (2/2, RFC 7607), parameter and capability framing (2/0), parameter types other than
//! capabilities (2/4). The session checks what needs configuration: the peer's AS and
//! identifier against ours.

use crate::attribute::AS_TRANS;
use crate::capability::Capability;
use crate::error::ErrorKind;
use crate::parser::{fail, ipv4, take, u16_, u8_, PResult, ParseError};
use bytes::{BufMut, Bytes, BytesMut};
use std::net::Ipv4Addr;

/// Optional parameter type for capabilities (RFC 5492 §4).
pub const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072: the non-extended type/length value marking the extended form.
pub const PARAM_EXTENDED_LENGTH: u8 = 255;

/// One optional parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OptionalParameter {
    /// Type 2: one or more capabilities.
    Capabilities(Vec<Capability>),
    /// Any other type (never produced by the decoder, which rejects them with 2/4; kept so
    /// tests and fault injection can send one).
    Unknown {
        /// Parameter type.
        param_type: u8,
        /// Value bytes.
        data: Bytes,
    },
}

impl OptionalParameter {
    fn value_len(&self) -> usize {
        match self {
            OptionalParameter::Capabilities(c) => c.iter().map(Capability::wire_len).sum(),
            OptionalParameter::Unknown { data, .. } => data.len(),
        }
    }
}

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Open {
    /// Protocol version (4).
    pub version: u8,
    /// "My Autonomous System": the 2-octet AS, or AS_TRANS (RFC 6793 §4.2.1).
    pub my_as: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Optional parameters, in received order.
    pub params: Vec<OptionalParameter>,
    /// Whether the parameters use the RFC 9072 extended-length form. The encoder also uses
    /// it on its own when the parameters exceed 255 octets.
    pub extended_params: bool,
}

impl Open {
    /// An OPEN for `asn` with one optional parameter holding `capabilities`. A 4-octet AS
    /// goes in the 4-octet-AS capability and AS_TRANS in `my_as`.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, capabilities: Vec<Capability>) -> Self {
        Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS as u16),
            hold_time,
            bgp_id,
            params: vec![OptionalParameter::Capabilities(capabilities)],
            extended_params: false,
        }
    }

    /// Every capability in every parameter, in order.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.params.iter().flat_map(|p| match p {
            OptionalParameter::Capabilities(c) => c.as_slice(),
            OptionalParameter::Unknown { .. } => &[],
        })
    }

    /// The speaker's AS: the 4-octet-AS capability if present, else `my_as` (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        self.capabilities()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    fn params_len(&self, extended: bool) -> usize {
        let header = if extended { 3 } else { 2 };
        self.params.iter().map(|p| header + p.value_len()).sum()
    }

    fn uses_extended_form(&self) -> bool {
        self.extended_params
            || self.params_len(false) > 255
            || self.params.iter().any(|p| p.value_len() > 255)
    }

    /// Octets of the body (after the 19-octet header).
    pub fn body_len(&self) -> usize {
        if self.uses_extended_form() {
            10 + 3 + self.params_len(true)
        } else {
            10 + self.params_len(false)
        }
    }

    /// Writes the body.
    pub fn encode_body(&self, buf: &mut BytesMut) -> Result<(), crate::EncodeError> {
        buf.put_u8(self.version);
        buf.put_u16(self.my_as);
        buf.put_u16(self.hold_time);
        buf.put_slice(&self.bgp_id.octets());
        let ext = self.uses_extended_form();
        if ext {
            let len = self.params_len(true);
            buf.put_u8(255);
            buf.put_u8(PARAM_EXTENDED_LENGTH);
            buf.put_u16(
                u16::try_from(len).map_err(|_| crate::EncodeError::ValueTooLarge {
                    what: "optional parameters length",
                    value: len,
                    max: 65535,
                })?,
            );
        } else {
            buf.put_u8(self.params_len(false) as u8);
        }
        for p in &self.params {
            let (t, len) = match p {
                OptionalParameter::Capabilities(_) => (PARAM_CAPABILITIES, p.value_len()),
                OptionalParameter::Unknown { param_type, .. } => (*param_type, p.value_len()),
            };
            buf.put_u8(t);
            if ext {
                buf.put_u16(len as u16);
            } else {
                buf.put_u8(len as u8);
            }
            match p {
                OptionalParameter::Capabilities(caps) => {
                    for c in caps {
                        if c.value_len() > 255 {
                            return Err(crate::EncodeError::ValueTooLarge {
                                what: "capability length",
                                value: c.value_len(),
                                max: 255,
                            });
                        }
                        c.encode(buf);
                    }
                }
                OptionalParameter::Unknown { data, .. } => buf.put_slice(data),
            }
        }
        Ok(())
    }

    /// Parses an OPEN body.
    pub(crate) fn parse(body: &[u8]) -> PResult<'_, Open> {
        let (rest, version) = u8_(body)?;
        if version != 4 {
            return fail(body, ErrorKind::UnsupportedVersion { version });
        }
        let as_at = rest;
        let (rest, my_as) = u16_(rest)?;
        if my_as == 0 {
            return fail(as_at, ErrorKind::BadPeerAs { asn: 0 });
        }
        let hold_at = rest;
        let (rest, hold_time) = u16_(rest)?;
        if hold_time == 1 || hold_time == 2 {
            return fail(hold_at, ErrorKind::UnacceptableHoldTime { hold_time });
        }
        let id_at = rest;
        let (rest, bgp_id) = ipv4(rest)?;
        if bgp_id.is_unspecified() {
            return fail(id_at, ErrorKind::BadBgpIdentifier { identifier: bgp_id });
        }
        let len_at = rest;
        let (rest, len) = u8_(rest)?;
        // RFC 9072 §2: length 255 followed by type 255 announces the extended form.
        let (rest, ext, params_len) = if len == 255 && rest.first() == Some(&PARAM_EXTENDED_LENGTH)
        {
            let (r, _) = u8_(rest)?;
            let (r, l) = u16_(r).map_err(|_| {
                nom::Err::Failure(ParseError::at(
                    len_at,
                    ErrorKind::MalformedOptionalParameters {
                        reason: "truncated extended length",
                    },
                ))
            })?;
            (r, true, usize::from(l))
        } else {
            (rest, false, usize::from(len))
        };
        if rest.len() != params_len {
            return fail(
                len_at,
                ErrorKind::MalformedOptionalParameters {
                    reason: "optional parameters length does not match the message",
                },
            );
        }
        let mut params = Vec::new();
        let mut input = rest;
        while !input.is_empty() {
            let at = input;
            let (r, t) = u8_(input)?;
            let (r, l) = if ext {
                let (r, l) = u16_(r).map_err(|_| trunc(at))?;
                (r, usize::from(l))
            } else {
                let (r, l) = u8_(r).map_err(|_| trunc(at))?;
                (r, usize::from(l))
            };
            let (r, value) = take(r, l, "optional parameter").map_err(|_| {
                nom::Err::Failure(ParseError::at(
                    at,
                    ErrorKind::MalformedOptionalParameters {
                        reason: "parameter overruns the list",
                    },
                ))
            })?;
            if t != PARAM_CAPABILITIES {
                return fail(
                    at,
                    ErrorKind::UnsupportedOptionalParameter { parameter_type: t },
                );
            }
            let mut caps = Vec::new();
            let mut v = value;
            while !v.is_empty() {
                let (r2, c) = Capability::parse(v)?;
                caps.push(c);
                v = r2;
            }
            params.push(OptionalParameter::Capabilities(caps));
            input = r;
        }
        for c in params.iter().flat_map(|p| match p {
            OptionalParameter::Capabilities(c) => c.as_slice(),
            OptionalParameter::Unknown { .. } => &[],
        }) {
            if let Capability::FourOctetAs(0) = c {
                return fail(as_at, ErrorKind::BadPeerAs { asn: 0 });
            }
        }
        Ok((
            &[],
            Open {
                version,
                my_as,
                hold_time,
                bgp_id,
                params,
                extended_params: ext,
            },
        ))
    }
}

fn trunc(at: &[u8]) -> nom::Err<ParseError> {
    nom::Err::Failure(ParseError::at(
        at,
        ErrorKind::MalformedOptionalParameters {
            reason: "truncated parameter header",
        },
    ))
}
