//! A whole BGP message: decode one framed message, encode one with its length known first.

use crate::context::SessionContext;
use crate::error::{DecodeError, EncodeError, ErrorKind};
use crate::header::{parse_header, MessageType, HEADER_LEN, MARKER};
use crate::notification::Notification;
use crate::open::Open;
use crate::parser::into_error;
use crate::route_refresh::{RouteRefresh, SUBTYPE_BORR, SUBTYPE_EORR};
use crate::update::Update;
use bytes::{BufMut, Bytes, BytesMut};

/// One BGP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Decodes exactly one message; `buf` must hold the whole message and nothing more
    /// (see [`crate::frame_len`]). Errors carry the byte offset from the marker.
    #[inline]
    pub fn decode(buf: &[u8], ctx: &SessionContext) -> Result<Message, DecodeError> {
        let Some(header) = parse_header(buf, ctx.max_message_len())? else {
            return Err(DecodeError::new(
                ErrorKind::Truncated {
                    what: "message header",
                },
                0,
            ));
        };
        if buf.len() != header.length {
            let length = u16::try_from(buf.len()).unwrap_or(u16::MAX);
            return Err(DecodeError::new(ErrorKind::BadMessageLength { length }, 16));
        }
        let body = buf.get(HEADER_LEN..).unwrap_or(&[]);
        let fatal =
            |e: nom::Err<crate::parser::ParseError>| into_error(e, body).into_decode(buf, None);
        Ok(match header.message_type {
            MessageType::Open => Message::Open(Open::parse(body).map_err(fatal)?.1),
            MessageType::Update => Message::Update(Update::parse(body, ctx, buf)?),
            MessageType::Notification => Message::Notification(Notification::parse(body)),
            MessageType::Keepalive => Message::Keepalive,
            MessageType::RouteRefresh => {
                let rr = RouteRefresh::parse(body).ok_or_else(|| {
                    DecodeError::new(
                        ErrorKind::BadMessageLength {
                            length: buf.len() as u16,
                        },
                        16,
                    )
                })?;
                // RFC 7313 §5: BoRR/EoRR must be exactly 4 octets of body.
                if matches!(rr.subtype, SUBTYPE_BORR | SUBTYPE_EORR) && body.len() != 4 {
                    return Err(DecodeError::new(
                        ErrorKind::BadRouteRefreshLength {
                            length: buf.len() as u16,
                        },
                        16,
                    ));
                }
                Message::RouteRefresh(rr)
            }
        })
    }

    /// Octets of the whole message, header included.
    pub fn wire_len(&self, ctx: &SessionContext) -> usize {
        HEADER_LEN
            + match self {
                Message::Open(o) => o.body_len(),
                Message::Update(u) => u.body_len(ctx),
                Message::Notification(n) => n.body_len(),
                Message::Keepalive => 0,
                Message::RouteRefresh(r) => r.body_len(),
            }
    }

    /// Appends the encoded message to `buf`. The length is computed first; a message longer
    /// than the session's maximum (4096 for OPEN) is an error and nothing is written.
    pub fn encode(&self, ctx: &SessionContext, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let length = self.wire_len(ctx);
        let max = match self {
            Message::Open(_) => 4096,
            _ => ctx.max_message_len(),
        };
        if length > max {
            return Err(EncodeError::MessageTooLong { length, max });
        }
        let start = buf.len();
        buf.reserve(length);
        buf.put_slice(&MARKER);
        buf.put_u16(length as u16);
        buf.put_u8(self.message_type().code());
        let r = match self {
            Message::Open(o) => o.encode_body(buf),
            Message::Update(u) => u.encode_body(ctx, buf),
            Message::Notification(n) => {
                n.encode_body(buf);
                Ok(())
            }
            Message::Keepalive => Ok(()),
            Message::RouteRefresh(r) => {
                r.encode_body(buf);
                Ok(())
            }
        };
        if let Err(e) = r {
            buf.truncate(start);
            return Err(e);
        }
        debug_assert_eq!(buf.len() - start, length, "wire_len and encode disagree");
        Ok(())
    }

    /// The encoded message as one buffer.
    pub fn to_bytes(&self, ctx: &SessionContext) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::with_capacity(self.wire_len(ctx));
        self.encode(ctx, &mut buf)?;
        Ok(buf.freeze())
    }
}
