//! Data messages: what the application receives, and reassembly of fragments (section 5.4).

use alloc::string::String;
use alloc::vec::Vec;

use crate::close::CloseFrame;
use crate::config::MessageMode;
use crate::error::ProtocolError;
use crate::frame::mask::apply_mask;
use crate::pool::BufferPool;
use crate::utf8::Utf8Validator;

/// The type of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Binary data (opcode 0x2).
    Binary,
}

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, validated as UTF-8.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The message type.
    pub fn kind(&self) -> DataKind {
        match self {
            Message::Text(_) => DataKind::Text,
            Message::Binary(_) => DataKind::Binary,
        }
    }

    /// The payload bytes, taking the message apart without copying: for example to give its
    /// buffer back with [`Connection::recycle`](crate::Connection::recycle).
    ///
    /// ```
    /// use ws_proto::Message;
    /// assert_eq!(Message::Text("hi".into()).into_bytes(), b"hi");
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Message::Text(s) => s.into_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of a text message; `None` for a binary one (even if it is valid UTF-8).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(s) => Some(s),
            Message::Binary(_) => None,
        }
    }

    /// The payload as a `String`: a text message's own, or a binary message's bytes if they
    /// are UTF-8 (the error gives the bytes back otherwise).
    ///
    /// ```
    /// use ws_proto::Message;
    /// assert_eq!(Message::from("hi").into_text().unwrap(), "hi");
    /// assert_eq!(Message::from(&b"ok"[..]).into_text().unwrap(), "ok");
    /// assert!(Message::from(vec![0xff]).into_text().is_err());
    /// ```
    pub fn into_text(self) -> Result<String, alloc::string::FromUtf8Error> {
        match self {
            Message::Text(s) => Ok(s),
            Message::Binary(b) => String::from_utf8(b),
        }
    }

    /// The payload bytes (the same as [`into_bytes`](Message::into_bytes), under the name
    /// tungstenite users know).
    ///
    /// ```
    /// use ws_proto::Message;
    /// let message = Message::from("hi");
    /// assert!(message.is_text() && !message.is_binary());
    /// assert_eq!((message.len(), message.as_text()), (2, Some("hi")));
    /// assert_eq!(message.into_data(), b"hi");
    /// ```
    pub fn into_data(self) -> Vec<u8> {
        self.into_bytes()
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::Text(text.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::Binary(data)
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Message {
        Message::Binary(data.into())
    }
}

/// What a [`Connection`](crate::Connection) reports to the application, from
/// [`Connection::poll_event`](crate::Connection::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A complete data message ([`MessageMode::Reassemble`]).
    Message(Message),
    /// A piece of a data message ([`MessageMode::Stream`]).
    Chunk(Chunk),
    /// A Ping with its payload. It has already been answered if
    /// [`Config::auto_pong`](crate::Config::auto_pong) is on.
    Ping(Vec<u8>),
    /// A Pong with its payload.
    Pong(Vec<u8>),
    /// The peer's Close frame: `None` when it carried no status code (report 1005). If this
    /// side had not sent a Close frame yet, the reply (echoing the code) is queued once
    /// [`Connection::poll_event`](crate::Connection::poll_event) has returned every event
    /// before it. [`Event::Closed`] follows when the closing handshake is complete.
    Close(Option<CloseFrame>),
    /// The connection is finished: the last event, exactly once, with the close code, the
    /// reason and who or what ended it. Write what output remains, then close the transport.
    Closed(crate::closed::Closed),
}

/// A piece of a data message delivered in [`MessageMode::Stream`].
///
/// Text chunks always end on a character boundary, so each one is valid UTF-8 on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The message type.
    pub kind: DataKind,
    /// The payload bytes of this piece; may be empty on the last chunk.
    pub data: Vec<u8>,
    /// This is the first chunk of the message.
    pub first: bool,
    /// This is the last chunk of the message.
    pub last: bool,
}

/// Stream mode: how much decompressed payload is buffered at most before a chunk is handed
/// out.
#[cfg(feature = "deflate")]
const STREAM_CHUNK: usize = 64 * 1024;

/// Decompressing into a buffer with at least this much spare capacity uses that room instead
/// of growing the buffer.
#[cfg(feature = "deflate")]
const MIN_ROOM: usize = 1024;

/// Largest part of a frame's declared length reserved before its payload arrives, so that a
/// header alone cannot make the receiver allocate much.
const RESERVE_AHEAD: u64 = 1 << 20;

