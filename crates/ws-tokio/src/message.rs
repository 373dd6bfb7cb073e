//! The messages a [`WebSocketStream`](crate::WebSocketStream) yields and takes: the same shape
//! as ws-std's `Message`, so that code moves between the blocking and the async adapter.

use ws_proto::{Chunk, CloseFrame, Event, Message as ProtoMessage};

/// A message (or control frame) read from or sent on a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A Ping; it has already been answered (unless `auto_pong` is off).
    Ping(Vec<u8>),
    /// A Pong.
    Pong(Vec<u8>),
    /// The peer's Close frame (`None`: no status code) when read; sent, it starts the closing
    /// handshake (1000 when `None`).
    Close(Option<CloseFrame>),
    /// A piece of a data message, when the connection is configured with
    /// [`MessageMode::Stream`](ws_proto::MessageMode::Stream); sent, one fragment.
    Chunk(Chunk),
}

impl Message {
    /// Whether this is a data message (text, binary or a chunk of one).
    pub fn is_data(&self) -> bool {
        matches!(
            self,
            Message::Text(_) | Message::Binary(_) | Message::Chunk(_)
        )
    }

    /// The message for an event of the connection; `None` for the kinds the stream reports
    /// otherwise ([`Event::Closed`]) or does not surface.
    pub(crate) fn from_event(event: Event) -> Option<Message> {
        let message = match event {
            Event::Message(ProtoMessage::Text(text)) => Message::Text(text),
            Event::Message(ProtoMessage::Binary(data)) => Message::Binary(data),
            Event::Ping(payload) => Message::Ping(payload),
            Event::Pong(payload) => Message::Pong(payload),
            Event::Close(frame) => Message::Close(frame),
            Event::Chunk(chunk) => Message::Chunk(chunk),
            _ => return None,
        };
        Some(message)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::Text(text.to_owned())
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::Binary(data)
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Message {
        Message::Binary(data.to_vec())
    }
}
