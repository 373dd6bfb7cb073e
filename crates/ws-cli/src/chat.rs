//! The chat rooms of `ws serve`: their JSON protocol, who is present, and the limits on input.
//!
//! No sockets here: the server ([`crate::demo`]) hands a room each text a connection sends
//! ([`Room::receive`]) and each connection that closes ([`Room::leave`]), and delivers the
//! [`Out`] messages the room answers with, to everyone in the room or to one connection.
//!
//! # Rooms
//!
//! A connection picks its room in the WebSocket URL, `/ws?room=NAME` (see [`room_name`]);
//! without a `room` parameter it is in [`DEFAULT_ROOM`]. Rooms are independent: messages,
//! notices and presence are per room.
//!
//! # The protocol
//!
//! Every message is one JSON object in a text frame. A client sends:
//!
//! * `{"type": "hello", "user": NAME}`: join the room under NAME. The page sends it as soon as
//!   its WebSocket opens (and again after each reconnection), so the others see who arrived
//!   before they say anything.
//! * `{"user": NAME, "text": TEXT}`: a chat message. A connection that has not said hello
//!   joins with its first message; afterwards NAME must be the name it joined under.
//!
//! The server sends:
//!
//! * `{"user": NAME, "text": TEXT, "ts": MILLIS}` to everyone in the room (the sender
//!   included) for each chat message, with the server's time in milliseconds since the Unix
//!   epoch;
//! * `{"type": "join", "user": NAME, "ts": MILLIS}` and `{"type": "leave", "user": NAME,
//!   "ts": MILLIS}` to everyone in the room when a name arrives and when it is gone (the page
//!   orders what it shows by `ts`);
//! * `{"type": "welcome", "room": ROOM, "user": NAME, "users": [NAMES]}` to a connection that
//!   has just joined, with the room's name and the names present (its own included);
//! * `{"type": "error", "error": WHY}` to the one connection whose input was refused; nobody
//!   else sees that input.
//!
//! # Presence
//!
//! A name is present while at least one connection has joined under it. So a name joins once
//! when its first connection joins and leaves once when its last connection closes: two tabs
//! of one user, or a page that reconnects before the server has noticed that its previous
//! connection died, do not produce a leave and a join of someone who never went away.
//! Names are not authenticated: this is a demo.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use serde_json::{json, Map, Value};

/// The longest name, in characters (Unicode scalar values).
pub(crate) const MAX_NAME_CHARS: usize = 32;

/// The longest chat text, in bytes of UTF-8 (4 KiB).
pub(crate) const MAX_TEXT_BYTES: usize = 4096;

/// The room of a connection whose URL names none.
pub(crate) const DEFAULT_ROOM: &str = "lobby";

/// The longest room name, in bytes (its characters are ASCII).
pub(crate) const MAX_ROOM_BYTES: usize = 32;