/// Receive-side state of the data message in progress.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    /// The message in progress, if any.
    kind: Option<DataKind>,
    /// Reassembled payload (or the not-yet-delivered part of it in stream mode).
    buf: Vec<u8>,
    /// Bytes of the current message received so far.
    size: u64,
    utf8: Utf8Validator,
    /// Stream mode: whether a chunk of this message has been delivered.
    delivered_first: bool,
    /// Zeroed bytes at the end of `buf` handed out by [`room`](Self::room) and not filled
    /// yet: not part of the message.
    tail: usize,
    /// Stream mode: chunks handed out while decompressing, for the connection to queue.
    #[cfg(feature = "deflate")]
    ready: Vec<Event>,
}

impl Assembler {
    pub(crate) fn in_progress(&self) -> bool {
        self.kind.is_some()
    }

    /// Bytes received so far for the message in progress.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Starts a message; its payload goes into a buffer from `pool` if the last message's
    /// buffer was handed out.
    pub(crate) fn start(&mut self, kind: DataKind, pool: &mut BufferPool) {
        self.kind = Some(kind);
        self.size = 0;
        self.delivered_first = false;
        self.utf8.reset();
        self.tail = 0;
        if self.buf.capacity() == 0 {
            if let Some(buffer) = pool.take() {
                self.buf = buffer;
            }
        }
        self.buf.clear();
    }

    /// Makes room for `frame_len` more bytes of payload (bounded by [`RESERVE_AHEAD`]), so
    /// that a large frame arriving in many reads is not copied each time the buffer grows.
    /// The caller has checked `frame_len` against the size limits.
    pub(crate) fn reserve_frame(&mut self, frame_len: u64) {
        self.buf.reserve(frame_len.min(RESERVE_AHEAD) as usize);
    }

    /// Room for up to `want` more payload bytes (`want` at most [`RESERVE_AHEAD`]) at the end
    /// of the message, for the caller to read into: zeroed once, kept until filled by
    /// [`commit`](Self::commit) or dropped by any other input.
    pub(crate) fn room(&mut self, want: usize) -> &mut [u8] {
        let want = want.min(RESERVE_AHEAD as usize);
        if self.tail == 0 {
            let len = self.buf.len();
            self.buf.resize(len + want, 0);
            self.tail = want;
        }
        let start = self.buf.len() - self.tail;
        let end = start + self.tail.min(want);
        &mut self.buf[start..end]
    }

