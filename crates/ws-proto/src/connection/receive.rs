//! Receiving: frames from the transport, the framing rules, messages and control frames
//! (RFC 6455 sections 5 and 6.2).

use alloc::string::String;

use super::Connection;
use crate::close::CloseFrame;
use crate::config::MessageMode;
use crate::error::ProtocolError;
use crate::frame::mask::apply_mask;
#[cfg(feature = "deflate")]
use crate::frame::RSV1;
use crate::frame::{decode_header, Decoded, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD};
use crate::message::{DataKind, Event, Message};
use crate::role::Role;
use crate::time::Instant;
use crate::timer::Timer;

/// [`Connection::receive_buffer`] hands out room only once this much of a frame's payload has
/// arrived (memory follows data) and while at least this much is still to come (smaller
/// remainders are cheaper through a read buffer).
const RECEIVE_IN_PLACE_MIN: u64 = 64 * 1024;

impl Connection {
    /// Feeds bytes read from the transport, at time `now`.
    ///
    /// Decodes as much as possible; a partial frame is kept and completed by later calls, so
    /// the input may be split anywhere. Text is validated as it arrives, so invalid UTF-8 fails
    /// the connection at the first bad byte, even mid-frame. Receiving anything restarts the
    /// keepalive timer from `now`.
    ///
    /// Next: drain [`poll_event`](Self::poll_event), then write the output (an automatic Pong
    /// or a Close reply may be queued), then ask [`poll_timeout`](Self::poll_timeout).
    ///
    /// # Errors
    ///
    /// A protocol violation fails the connection: once the events before it have been taken,
    /// a Close frame with [`ProtocolError::close_code`] is queued and
    /// [`Event::Closed`](crate::Event::Closed) follows. The error is returned once; input
    /// after it (and after a completed closing handshake) is discarded.
    pub fn receive_data(&mut self, mut data: &[u8], now: Instant) -> Result<(), ProtocolError> {
        if self.input_done {
            return Ok(());
        }
        if !data.is_empty() {
            self.peer_alive(now);
            self.input_time(now);
        }
        while !data.is_empty() && !self.input_done {
            match self.receive_step(data, now) {
                Ok(n) => data = &data[n..],
                Err(e) => return Err(self.fail_protocol(e)),
            }
        }
        Ok(())
    }

    /// The peer sent something: restart the idle timer and stop waiting for a Pong.
    fn peer_alive(&mut self, now: Instant) {
        if self.config.keepalive_interval.is_some() && !self.close_sent {
            self.timers
                .set_after(Timer::Keepalive, now, self.config.keepalive_interval);
        }
        self.timers.stop(Timer::Pong);
    }

    /// Handles the next item of `data`; returns how many bytes it took.
    fn receive_step(&mut self, data: &[u8], now: Instant) -> Result<usize, ProtocolError> {
        if self.decoder.at_frame_start() {
            // Fast path: the whole header is usually here, and for small messages the whole
            // frame too.
            if let Some((header, len)) = decode_header(data)? {
                if let Some(end) = self.whole_message_end(&header, len, data.len()) {
                    self.receive_whole_message(&header, &data[len..end])?;
                    return Ok(end);
                }
                self.decoder.begin_payload(header);
                self.start_frame(header, now)?;
                return Ok(len);
            }
        }
        match self.decoder.decode(data)? {
            (n, None) => Ok(n),
            (n, Some(Decoded::Header(header))) => {
                self.start_frame(header, now)?;
                Ok(n)
            }
            (n, Some(Decoded::Payload { data, offset, last })) => {
                // The decoder forgets the header after the last piece; `current` keeps it.
                let Some(header) = self.current else {
                    return Ok(n);
                };
                self.receive_payload(data, &header, offset)?;
                if last {
                    self.finish_frame(header, now)?;
                } else if !header.opcode.is_control() {
                    self.flush_stream()?;
                }
                Ok(n)
            }
        }
    }

