//! `tokio_util::codec` framing for a BGP session (feature `codec`).

use crate::context::SessionContext;
use crate::error::{DecodeError, EncodeError};
use crate::header::frame_len;
use crate::message::Message;
use bytes::{Buf, BytesMut};

/// Errors of the codec: I/O, a message that does not decode, or one that does not encode.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A received message is malformed; send `e.notification()` and close.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Frames and decodes BGP messages, honouring the negotiated maximum size (4096, or 65535
/// with RFC 8654). Update the context with [`BgpCodec::set_context`] after the OPEN exchange.
#[derive(Debug, Clone, Default)]
pub struct BgpCodec {
    /// Context used to decode received messages.
    pub receive: SessionContext,
    /// Context used to encode sent messages.
    pub send: SessionContext,
    /// Keep a copy of each received frame (for recording), see [`BgpCodec::take_frame`].
    pub keep_frames: bool,
    last_frame: Option<bytes::Bytes>,
}

impl BgpCodec {
    /// A codec for the given directions.
    pub fn new(receive: SessionContext, send: SessionContext) -> Self {
        BgpCodec {
            receive,
            send,
            keep_frames: false,
            last_frame: None,
        }
    }

    /// The octets of the frame last decoded (or rejected), when `keep_frames` is set.
    pub fn take_frame(&mut self) -> Option<bytes::Bytes> {
        self.last_frame.take()
    }

    /// Replaces both contexts (after capability negotiation).
    pub fn set_context(&mut self, receive: SessionContext, send: SessionContext) {
        self.receive = receive;
        self.send = send;
    }
}

impl tokio_util::codec::Decoder for BgpCodec {
    type Item = Message;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, CodecError> {
        let Some(len) = frame_len(src, self.receive.max_message_len())? else {
            src.reserve(19);
            return Ok(None);
        };
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        let frame = src.get(..len).unwrap_or(&[]);
        if self.keep_frames {
            self.last_frame = Some(bytes::Bytes::copy_from_slice(frame));
        }
        let m = Message::decode(frame, &self.receive);
        src.advance(len);
        Ok(Some(m?))
    }
}

impl tokio_util::codec::Encoder<Message> for BgpCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode(&self.send, dst)?;
        Ok(())
    }
}

impl tokio_util::codec::Encoder<&Message> for BgpCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode(&self.send, dst)?;
        Ok(())
    }
}
