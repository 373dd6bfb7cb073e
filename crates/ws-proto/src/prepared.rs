//! A data message framed once, to be queued to many connections: see [`PreparedMessage`].

use alloc::vec::Vec;

use crate::frame::{encode_header, FrameHeader, OpCode};
use crate::message::{DataKind, Message};

/// A data message encoded once as a server frame (one unmasked, uncompressed frame: header
/// and payload), so that a broadcast or a publish to many connections copies the same bytes
/// into each connection's output instead of encoding the frame again for each.
///
/// [`Connection::send_prepared`](crate::Connection::send_prepared) queues it. A server
/// connection without permessage-deflate takes the frame bytes as they are; a client
/// connection (whose frames are masked with a key of its own) and a connection with
/// permessage-deflate send the payload the normal way, so the message is the same on the wire
/// as with [`Connection::send`](crate::Connection::send) in every case.
///
/// ```
/// use ws_proto::{Config, Connection, Instant, PreparedMessage};
///
/// let prepared = PreparedMessage::text("Hello");
/// assert_eq!(prepared.frame(), [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
///
/// let mut server = Connection::server(Config::default(), Instant::ZERO);
/// server.send_prepared(&prepared).unwrap();
/// let mut out = Vec::new();
/// server.poll_transmit(&mut out);
/// assert_eq!(out, prepared.frame());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedMessage {
    kind: DataKind,
    /// The frame: header, then payload.
    frame: Vec<u8>,
    /// Where the payload starts in `frame`.
    header_len: usize,
}

impl PreparedMessage {
    /// Frames a message of the given kind. For [`DataKind::Text`], `payload` must be valid
    /// UTF-8 (as with [`Connection::send_uncompressed`](crate::Connection::send_uncompressed)).
    pub fn new(kind: DataKind, payload: &[u8]) -> PreparedMessage {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: match kind {
                DataKind::Text => OpCode::Text,
                DataKind::Binary => OpCode::Binary,
            },
            mask: None,
            payload_len: payload.len() as u64,
        };
        let header_len = header.encoded_len();
        let mut frame = Vec::with_capacity(header_len + payload.len());
        encode_header(&header, &mut frame);
        frame.extend_from_slice(payload);
        PreparedMessage {
            kind,
            frame,
            header_len,
        }
    }

    /// Frames a text message.
    pub fn text(text: &str) -> PreparedMessage {
        PreparedMessage::new(DataKind::Text, text.as_bytes())
    }

    /// Frames a binary message.
    pub fn binary(data: &[u8]) -> PreparedMessage {
        PreparedMessage::new(DataKind::Binary, data)
    }

    /// Text or binary.
    pub fn kind(&self) -> DataKind {
        self.kind
    }

    /// The message's payload.
    pub fn payload(&self) -> &[u8] {
        &self.frame[self.header_len..]
    }

    /// The encoded server frame: what a server connection without extensions writes.
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// The message's payload length in bytes.
    pub fn len(&self) -> usize {
        self.frame.len() - self.header_len
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&Message> for PreparedMessage {
    fn from(message: &Message) -> PreparedMessage {
        PreparedMessage::new(message.kind(), message.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Connection, Instant};
    use alloc::string::String;
    use alloc::vec;
    use proptest::prelude::*;

    /// What a connection writes for `send` of the same message.
    fn sent_normally(connection: &mut Connection, message: Message) -> Vec<u8> {
        connection.send(message).unwrap();
        let mut out = Vec::new();
        while connection.poll_transmit(&mut out).is_some() {}
        out
    }

    fn sent_prepared(connection: &mut Connection, prepared: &PreparedMessage) -> Vec<u8> {
        connection.send_prepared(prepared).unwrap();
        let mut out = Vec::new();
        while connection.poll_transmit(&mut out).is_some() {}
        out
    }

    fn message(binary: bool, payload: Vec<u8>) -> Message {
        if binary {
            Message::Binary(payload)
        } else {
            Message::Text(String::from_utf8_lossy(&payload).into_owned())
        }
    }

    proptest! {
        #[test]
        fn a_prepared_frame_is_the_normal_server_encoding(
            binary: bool,
            payload in prop::collection::vec(any::<u8>(), 0..70_000),
        ) {
            let message = message(binary, payload);
            let prepared = PreparedMessage::from(&message);
            prop_assert_eq!(prepared.payload(), message.as_bytes());
            prop_assert_eq!(prepared.kind(), message.kind());
            let mut normal = Connection::server(Config::default(), Instant::ZERO);
            let mut fast = Connection::server(Config::default(), Instant::ZERO);
            let expected = sent_normally(&mut normal, message);
            prop_assert_eq!(prepared.frame(), &expected[..]);
            prop_assert_eq!(sent_prepared(&mut fast, &prepared), expected);
        }

        #[test]
        fn a_client_sends_a_prepared_message_masked_as_send_would(
            binary: bool,
            payload in prop::collection::vec(any::<u8>(), 0..20_000),
            seed: u64,
        ) {
            let message = message(binary, payload);
            let prepared = PreparedMessage::from(&message);
            // Two clients with the same mask keys write the same bytes for the same message.
            let mut normal = client(seed);
            let mut fast = client(seed);
            prop_assert_eq!(sent_prepared(&mut fast, &prepared), sent_normally(&mut normal, message));
        }
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn a_deflate_connection_compresses_a_prepared_message_as_send_would() {
        use crate::extensions::deflate::DeflateParams;
        let text = "{\"user\":\"ada\",\"text\":\"hello hello hello hello\"}";
        let deflating = || {
            Connection::server(Config::default(), Instant::ZERO)
                .with_deflate(DeflateParams::default())
        };
        let (mut normal, mut fast) = (deflating(), deflating());
        let prepared = PreparedMessage::text(text);
        for _ in 0..3 {
            let expected = sent_normally(&mut normal, Message::Text(text.into()));
            assert_ne!(expected, prepared.frame(), "compressed");
            assert_eq!(sent_prepared(&mut fast, &prepared), expected);
        }
    }

    fn client(seed: u64) -> Connection {
        let mut state = seed | 1;
        Connection::client(
            Config::default(),
            move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let bytes = state.to_le_bytes();
                [bytes[0], bytes[1], bytes[2], bytes[3]]
            },
            Instant::ZERO,
        )
    }

    #[test]
    fn prepared_messages_queue_after_other_output_and_respect_the_send_state() {
        let mut server = Connection::server(Config::default(), Instant::ZERO);
        server.send_text("a").unwrap();
        server
            .send_prepared(&PreparedMessage::binary(b"bc"))
            .unwrap();
        assert_eq!(server.buffered_amount(), 3 + 4);
        let mut out = Vec::new();
        while server.poll_transmit(&mut out).is_some() {}
        assert_eq!(out, vec![0x81, 1, b'a', 0x82, 2, b'b', b'c']);
        // In the middle of a fragmented message, another data message is refused.
        server.send_fragment(DataKind::Text, b"x", false).unwrap();
        assert!(server.send_prepared(&PreparedMessage::text("y")).is_err());
        server.send_fragment(DataKind::Text, b"z", true).unwrap();
        server
            .close(crate::CloseCode::NORMAL, "", Instant::ZERO)
            .unwrap();
        assert!(server
            .send_prepared(&PreparedMessage::text("late"))
            .is_err());
    }
}
