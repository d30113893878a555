//! The session's reader: clean UPDATEs prepared for the RIB where they lie, every other
//! message decoded.
//!
//! Nearly every UPDATE a peer sends while a table loads is well-formed and of the common
//! form [`bgp_proto::CheckedUpdate`] takes. Such an UPDATE is checked in the read buffer and
//! made the RIB's input at once ([`ReceivedUpdate::from_frame`]): its routes, and its
//! attribute block minus NEXT_HOP, copied once, as the encoded set the RIB keeps. Anything
//! else — OPEN, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH, an UPDATE with MP attributes, from a
//! 2-octet session, or with any problem at all — is decoded by
//! [`bgp_proto::Message::decode`], which reports problems with the RFC's action and offset
//! exactly as before: the check never decides an error itself.

use crate::rib::received::ReceivedUpdate;
use bgp_proto::{BgpCodec, CodecError, Framed};
use bytes::BytesMut;

/// Frames received messages and prepares or decodes each ([`BgpCodec::decode_or_check`]).
#[derive(Debug, Default)]
pub struct SessionCodec {
    /// The framing, the contexts and the kept frames.
    pub codec: BgpCodec,
}

impl tokio_util::codec::Decoder for SessionCodec {
    type Item = Framed<ReceivedUpdate>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        self.codec.decode_or_check(src, ReceivedUpdate::from_frame)
    }
}
