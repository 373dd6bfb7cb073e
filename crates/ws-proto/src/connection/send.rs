//! Sending: the commands that queue frames, and frame encoding into the output queue
//! (RFC 6455 sections 5.3, 5.4, 5.5 and 6.1).

use alloc::vec::Vec;

use super::Connection;
use crate::error::SendError;
use crate::frame::mask::apply_mask;
#[cfg(feature = "deflate")]
use crate::frame::RSV1;
use crate::frame::{encode_header, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD};
use crate::message::{DataKind, Message};
use crate::prepared::PreparedMessage;
use crate::State;

/// From this payload size, [`Connection::send`] queues the message's own buffer instead of
/// copying it: below it, a copy costs less than a separate piece of output, and small frames
/// queued together go out in one write.
const OWNED_SEND_MIN: usize = 16 * 1024;

fn data_opcode(kind: DataKind) -> OpCode {
    match kind {
        DataKind::Text => OpCode::Text,
        DataKind::Binary => OpCode::Binary,
    }
}

impl Connection {
    /// Queues a message in one frame, taking ownership of its buffer.
    ///
    /// A large payload (16 KiB and more) that is sent as it is (not compressed) is queued
    /// without copying: the frame header goes into the output queue, and the message's own
    /// buffer follows it there (masked in place on the client side), to be written with one
    /// vectored write ([`transmit_slices`](Self::transmit_slices)). Otherwise the payload is
    /// copied (or compressed) into the queue and the buffer is kept for reuse, as with
    /// [`recycle`](Self::recycle).
    ///
    /// Next: write the output.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        let opcode = data_opcode(message.kind());
        let mut payload = message.into_bytes();
        #[cfg(feature = "deflate")]
        if self
            .deflate
            .as_deref()
            .is_some_and(|d| d.compresses(payload.len()))
        {
            self.send_compressed(opcode, &payload);
            self.pool.put(payload);
            return Ok(());
        }
        if payload.len() < OWNED_SEND_MIN {
            self.write_frame(opcode, true, 0, &payload);
            self.pool.put(payload);
            return Ok(());
        }
        let mask = self.mask_keys.as_mut().map(|keys| keys.next_key());
        if let Some(key) = mask {
            apply_mask(&mut payload, key, 0);
        }
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let encoded = header.encode();
        let bytes = encoded.as_bytes();
        self.out
            .tail(&mut self.pool, bytes.len())
            .extend_from_slice(bytes);
        self.out.appended(bytes.len());
        self.out.push_owned(payload);
        Ok(())
    }

    /// Queues a text message in one frame, copying it.
    ///
    /// Next: write the output.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_message(OpCode::Text, text.as_bytes())
    }

    /// Queues a binary message in one frame, copying it.
    ///
    /// Next: write the output.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_message(OpCode::Binary, data)
    }

    /// Queues a message in one frame without compressing it, even when permessage-deflate is
    /// in use (for data that is already compressed, say). Without the extension this is
    /// [`send_text`](Self::send_text) or [`send_binary`](Self::send_binary); for text, `data`
    /// must be valid UTF-8.
    ///
    /// ```
    /// # #[cfg(feature = "deflate")] {
    /// use ws_proto::extensions::deflate::DeflateParams;
    /// use ws_proto::{Config, Connection, DataKind, Instant};
    /// let mut server =
    ///     Connection::server(Config::default(), Instant::ZERO).with_deflate(DeflateParams::default());
    /// server.send_uncompressed(DataKind::Binary, b"already compressed").unwrap();
    /// let mut out = Vec::new();
    /// server.poll_transmit(&mut out);
    /// assert_eq!(out[0], 0x82); // FIN, RSV1 clear, binary
    /// assert_eq!(&out[2..], b"already compressed");
    /// # }
    /// ```
    ///
    /// Next: write the output.
    pub fn send_uncompressed(&mut self, kind: DataKind, data: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        self.write_frame(data_opcode(kind), true, 0, data);
        Ok(())
    }

    /// Queues a message framed once for many connections (see [`PreparedMessage`]): a server
    /// connection without permessage-deflate copies its frame bytes into the output queue
    /// as they are, with no encoding; a client connection or one with permessage-deflate
    /// sends its payload as [`send_text`](Self::send_text) or
    /// [`send_binary`](Self::send_binary) would. The bytes on the wire are the same either
    /// way, and so are the errors.
    ///
    /// Next: write the output.
    pub fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), SendError> {
        // Compressed connections frame their own (a compress-once path for connections that
        // share parameters without context takeover belongs here).
        #[cfg(feature = "deflate")]
        let plain = self.deflate.is_none();
        #[cfg(not(feature = "deflate"))]
        let plain = true;
        if !plain || self.mask_keys.is_some() {
            return self.send_message(data_opcode(prepared.kind()), prepared.payload());
        }
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        let frame = prepared.frame();
        self.out
            .tail(&mut self.pool, frame.len())
            .extend_from_slice(frame);
        self.out.appended(frame.len());
        Ok(())
    }

    fn send_message(&mut self, opcode: OpCode, data: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        #[cfg(feature = "deflate")]
        if self
            .deflate
            .as_deref()
            .is_some_and(|d| d.compresses(data.len()))
        {
            self.send_compressed(opcode, data);
            return Ok(());
        }
        self.write_frame(opcode, true, 0, data);
        Ok(())
    }

    /// Compresses a whole message into one frame.
    #[cfg(feature = "deflate")]
    fn send_compressed(&mut self, opcode: OpCode, data: &[u8]) {
        if let Some(mut deflate) = self.deflate.take() {
            // "set the 'Per-Message Compressed' bit of the first frame" (RFC 7692 section 6).
            let payload = deflate.compress(data, true, true);
            self.write_frame(opcode, true, RSV1, payload);
            deflate.trim_scratch();
            self.deflate = Some(deflate);
        }
    }

    /// Queues one fragment of a message (section 5.4), for messages sent in pieces.
    ///
    /// The first call starts a message of type `kind`; later calls continue it (their `kind`
    /// must match); the call with `is_final` ends it. Control frames may be sent in between;
    /// other data messages may not. For text, the caller ensures that the whole message is
    /// valid UTF-8; a fragment may end inside a character.
    ///
    /// ```
    /// use ws_proto::{Config, Connection, DataKind, Instant};
    /// let mut server = Connection::server(Config::default(), Instant::ZERO);
    /// server.send_fragment(DataKind::Text, b"Hel", false).unwrap();
    /// server.send_fragment(DataKind::Text, b"lo", true).unwrap();
    /// let mut out = Vec::new();
    /// server.poll_transmit(&mut out);
    /// // RFC 6455 section 5.7: a fragmented unmasked text message.
    /// assert_eq!(out, [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        is_final: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let opcode = match self.sending {
            None => data_opcode(kind),
            Some(k) if k == kind => OpCode::Continuation,
            Some(_) => return Err(SendError::FragmentOutOfOrder),
        };
        self.write_data_fragment(opcode, is_final, data);
        self.sending = if is_final { None } else { Some(kind) };
        Ok(())
    }

    /// Queues a Ping (payload at most 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited Pong (payload at most 125 bytes), which serves as a
    /// unidirectional heartbeat (section 5.5.3), or answers a Ping when
    /// [`Config::auto_pong`](crate::Config::auto_pong) is off.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload)
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong);
        }
        self.write_frame(opcode, true, 0, payload);
        Ok(())
    }

    pub(super) fn check_can_send(&self) -> Result<(), SendError> {
        if self.state() == State::Closed {
            Err(SendError::Closed)
        } else if self.close_sent {
            // "The application MUST NOT send any more data frames after sending a Close
            // frame." (section 5.5.1)
            Err(SendError::AlreadyClosing)
        } else {
            Ok(())
        }
    }

    /// Writes one fragment of a data message, compressed when permessage-deflate is in use
    /// (the whole fragmented message forms one DEFLATE stream, RFC 7692 section 6.1).
    fn write_data_fragment(&mut self, opcode: OpCode, fin: bool, data: &[u8]) {
        #[cfg(feature = "deflate")]
        if let Some(mut deflate) = self.deflate.take() {
            let first = opcode != OpCode::Continuation;
            if first || deflate.sending_compressed() {
                let payload = deflate.compress(data, first, fin);
                // RSV1 on the first frame only (RFC 7692 section 6).
                let rsv = if first { RSV1 } else { 0 };
                self.write_frame(opcode, fin, rsv, payload);
                if fin {
                    deflate.trim_scratch();
                }
                self.deflate = Some(deflate);
                return;
            }
            self.deflate = Some(deflate);
        }
        self.write_frame(opcode, fin, 0, data);
    }

    /// Encodes a frame with the given RSV bits into the output queue, masking it on the
    /// client side.
    pub(super) fn write_frame(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        let mask = self.mask_keys.as_mut().map(|keys| keys.next_key());
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let needed = header.encoded_len() + payload.len();
        let out: &mut Vec<u8> = self.out.tail(&mut self.pool, needed);
        encode_header(&header, out);
        let start = out.len();
        out.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut out[start..], key, 0);
        }
        self.out.appended(needed);
    }
}