/// The room a WebSocket URL's query asks for: the `room` parameter, or [`DEFAULT_ROOM`]
/// without one. A room name is 1 to [`MAX_ROOM_BYTES`] ASCII letters, digits, `-`, `_` or
/// `.` (so it needs no escaping in a URL and cannot pass for another); anything else is
/// refused with the reason.
pub(crate) fn room_name(query: Option<&str>) -> Result<&str, String> {
    let param = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| match pair.split_once('=') {
            Some(("room", value)) => Some(value),
            _ if pair == "room" => Some(""),
            _ => None,
        });
    let Some(name) = param else {
        return Ok(DEFAULT_ROOM);
    };
    let valid = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if name.is_empty() || name.len() > MAX_ROOM_BYTES || !name.bytes().all(valid) {
        return Err(format!(
            "a room name is 1 to {MAX_ROOM_BYTES} letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(name)
}

/// A message for the server to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out<K> {
    /// To every open connection, the sender included.
    All(String),
    /// To one connection.
    To(K, String),
}

/// Who is in a room: the name each connection joined under, and how many connections each
/// present name has. `K` identifies a connection (the server's connection id).
#[derive(Debug)]
pub(crate) struct Room<K> {
    name: String,
    members: HashMap<K, String>,
    present: BTreeMap<String, usize>,
}

/// What a client asked for, once parsed and checked.
#[derive(Debug)]
enum Input {
    Hello { user: String },
    Chat { user: String, text: String },
}

impl<K: Copy + Eq + Hash> Room<K> {
    /// An empty room called `name`.
    pub(crate) fn new(name: &str) -> Self {
        Room {
            name: name.into(),
            members: HashMap::new(),
            present: BTreeMap::new(),
        }
    }

    /// Whether no connection has joined.
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The names present, sorted.
    pub(crate) fn users(&self) -> impl Iterator<Item = &str> {
        self.present.keys().map(String::as_str)
    }

    /// Connection `from` sent the text message `text`, at `now_ms` milliseconds since the Unix
    /// epoch: the messages to deliver, in order.
    pub(crate) fn receive(&mut self, from: K, text: &str, now_ms: u64) -> Vec<Out<K>> {
        let mut out = Vec::new();
        let result = parse(text).and_then(|input| match input {
            // Joins, or confirms the name the connection already joined under.
            Input::Hello { user } => {
                let again = self.members.contains_key(&from);
                self.ensure_joined(from, user, now_ms, &mut out)?;
                if again {
                    out.push(Out::To(from, self.welcome(from)));
                }
                Ok(())
            }
            Input::Chat { user, text } => {
                self.ensure_joined(from, user, now_ms, &mut out)?;
                let name = &self.members[&from];
                let message = object(&[
                    ("user", json!(name)),
                    ("text", json!(text)),
                    ("ts", json!(now_ms)),
                ]);
                out.push(Out::All(message));
                Ok(())
            }
        });
        if let Err(why) = result {
            out.push(Out::To(from, error(&why)));
        }
        out
    }

    /// Connection `from` sent a binary message, which this protocol has no use for.
    pub(crate) fn receive_binary(&self, from: K) -> Vec<Out<K>> {
        vec![Out::To(
            from,
            error("binary messages are not supported: send JSON text"),
        )]
    }

    /// Connection `from` is gone, at `now_ms`: a leave notice if it was the last one of its
    /// name.
    pub(crate) fn leave(&mut self, from: K, now_ms: u64) -> Vec<Out<K>> {
        let Some(name) = self.members.remove(&from) else {
            return Vec::new();
        };
        let count = self.present.get_mut(&name).map(|count| {
            *count -= 1;
            *count
        });
        if count != Some(0) {
            return Vec::new();
        }
        self.present.remove(&name);
        vec![Out::All(notice("leave", &name, now_ms))]
    }

    /// Joins `from` under `user` if it has not joined yet (a welcome to it, and a join notice
    /// for everyone if the name was not present); otherwise checks it joined under `user`.
    fn ensure_joined(
        &mut self,
        from: K,
        user: String,
        now_ms: u64,
        out: &mut Vec<Out<K>>,
    ) -> Result<(), String> {
        if let Some(name) = self.members.get(&from) {
            if *name != user {
                return Err(format!(
                    "this connection joined as {name:?}; reconnect to use another name"
                ));
            }
            return Ok(());
        }
        let count = self.present.entry(user.clone()).or_insert(0);
        *count += 1;
        let first = *count == 1;
        self.members.insert(from, user.clone());
        out.push(Out::To(from, self.welcome(from)));
        if first {
            out.push(Out::All(notice("join", &user, now_ms)));
        }
        Ok(())
    }

    fn welcome(&self, to: K) -> String {
        let users: Vec<&str> = self.users().collect();
        object(&[
            ("type", json!("welcome")),
            ("room", json!(self.name)),
            ("user", json!(self.members[&to])),
            ("users", json!(users)),
        ])
    }
}

/// `{"type": "error", "error": why}`.
fn error(why: &str) -> String {
    object(&[("type", json!("error")), ("error", json!(why))])
}

/// `{"type": kind, "user": user, "ts": now_ms}`: a join or leave notice.
fn notice(kind: &str, user: &str, now_ms: u64) -> String {
    object(&[
        ("type", json!(kind)),
        ("user", json!(user)),
        ("ts", json!(now_ms)),
    ])
}

/// A JSON object with its keys in the order given, the order the protocol documents them in
/// (`serde_json`'s own maps sort them).
fn object(fields: &[(&str, Value)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(*key).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// Parses and checks one client message.
fn parse(text: &str) -> Result<Input, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("expected a JSON object such as {\"user\": \"ada\", \"text\": \"hi\"}".into());
    };
    let user = check_name(string_field(&object, "user")?)?;
    match object.get("type") {
        None => {
            let text = check_text(string_field(&object, "text")?)?;
            Ok(Input::Chat { user, text })
        }
        Some(Value::String(kind)) if kind == "hello" => Ok(Input::Hello { user }),
        Some(Value::String(kind)) => Err(format!(
            "unknown message type {kind:?}: send {{\"type\": \"hello\", \"user\": NAME}} or a chat \
             message {{\"user\": NAME, \"text\": TEXT}}"
        )),
        Some(_) => Err("\"type\" must be a string".into()),
    }
}

fn string_field(object: &Map<String, Value>, key: &str) -> Result<String, String> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{key:?} must be a string")),
        None => Err(format!("{key:?} is missing")),
    }
}

