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

/// A framed message as [`BgpCodec::decode_or_check`] gives it.
#[derive(Debug)]
pub enum Framed<T> {
    /// What the caller's check made of the frame's octets.
    Checked(T),
    /// The message, decoded (the check gave nothing).
    Message(Message),
}

impl BgpCodec {
    /// Frames the next message in `src` and hands its octets, with the receive context, to
    /// `check` first: what `check` makes of them is returned as [`Framed::Checked`]; when it
    /// gives `None` the message is decoded ([`Message::decode`]), and a malformed one is the
    /// error. A session uses it to take clean UPDATEs checked in place
    /// ([`crate::CheckedUpdate`]) without building a [`Message`].
    pub fn decode_or_check<T>(
        &mut self,
        src: &mut BytesMut,
        check: impl FnOnce(&[u8], &SessionContext) -> Option<T>,
    ) -> Result<Option<Framed<T>>, CodecError> {
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
        let framed = match check(frame, &self.receive) {
            Some(t) => Ok(Framed::Checked(t)),
            None => Message::decode(frame, &self.receive).map(Framed::Message),
        };
        src.advance(len);
        Ok(Some(framed?))
    }
}

impl tokio_util::codec::Decoder for BgpCodec {
    type Item = Message;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, CodecError> {
        Ok(
            match self.decode_or_check(src, |_, _| None::<std::convert::Infallible>)? {
                Some(Framed::Message(m)) => Some(m),
                Some(Framed::Checked(never)) => match never {},
                None => None,
            },
        )
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
