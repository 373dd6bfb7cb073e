//! What the bridge puts in a Redis message: the kind of the WebSocket message, the id of the
//! process that published it, and its payload.
//!
//! `T` or `B` (text or binary), then the 16 bytes of the origin's id, then the payload as is.
//! A process skips the messages that carry its own id: it delivered them to its own
//! subscribers when it published them.

use ws_mio::Message;

/// A process's id: 16 random bytes drawn when its bridge is made.
pub(crate) type Origin = [u8; 16];

const TEXT: u8 = b'T';
const BINARY: u8 = b'B';
const HEADER: usize = 1 + 16;

/// The Redis payload of a message.
pub(crate) fn encode(origin: &Origin, message: &Message) -> Vec<u8> {
    let kind = match message {
        Message::Text(_) => TEXT,
        Message::Binary(_) => BINARY,
    };
    let body = message.as_bytes();
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.push(kind);
    out.extend_from_slice(origin);
    out.extend_from_slice(body);
    out
}

/// The origin and the message of a Redis payload; `None` if it is not one the bridge wrote
/// (another publisher on the channel) or a text that is not UTF-8.
pub(crate) fn decode(payload: Vec<u8>) -> Option<(Origin, Message)> {
    if payload.len() < HEADER {
        return None;
    }
    let origin: Origin = payload[1..HEADER].try_into().ok()?;
    let kind = payload[0];
    let body = payload[HEADER..].to_vec();
    let message = match kind {
        TEXT => Message::Text(String::from_utf8(body).ok()?),
        BINARY => Message::Binary(body),
        _ => return None,
    };
    Some((origin, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Origin = *b"0123456789abcdef";

    #[test]
    fn text_and_binary_round_trip_with_their_origin() {
        for message in [
            Message::Text("héllo".into()),
            Message::Text(String::new()),
            Message::Binary(vec![0, 255, 7]),
        ] {
            let payload = encode(&ME, &message);
            assert_eq!(payload.len(), HEADER + message.as_bytes().len());
            assert_eq!(decode(payload), Some((ME, message)));
        }
    }

    #[test]
    fn foreign_or_damaged_payloads_are_ignored() {
        assert_eq!(decode(b"hello from redis-cli".to_vec()), None);
        assert_eq!(decode(b"T0123".to_vec()), None);
        let mut bad_utf8 = encode(&ME, &Message::Text("x".into()));
        bad_utf8.push(0xff);
        assert_eq!(decode(bad_utf8), None);
        assert_eq!(decode(Vec::new()), None);
    }
}