    /// The first `n` bytes of the last [`room`](Self::room) were filled with payload:
    /// unmasks them (`offset` is their position in the frame) and validates text, as
    /// [`push`](Self::push) does. Returns how many were taken (at most the room).
    pub(crate) fn commit(
        &mut self,
        n: usize,
        mask: Option<[u8; 4]>,
        offset: u64,
    ) -> Result<usize, ProtocolError> {
        let n = n.min(self.tail);
        let start = self.buf.len() - self.tail;
        self.tail -= n;
        let filled = &mut self.buf[start..start + n];
        if let Some(key) = mask {
            apply_mask(filled, key, offset as usize);
        }
        self.size += n as u64;
        if self.kind == Some(DataKind::Text) {
            self.utf8
                .feed(filled)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(n)
    }

    /// Forgets room handed out and not filled.
    fn drop_tail(&mut self) {
        if self.tail > 0 {
            self.buf.truncate(self.buf.len() - self.tail);
            self.tail = 0;
        }
    }

    /// Appends a piece of frame payload, unmasking it (`offset` is the position of `data[0]`
    /// within the frame payload) and validating text.
    pub(crate) fn push(
        &mut self,
        data: &[u8],
        mask: Option<[u8; 4]>,
        offset: u64,
    ) -> Result<(), ProtocolError> {
        self.drop_tail();
        let start = self.buf.len();
        self.buf.extend_from_slice(data);
        if let Some(key) = mask {
            apply_mask(&mut self.buf[start..], key, offset as usize);
        }
        self.size += data.len() as u64;
        if self.kind == Some(DataKind::Text) {
            self.utf8
                .feed(&self.buf[start..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    /// Appends bytes that `fill` (a decompressor) writes into the room it is handed, until it
    /// reports that it is done, validating text as it goes.
    ///
    /// `fill` returns the number of bytes it wrote and whether it is done. The message may hold
    /// at most `limit` bytes: one byte more fails with [`ProtocolError::MessageTooLarge`] at
    /// once, and no more than `limit + 1` bytes are ever allocated for it.
    ///
    /// In [`MessageMode::Stream`], a chunk is handed out (see [`take_ready`](Self::take_ready))
    /// whenever [`STREAM_CHUNK`] bytes are buffered, so a small compressed message does not
    /// inflate into one large buffer.
    #[cfg(feature = "deflate")]
    pub(crate) fn push_produced(
        &mut self,
        limit: usize,
        mode: MessageMode,
        mut fill: impl FnMut(&mut [u8]) -> Result<(usize, bool), ProtocolError>,
    ) -> Result<(), ProtocolError> {
        let max_room = match mode {
            MessageMode::Stream => STREAM_CHUNK,
            _ => 256 * 1024,
        };
        self.drop_tail();
        let mut room = 4 * 1024;
        loop {
            let budget = (limit as u64).saturating_sub(self.size) as usize;
            let len = self.buf.len();
            // Use the room the buffer already has (a recycled one, say) before growing it.
            let spare = self.buf.capacity() - len;
            let want = if spare >= MIN_ROOM {
                spare.min(max_room)
            } else {
                room
            };
            let step = want.min(budget.saturating_add(1));
            if self.buf.capacity() < len + step {
                let cap = (len + step)
                    .max(self.buf.capacity().saturating_mul(2))
                    .min(len + budget.saturating_add(1));
                self.buf.reserve_exact(cap - len);
            }
            self.buf.resize(len + step, 0);
            let (produced, done) = fill(&mut self.buf[len..])?;
            self.buf.truncate(len + produced);
            self.size += produced as u64;
            let over = self.size > limit as u64;
            if self.kind == Some(DataKind::Text) {
                // Errors in stream order: text within the limit is checked before the byte
                // past it is refused, so the error does not depend on how much one step
                // inflated (that is, on how the input was split).
                let within = if over { budget } else { produced };
                self.utf8
                    .feed(&self.buf[len..len + within])
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            if over {
                return Err(ProtocolError::MessageTooLarge);
            }
            if mode == MessageMode::Stream && self.buf.len() >= STREAM_CHUNK {
                if let Some(event) = self.flush(mode, false)? {
                    self.ready.push(event);
                }
            }
            if done {
                return Ok(());
            }
            room = (room * 2).min(max_room);
        }
    }

    /// The chunks [`push_produced`](Self::push_produced) handed out, in order.
    #[cfg(feature = "deflate")]
    pub(crate) fn take_ready(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.ready)
    }

    /// Called at the end of each received stretch of a data frame: in stream mode, hands out
    /// what has arrived; at the end of the message, hands out the message.
    pub(crate) fn flush(
        &mut self,
        mode: MessageMode,
        message_done: bool,
    ) -> Result<Option<Event>, ProtocolError> {
        let Some(kind) = self.kind else {
            return Ok(None);
        };
        self.drop_tail();
        if message_done && kind == DataKind::Text && !self.utf8.is_complete() {
            return Err(ProtocolError::InvalidUtf8);
        }
        let event = match mode {
            MessageMode::Stream => {
                // Keep an incomplete code point back for the next chunk.
                let ready = self.buf.len() - self.utf8.pending_len();
                if ready == 0 && !message_done {
                    return Ok(None);
                }
                let rest = self.buf.split_off(ready);
                let data = core::mem::replace(&mut self.buf, rest);
                let first = !self.delivered_first;
                self.delivered_first = true;
                Some(Event::Chunk(Chunk {
                    kind,
                    data,
                    first,
                    last: message_done,
                }))
            }
            MessageMode::Reassemble if message_done => {
                let payload = core::mem::take(&mut self.buf);
                Some(Event::Message(match kind {
                    // Validated incrementally above; this second check cannot fail but keeps
                    // the crate free of `unsafe`.
                    DataKind::Text => Message::Text(
                        String::from_utf8(payload).map_err(|_| ProtocolError::InvalidUtf8)?,
                    ),
                    DataKind::Binary => Message::Binary(payload),
                }))
            }
            MessageMode::Reassemble => None,
        };
        if message_done {
            self.kind = None;
        }
        Ok(event)
    }
}

#[cfg(test)]
mod helper_tests {
    use super::*;

    #[test]
    fn helpers_of_text_and_binary() {
        let text = Message::from(String::from("héllo"));
        assert!(text.is_text() && !text.is_binary());
        assert_eq!(text.len(), 6);
        assert!(!text.is_empty());
        assert_eq!(text.as_text(), Some("héllo"));
        assert_eq!(text.clone().into_text().unwrap(), "héllo");
        assert_eq!(text.into_data(), "héllo".as_bytes());

        let binary = Message::from(&[1u8, 2, 3][..]);
        assert!(binary.is_binary() && !binary.is_text());
        assert_eq!((binary.len(), binary.as_text()), (3, None));
        assert_eq!(binary.into_data(), [1, 2, 3]);

        let empty = Message::from(Vec::new());
        assert!(empty.is_empty());
        assert_eq!(empty.into_text().unwrap(), "");

        let bad = Message::from(alloc::vec![b'a', 0xff]);
        assert_eq!(bad.into_text().unwrap_err().into_bytes(), [b'a', 0xff]);
    }
}