/// A name: 1 to [`MAX_NAME_CHARS`] characters, no control characters, no spaces around it
/// (so that "ada" and "ada " cannot pass for each other).
fn check_name(name: String) -> Result<String, String> {
    if name.trim().is_empty() {
        return Err("the name is empty".into());
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "the name is too long: {chars} characters, at most {MAX_NAME_CHARS}"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the name contains control characters".into());
    }
    if name.trim() != name {
        return Err("the name starts or ends with spaces".into());
    }
    Ok(name)
}

/// A chat text: not blank, at most [`MAX_TEXT_BYTES`] bytes.
fn check_text(text: String) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("the text is empty".into());
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "the text is too long: {} bytes, at most {MAX_TEXT_BYTES}",
            text.len()
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_123;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).expect("the room sends JSON")
    }

    /// The outputs as (recipient, JSON value); `None` is everyone.
    fn decode(out: Vec<Out<u32>>) -> Vec<(Option<u32>, Value)> {
        out.into_iter()
            .map(|o| match o {
                Out::All(text) => (None, json(&text)),
                Out::To(id, text) => (Some(id), json(&text)),
            })
            .collect()
    }

    fn send(room: &mut Room<u32>, from: u32, text: &str) -> Vec<(Option<u32>, Value)> {
        decode(room.receive(from, text, NOW))
    }

    /// The one error sent to `from`, and nothing else.
    fn refused(room: &mut Room<u32>, from: u32, text: &str) -> String {
        let out = send(room, from, text);
        assert_eq!(out.len(), 1, "{text}: {out:?}");
        let (to, value) = &out[0];
        assert_eq!(*to, Some(from), "{text}: an error goes to the sender only");
        assert_eq!(value["type"], "error", "{text}");
        assert_eq!(value.as_object().unwrap().len(), 2, "{value}");
        value["error"].as_str().expect("a reason").to_string()
    }

    fn hello(room: &mut Room<u32>, from: u32, name: &str) -> Vec<(Option<u32>, Value)> {
        send(
            room,
            from,
            &json!({ "type": "hello", "user": name }).to_string(),
        )
    }

    #[test]
    fn a_chat_message_is_broadcast_with_user_text_and_time() {
        let mut room = Room::new("lobby");
        hello(&mut room, 1, "ada");
        let out = send(&mut room, 1, r#"{"user": "ada", "text": "hi <b>all</b>"}"#);
        assert_eq!(
            out,
            [(
                None,
                json!({ "user": "ada", "text": "hi <b>all</b>", "ts": NOW })
            )]
        );
    }

    #[test]
    fn hello_welcomes_the_sender_and_announces_the_join_to_everyone() {
        let mut room = Room::new("lobby");
        let out = hello(&mut room, 1, "ada");
        assert_eq!(
            out,
            [
                (
                    Some(1),
                    json!({ "type": "welcome", "room": "lobby", "user": "ada", "users": ["ada"] })
                ),
                (None, json!({ "type": "join", "user": "ada", "ts": NOW })),
            ]
        );
        let out = hello(&mut room, 2, "bob");
        assert_eq!(
            out,
            [
                (
                    Some(2),
                    json!({ "type": "welcome", "room": "lobby", "user": "bob", "users": ["ada", "bob"] })
                ),
                (None, json!({ "type": "join", "user": "bob", "ts": NOW })),
            ]
        );
        assert_eq!(room.users().collect::<Vec<_>>(), ["ada", "bob"]);
    }

    #[test]
    fn the_first_message_joins_a_connection_that_said_no_hello() {
        let mut room = Room::new("lobby");
        let out = send(&mut room, 7, r#"{"user": "cy", "text": "hello"}"#);
        assert_eq!(
            out,
            [
                (
                    Some(7),
                    json!({ "type": "welcome", "room": "lobby", "user": "cy", "users": ["cy"] })
                ),
                (None, json!({ "type": "join", "user": "cy", "ts": NOW })),
                (None, json!({ "user": "cy", "text": "hello", "ts": NOW })),
            ]
        );
    }

    #[test]
    fn closing_announces_the_leave_and_unknown_connections_are_ignored() {
        let mut room = Room::new("lobby");
        hello(&mut room, 1, "ada");
        hello(&mut room, 2, "bob");
        assert_eq!(
            decode(room.leave(1, NOW)),
            [(None, json!({ "type": "leave", "user": "ada", "ts": NOW }))]
        );
        assert_eq!(room.users().collect::<Vec<_>>(), ["bob"]);
        assert!(room.leave(1, NOW).is_empty(), "already gone");
        assert!(room.leave(9, NOW).is_empty(), "never joined");
    }

    #[test]
    fn a_name_with_two_connections_joins_once_and_leaves_with_its_last() {
        let mut room = Room::new("lobby");
        hello(&mut room, 1, "ada");
        // A second tab, or a reconnection before the old connection is noticed dead.
        let out = hello(&mut room, 2, "ada");
        assert_eq!(
            out,
            [(
                Some(2),
                json!({ "type": "welcome", "room": "lobby", "user": "ada", "users": ["ada"] })
            )]
        );
        assert!(room.leave(1, NOW).is_empty());
        assert_eq!(
            decode(room.leave(2, NOW)),
            [(None, json!({ "type": "leave", "user": "ada", "ts": NOW }))]
        );
        assert_eq!(room.users().count(), 0);
    }

    #[test]
    fn a_repeated_hello_is_welcomed_again_without_a_join() {
        let mut room = Room::new("lobby");
        hello(&mut room, 1, "ada");
        assert_eq!(
            hello(&mut room, 1, "ada"),
            [(
                Some(1),
                json!({ "type": "welcome", "room": "lobby", "user": "ada", "users": ["ada"] })
            )]
        );
    }

    #[test]
    fn a_connection_cannot_change_its_name_or_speak_for_another() {
        let mut room = Room::new("lobby");
        hello(&mut room, 1, "ada");
        hello(&mut room, 2, "bob");
        let why = refused(&mut room, 1, r#"{"user": "bob", "text": "I am bob"}"#);
        assert!(why.contains("joined as \"ada\""), "{why}");
        let why = refused(
            &mut room,
            1,
            &json!({ "type": "hello", "user": "eve" }).to_string(),
        );
        assert!(why.contains("joined as \"ada\""), "{why}");
        assert_eq!(room.users().collect::<Vec<_>>(), ["ada", "bob"]);
    }

    #[test]
    fn malformed_input_is_refused_to_the_sender_with_a_reason() {
        let mut room = Room::new("lobby");
        hello(&mut room, 1, "ada");
        let cases = [
            ("hi", "not valid JSON"),
            (r#"{"user": "ada", "text": "hi""#, "not valid JSON"),
            ("[1, 2]", "expected a JSON object"),
            ("\"hi\"", "expected a JSON object"),
            ("null", "expected a JSON object"),
            (r#"{"text": "hi"}"#, "\"user\" is missing"),
            (r#"{"user": "ada"}"#, "\"text\" is missing"),
            (r#"{"user": 5, "text": "hi"}"#, "\"user\" must be a string"),
            (
                r#"{"user": "ada", "text": ["hi"]}"#,
                "\"text\" must be a string",
            ),
            (r#"{"user": "ada", "text": "  \n "}"#, "the text is empty"),
            (
                r#"{"type": "shout", "user": "ada"}"#,
                "unknown message type \"shout\"",
            ),
            (r#"{"type": 1, "user": "ada"}"#, "\"type\" must be a string"),
            (r#"{"type": "hello"}"#, "\"user\" is missing"),
        ];
        for (input, expected) in cases {
            let why = refused(&mut room, 1, input);
            assert!(why.contains(expected), "{input}: {why}");
        }
    }

    #[test]
    fn a_refused_first_message_does_not_join() {
        let mut room = Room::new("lobby");
        refused(&mut room, 3, r#"{"user": "", "text": "hi"}"#);
        refused(&mut room, 3, r#"{"user": "dan", "text": ""}"#);
        assert_eq!(room.users().count(), 0);
        assert!(room.leave(3, NOW).is_empty());
    }

    #[test]
    fn binary_messages_are_refused() {
        let room = Room::<u32>::new("lobby");
        let out = decode(room.receive_binary(4));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, Some(4));
        assert!(out[0].1["error"].as_str().unwrap().contains("binary"));
    }

    #[test]
    fn text_is_limited_to_4_kib_of_utf8() {
        let mut room = Room::new("lobby");
        hello(&mut room, 1, "ada");
        let at_limit = "x".repeat(MAX_TEXT_BYTES);
        let out = send(
            &mut room,
            1,
            &json!({ "user": "ada", "text": at_limit }).to_string(),
        );
        assert_eq!(out[0].1["text"], at_limit.as_str());

        let over = "x".repeat(MAX_TEXT_BYTES + 1);
        let why = refused(
            &mut room,
            1,
            &json!({ "user": "ada", "text": over }).to_string(),
        );
        assert_eq!(why, "the text is too long: 4097 bytes, at most 4096");

        // Bytes, not characters: 1,366 three-byte characters are 4,098 bytes.
        let wide = "€".repeat(1366);
        let why = refused(
            &mut room,
            1,
            &json!({ "user": "ada", "text": wide }).to_string(),
        );
        assert!(why.contains("4098 bytes"), "{why}");

        // The limit applies to the decoded text, not to its escaped JSON form.
        let escaped = format!(
            r#"{{"user": "ada", "text": "{}"}}"#,
            "\\u0041".repeat(MAX_TEXT_BYTES)
        );
        assert_eq!(send(&mut room, 1, &escaped).len(), 1);
    }

    #[test]
    fn names_are_limited_in_length_and_content() {
        let mut room = Room::new("lobby");
        let longest = "é".repeat(MAX_NAME_CHARS);
        assert_eq!(hello(&mut room, 1, &longest)[0].1["type"], "welcome");

        let cases = [
            (
                "é".repeat(MAX_NAME_CHARS + 1),
                "too long: 33 characters, at most 32",
            ),
            (String::new(), "the name is empty"),
            ("   ".into(), "the name is empty"),
            ("a\u{7}b".into(), "control characters"),
            ("line\nbreak".into(), "control characters"),
            (" ada".into(), "starts or ends with spaces"),
            ("ada ".into(), "starts or ends with spaces"),
        ];
        for (name, expected) in cases {
            let hello = json!({ "type": "hello", "user": name }).to_string();
            let why = refused(&mut room, 2, &hello);
            assert!(why.contains(expected), "{name:?}: {why}");
            let chat = json!({ "user": name, "text": "hi" }).to_string();
            let why = refused(&mut room, 2, &chat);
            assert!(why.contains(expected), "{name:?}: {why}");
        }
        assert_eq!(room.users().count(), 1);
    }

    #[test]
    fn unknown_fields_are_ignored_and_output_carries_only_the_protocol_fields() {
        let mut room = Room::new("lobby");
        hello(&mut room, 1, "ada");
        let out = send(
            &mut room,
            1,
            r#"{"user": "ada", "text": "hi", "ts": 1, "admin": true}"#,
        );
        assert_eq!(
            out,
            [(None, json!({ "user": "ada", "text": "hi", "ts": NOW }))]
        );
    }

    #[test]
    fn keys_are_sent_in_the_documented_order() {
        let mut room = Room::new("lobby");
        let out = room.receive(1, r#"{"type": "hello", "user": "ada"}"#, NOW);
        assert_eq!(
            out,
            [
                Out::To(
                    1,
                    r#"{"type":"welcome","room":"lobby","user":"ada","users":["ada"]}"#.into()
                ),
                Out::All(r#"{"type":"join","user":"ada","ts":1700000000123}"#.into()),
            ]
        );
        let out = room.receive(1, r#"{"text": "hi", "user": "ada"}"#, NOW);
        assert_eq!(
            out,
            [Out::All(
                r#"{"user":"ada","text":"hi","ts":1700000000123}"#.into()
            )]
        );
        assert_eq!(
            room.receive(1, "[]", NOW),
            [Out::To(
                1,
                r#"{"type":"error","error":"expected a JSON object such as {\"user\": \"ada\", \"text\": \"hi\"}"}"#
                    .into()
            )]
        );
    }

    #[test]
    fn the_room_comes_from_the_query_or_is_the_default() {
        assert_eq!(room_name(None), Ok(DEFAULT_ROOM));
        assert_eq!(room_name(Some("")), Ok(DEFAULT_ROOM));
        assert_eq!(room_name(Some("x=1&other=2")), Ok(DEFAULT_ROOM));
        assert_eq!(room_name(Some("room=rust")), Ok("rust"));
        assert_eq!(room_name(Some("a=b&room=Team-7_x.y")), Ok("Team-7_x.y"));
        let longest = "r".repeat(MAX_ROOM_BYTES);
        assert_eq!(room_name(Some(&format!("room={longest}"))), Ok(&*longest));
        for bad in [
            "room=",
            "room",
            "room=a%20b",
            "room=a+b",
            "room=caf\u{e9}",
            "room=a/b",
            &format!("room={longest}r"),
        ] {
            let why = room_name(Some(bad)).unwrap_err();
            assert!(why.contains("1 to 32 letters"), "{bad}: {why}");
        }
    }

    #[test]
    fn the_welcome_names_the_room() {
        let mut room = Room::new("rust");
        let out = hello(&mut room, 1, "ada");
        assert_eq!(out[0].1["room"], "rust");
        assert!(!room.is_empty());
        room.leave(1, NOW);
        assert!(room.is_empty());
    }

    #[test]
    fn text_and_names_are_escaped_in_the_json_sent() {
        let mut room = Room::new("lobby");
        let name = "a\"b\\c";
        hello(&mut room, 1, name);
        let text = "quote \" backslash \\ newline \n </script>";
        let out = room.receive(1, &json!({ "user": name, "text": text }).to_string(), NOW);
        let Out::All(raw) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(json(raw)["text"], text);
        assert_eq!(json(raw)["user"], name);
    }
}