    /// While the payload of a large data frame is arriving (uncompressed, in
    /// [`MessageMode::Reassemble`], at least 64 KiB of it received and at least 64 KiB still
    /// to come), room at the end of the message being reassembled for the caller to read the
    /// next payload bytes into, straight from the transport; then
    /// [`receive_in_place`](Self::receive_in_place) with the number of bytes read. This saves
    /// copying large messages from a read buffer.
    ///
    /// The room is zeroed once and kept until filled. It is never larger than what the peer
    /// has already sent of the frame (nor than 1 MiB), so memory follows the data that
    /// arrives: a frame's declared length alone cannot make the connection touch memory.
    /// `None` otherwise: read into a buffer of your own and call
    /// [`receive_data`](Self::receive_data), which is always correct.
    ///
    /// ```
    /// use ws_proto::{Config, Connection, Event, Instant, Message};
    /// let now = Instant::ZERO;
    /// let mut server = Connection::server(Config::default(), now);
    /// let payload = vec![7u8; 200_000];
    /// // A masked binary frame (key 0: the payload is unchanged).
    /// let mut frame = vec![0x82, 0xff, 0, 0, 0, 0, 0, 0x03, 0x0d, 0x40, 0, 0, 0, 0];
    /// frame.extend_from_slice(&payload);
    /// assert!(server.receive_buffer().is_none());
    /// server.receive_data(&frame[..70_000], now).unwrap(); // the header and 64 KiB and more
    /// let mut rest = &frame[70_000..];
    /// while let Some(room) = server.receive_buffer() {
    ///     let n = room.len().min(rest.len()); // a socket read into `room`
    ///     room[..n].copy_from_slice(&rest[..n]);
    ///     server.receive_in_place(n, now).unwrap();
    ///     rest = &rest[n..];
    /// }
    /// server.receive_data(rest, now).unwrap(); // the last bytes, as usual
    /// assert_eq!(server.poll_event(), Some(Event::Message(Message::Binary(payload))));
    /// ```
    pub fn receive_buffer(&mut self) -> Option<&mut [u8]> {
        let (header, received) = self.decoder.payload_progress()?;
        let remaining = header.payload_len - received;
        if self.input_done
            || header.opcode.is_control()
            || remaining < RECEIVE_IN_PLACE_MIN
            || received < RECEIVE_IN_PLACE_MIN
            || self.config.message_mode != MessageMode::Reassemble
            || self.receiving_compressed()
        {
            return None;
        }
        Some(self.message.room(remaining.min(received) as usize))
    }

    /// `n` bytes were read into the start of the room [`receive_buffer`](Self::receive_buffer)
    /// returned, at time `now`: they are taken as the next bytes of the payload, exactly as if
    /// they had been passed to [`receive_data`](Self::receive_data). Without room handed out,
    /// or with `n == 0`, nothing happens.
    ///
    /// # Errors
    ///
    /// As for [`receive_data`](Self::receive_data) (invalid UTF-8 in text, for example).
    pub fn receive_in_place(&mut self, n: usize, now: Instant) -> Result<(), ProtocolError> {
        let Some((header, received)) = self.decoder.payload_progress() else {
            return Ok(());
        };
        if n == 0 || self.input_done {
            return Ok(());
        }
        self.peer_alive(now);
        self.input_time(now);
        let n = (n as u64).min(header.payload_len - received) as usize;
        let n = match self.message.commit(n, header.mask, received) {
            Ok(n) => n as u64,
            Err(e) => return Err(self.fail_protocol(e)),
        };
        if self.decoder.advance_payload(n) {
            if let Err(e) = self.finish_frame(header, now) {
                return Err(self.fail_protocol(e));
            }
        }
        Ok(())
    }

    /// If the frame is a whole message, uncompressed, reassembled, and all of it is in the
    /// input (`available` bytes, of which `header_len` are the header), where its payload
    /// ends: then it can be handled in one step, without the per-piece state machine. This is
    /// the usual shape of small messages.
    fn whole_message_end(
        &self,
        header: &FrameHeader,
        header_len: usize,
        available: usize,
    ) -> Option<usize> {
        let whole = header.fin
            && header.rsv == 0
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && self.config.message_mode == MessageMode::Reassemble;
        let end = (header_len as u64).checked_add(header.payload_len)?;
        (whole && end <= available as u64).then_some(end as usize)
    }

    /// A frame that [`whole_message_end`](Self::whole_message_end) accepted: applies the
    /// rules of [`check_header`](Self::check_header) that concern such a frame (the same
    /// functions, in the same order), and queues the message. The payload goes into a pooled
    /// buffer; text is validated once, by the conversion into a `String` (all of it is here,
    /// so checking it piece by piece would gain nothing).
    fn receive_whole_message(
        &mut self,
        header: &FrameHeader,
        payload: &[u8],
    ) -> Result<(), ProtocolError> {
        self.check_mask(header)?;
        self.check_data_frame(header)?;
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_deref_mut() {
            deflate.start_message(false);
        }
        let mut buf = self.pool.take().unwrap_or_default();
        buf.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut buf, key, 0);
        }
        let message = if header.opcode == OpCode::Text {
            Message::Text(String::from_utf8(buf).map_err(|_| ProtocolError::InvalidUtf8)?)
        } else {
            Message::Binary(buf)
        };
        self.deliver(Event::Message(message))
    }

    /// Checks a new frame's header and prepares to receive its payload.
    fn start_frame(&mut self, header: FrameHeader, now: Instant) -> Result<(), ProtocolError> {
        self.check_header(&header)?;
        self.current = Some(header);
        if header.payload_len == 0 {
            self.finish_frame(header, now)?;
        } else if !header.opcode.is_control()
            && self.config.message_mode == MessageMode::Reassemble
            && !self.receiving_compressed()
        {
            self.message.reserve_frame(header.payload_len);
        }
        Ok(())
    }

    /// Whether the data message in progress is compressed.
    pub(super) fn receiving_compressed(&self) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_deref() {
            return deflate.receiving_compressed();
        }
        false
    }

    /// Applies the rules a frame header must follow before any payload is read.
    fn check_header(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        // "MUST be 0 unless an extension is negotiated that defines meanings for non-zero
        // values" (section 5.2)
        if h.rsv & !self.allowed_rsv != 0 {
            return Err(ProtocolError::ReservedBitsSet);
        }
        self.check_mask(h)?;
        // "An endpoint MUST NOT set the 'Per-Message Compressed' bit of control frames and
        // non-first fragments of a data message." (RFC 7692 section 6.1)
        #[cfg(feature = "deflate")]
        if self.deflate.is_some()
            && h.rsv & RSV1 != 0
            && (h.opcode.is_control() || h.opcode == OpCode::Continuation)
        {
            return Err(ProtocolError::InvalidCompressionBit);
        }
        if h.opcode.is_control() {
            // "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
            // be fragmented." (section 5.5)
            if h.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::ControlFrameTooLong);
            }
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            return Ok(());
        }
        self.check_data_frame(h)?;
        match h.opcode {
            OpCode::Text => self.message.start(DataKind::Text, &mut self.pool),
            OpCode::Binary => self.message.start(DataKind::Binary, &mut self.pool),
            _ => {}
        }
        #[cfg(feature = "deflate")]
        if h.opcode != OpCode::Continuation {
            if let Some(deflate) = self.deflate.as_deref_mut() {
                deflate.start_message(h.rsv & RSV1 != 0);
            }
        }
        Ok(())
    }

    /// "The server MUST close the connection upon receiving a frame that is not masked"; "A
    /// client MUST close a connection if it detects a masked frame" (section 5.1).
    fn check_mask(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => Err(ProtocolError::UnmaskedClientFrame),
            (Role::Client, true) => Err(ProtocolError::MaskedServerFrame),
            _ => Ok(()),
        }
    }

    /// The rules of a data frame's header: fragments in order (section 5.4), and the frame
    /// and message size limits, decided before any payload is read.
    fn check_data_frame(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        match (h.opcode, self.message.in_progress()) {
            (OpCode::Continuation, false) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, true) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge);
        }
        // A compressed message counts once, as inflated data: the inflater holds it to the
        // limit as it writes (a deflate bomb fails as soon as it passes it), so its wire size
        // is not counted as well (incompressible data grows by a few bytes when deflated).
        if self.frame_compressed(h) {
            return Ok(());
        }
        let total = if h.opcode == OpCode::Continuation {
            self.message.size()
        } else {
            0
        };
        if total.saturating_add(h.payload_len) > self.config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge);
        }
        Ok(())
    }

    /// Whether a data frame carries compressed data: the first frame of a message with RSV1
    /// set, or a continuation of a compressed message.
    fn frame_compressed(&self, h: &FrameHeader) -> bool {
        #[cfg(feature = "deflate")]
        if self.deflate.is_some() {
            return if h.opcode == OpCode::Continuation {
                self.receiving_compressed()
            } else {
                h.rsv & RSV1 != 0
            };
        }
        let _ = h;
        false
    }

    /// Takes a piece of the current frame's payload, starting at `offset` in it.
    fn receive_payload(
        &mut self,
        piece: &[u8],
        header: &FrameHeader,
        offset: u64,
    ) -> Result<(), ProtocolError> {
        if header.opcode.is_control() {
            let start = self.control.len();
            self.control.extend_from_slice(piece);
            if let Some(key) = header.mask {
                apply_mask(&mut self.control[start..], key, offset as usize);
            }
            return Ok(());
        }
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_deref_mut() {
            if deflate.receiving_compressed() {
                let (limit, mode) = (self.config.max_message_size, self.config.message_mode);
                deflate.receive(piece, header.mask, offset, &mut self.message, limit, mode)?;
                for event in self.message.take_ready() {
                    self.deliver(event)?;
                }
                return Ok(());
            }
        }
        self.message.push(piece, header.mask, offset)
    }

    /// Stream mode hands out what has arrived so far of a data frame.
    fn flush_stream(&mut self) -> Result<(), ProtocolError> {
        if let Some(event) = self.message.flush(self.config.message_mode, false)? {
            self.deliver(event)?;
        }
        Ok(())
    }

    /// Handles a frame whose payload has been fully received.
    fn finish_frame(&mut self, header: FrameHeader, now: Instant) -> Result<(), ProtocolError> {
        self.current = None;
        match header.opcode {
            OpCode::Ping => {
                let payload = core::mem::take(&mut self.control);
                // "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response
                // ... unless it already received a Close frame." (section 5.5.2)
                if self.config.auto_pong && !self.close_sent {
                    self.write_frame(OpCode::Pong, true, 0, &payload);
                }
                self.push_event(Event::Ping(payload));
            }
            OpCode::Pong => {
                let payload = core::mem::take(&mut self.control);
                self.push_event(Event::Pong(payload));
            }
            OpCode::Close => {
                let frame = CloseFrame::parse(&self.control)?;
                self.control.clear();
                self.receive_close(frame, now);
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                #[cfg(feature = "deflate")]
                if header.fin {
                    if let Some(deflate) = self.deflate.as_deref_mut() {
                        if deflate.receiving_compressed() {
                            let (limit, mode) =
                                (self.config.max_message_size, self.config.message_mode);
                            deflate.finish_message(&mut self.message, limit, mode)?;
                            for event in self.message.take_ready() {
                                self.deliver(event)?;
                            }
                        }
                    }
                }
                if let Some(event) = self.message.flush(self.config.message_mode, header.fin)? {
                    self.deliver(event)?;
                }
            }
        }
        Ok(())
    }
}
