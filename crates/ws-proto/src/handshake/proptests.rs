//! Property tests: the client and server halves agree with each other, and the parsers never
//! panic and answer consistently however the input is cut.

use alloc::string::String;
use alloc::vec::Vec;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::{parse_websocket, ClientRequest, ExtensionOffer, Limits, Status, Url};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn extension_offer() -> impl Strategy<Value = ExtensionOffer> {
    (token(), vec((token(), option::of(token())), 0..4))
        .prop_map(|(name, params)| ExtensionOffer { name, params })
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,10}){0,3}",
        Just(String::from("[::1]")),
        Just(String::from("[2001:db8::7]")),
        "(25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})\\.[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
    ]
}

/// A URL with an arbitrary host, port, path and query made of characters a URL may hold.
fn url() -> impl Strategy<Value = Url> {
    (
        any::<bool>(),
        host(),
        option::of(1u16..),
        "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,10}){0,4}",
        option::of("[A-Za-z0-9._~%!$&'()*+,;=:@/?-]{0,20}"),
    )
        .prop_map(|(secure, host, port, path, query)| {
            let scheme = if secure { "wss" } else { "ws" };
            let port = port.map(|p| alloc::format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| alloc::format!("?{q}")).unwrap_or_default();
            let text = alloc::format!("{scheme}://{host}{port}{path}{query}");
            Url::parse(&text).unwrap()
        })
}

prop_compose! {
    fn client()(
        url in url(),
        nonce in any::<[u8; 16]>(),
        origin in option::of("[ -~]{0,30}"),
        protocols in proptest::sample::subsequence(
            alloc::vec!["chat", "superchat", "v1.json", "mqtt", "wamp.2.msgpack"], 0..=5),
        extensions in vec(extension_offer(), 0..4),
        headers in vec(("X-[A-Za-z0-9-]{1,10}", "[ -~\t]{0,30}"), 0..4),
    ) -> ClientRequest {
        let mut client = ClientRequest::new(&url, nonce);
        if let Some(origin) = origin {
            client = client.origin(&origin).unwrap();
        }
        for protocol in protocols {
            client = client.protocol(protocol).unwrap();
        }
        for extension in extensions {
            client = client.extension(extension).unwrap();
        }
        for (name, value) in headers {
            client = client.header(&name, &value).unwrap();
        }
        client
    }
}

fn complete<T>(status: Status<T>) -> T {
    match status {
        Status::Complete(value) => value,
        Status::Partial => panic!("expected a complete header block"),
    }
}

proptest! {
    #[test]
    fn client_request_parses_on_the_server(client in client(), trailing in vec(any::<u8>(), 0..16)) {
        let mut bytes = Vec::new();
        client.write_request(&mut bytes);
        let request_len = bytes.len();
        bytes.extend_from_slice(&trailing);

        let (request, consumed) = complete(parse_websocket(&bytes, Limits::default()).unwrap());
        prop_assert_eq!(consumed, request_len);
        prop_assert_eq!(request.key(), client.key());
        prop_assert_eq!(request.protocols(), client.offered_protocols());
        prop_assert_eq!(request.extensions(), client.offered_extensions());
        // Every byte before `consumed` is part of the header block.
        prop_assert_eq!(parse_websocket(&bytes[..request_len - 1], Limits::default()), Ok(Status::Partial));
    }

    #[test]
    fn request_keeps_the_url(url in url(), nonce in any::<[u8; 16]>()) {
        let mut bytes = Vec::new();
        ClientRequest::new(&url, nonce).write_request(&mut bytes);
        let (request, _) = complete(parse_websocket(&bytes, Limits::default()).unwrap());
        prop_assert_eq!(request.resource(), url.path_and_query());
        prop_assert_eq!(request.host(), url.host_header());
        let (path, query) = match url.path_and_query().split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (url.path_and_query(), None),
        };
        prop_assert_eq!(request.path(), path);
        prop_assert_eq!(request.query(), query);
        // The URL survives printing and parsing.
        prop_assert_eq!(Url::parse(&alloc::format!("{url}")).unwrap(), url);
    }

    #[test]
    fn server_101_validates_on_the_client(
        client in client(),
        pick_protocol in any::<prop::sample::Index>(),
        take_protocol in any::<bool>(),
        pick_extensions in vec(any::<prop::sample::Index>(), 0..3),
        frames in vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = Vec::new();
        client.write_request(&mut bytes);
        let (request, _) = complete(parse_websocket(&bytes, Limits::default()).unwrap());

        let mut accept = request.accept();
        let offered = request.protocols();
        let protocol = (take_protocol && !offered.is_empty())
            .then(|| offered[pick_protocol.index(offered.len())].clone());
        if let Some(protocol) = &protocol {
            accept = accept.protocol(protocol).unwrap();
        }
        let agreed: Vec<ExtensionOffer> = if request.extensions().is_empty() {
            Vec::new()
        } else {
            pick_extensions
                .iter()
                .map(|i| request.extensions()[i.index(request.extensions().len())].clone())
                .collect()
        };
        accept = accept.extensions(agreed.clone()).unwrap();

        let mut response_bytes = Vec::new();
        accept.write_response(&mut response_bytes);
        let head_len = response_bytes.len();
        response_bytes.extend_from_slice(&frames);

        let (response, consumed) =
            complete(client.parse_response(&response_bytes, Limits::default()).unwrap());
        prop_assert_eq!(consumed, head_len);
        prop_assert_eq!(response.status(), 101);
        prop_assert_eq!(response.protocol(), protocol.as_deref());
        prop_assert_eq!(response.extensions(), agreed.as_slice());
        prop_assert_eq!(&response_bytes[consumed..], frames.as_slice());
    }

    #[test]
    fn request_parse_never_panics_and_is_prefix_consistent(
        input in prop_oneof![
            vec(any::<u8>(), 0..256),
            // Mostly well-formed requests with random damage reach the validation code.
            (client(), vec((any::<prop::sample::Index>(), any::<u8>()), 0..3)).prop_map(
                |(client, damage)| {
                    let mut bytes = Vec::new();
                    client.write_request(&mut bytes);
                    for (at, byte) in damage {
                        let at = at.index(bytes.len());
                        bytes[at] = byte;
                    }
                    bytes
                }
            ),
        ],
        cut in any::<prop::sample::Index>(),
        max_header_bytes in prop_oneof![Just(16 * 1024), 0usize..300],
        max_headers in prop_oneof![Just(64), 0usize..12],
    ) {
        let limits = Limits::default()
            .with_max_header_bytes(max_header_bytes)
            .with_max_headers(max_headers);
        let cut = cut.index(input.len() + 1);
        let whole = parse_websocket(&input, limits);
        let prefix = parse_websocket(&input[..cut], limits);
        check_prefix_consistency(&whole, &prefix, cut)?;
    }

    #[test]
    fn response_parse_never_panics_and_is_prefix_consistent(
        client in client(),
        random in option::of(vec(any::<u8>(), 0..256)),
        damage in vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        cut in any::<prop::sample::Index>(),
        max_header_bytes in prop_oneof![Just(16 * 1024), 0usize..300],
        max_headers in prop_oneof![Just(64), 0usize..12],
    ) {
        // Either random bytes, or this client's valid 101 (agreeing to everything it offered)
        // with random damage, which reaches every validation step.
        let undamaged_101 = random.is_none() && damage.is_empty();
        let input = random.unwrap_or_else(|| {
            let mut request = Vec::new();
            client.write_request(&mut request);
            let (request, _) = complete(parse_websocket(&request, Limits::default()).unwrap());
            let mut accept = request.accept().extensions(request.extensions().to_vec()).unwrap();
            if let Some(protocol) = request.protocols().first() {
                accept = accept.protocol(protocol).unwrap();
            }
            let mut bytes = Vec::new();
            accept.write_response(&mut bytes);
            for (at, byte) in &damage {
                let at = at.index(bytes.len());
                bytes[at] = *byte;
            }
            bytes
        });
        let limits = Limits::default()
            .with_max_header_bytes(max_header_bytes)
            .with_max_headers(max_headers);
        let cut = cut.index(input.len() + 1);
        let whole = client.parse_response(&input, limits);
        let prefix = client.parse_response(&input[..cut], limits);
        check_prefix_consistency(&whole, &prefix, cut)?;
        if undamaged_101 && limits == Limits::default() {
            prop_assert!(matches!(whole, Ok(Status::Complete(_))), "{:?}", whole);
        }
    }
}

/// Parsing `input[..cut]` must agree with parsing all of `input`:
///
/// * an error on the prefix is the same error on the whole input (more bytes never repair a
///   broken header block);
/// * a complete result on the prefix is the same complete result on the whole input (bytes
///   after the header block are never looked at);
/// * a partial prefix means the whole input's header block, if complete, ends after the cut.
fn check_prefix_consistency<T: core::fmt::Debug + PartialEq>(
    whole: &Result<Status<(T, usize)>, crate::HandshakeError>,
    prefix: &Result<Status<(T, usize)>, crate::HandshakeError>,
    cut: usize,
) -> Result<(), TestCaseError> {
    match prefix {
        Err(error) => prop_assert_eq!(whole.as_ref().err(), Some(error)),
        Ok(Status::Complete((_, consumed))) => {
            prop_assert!(*consumed <= cut);
            prop_assert_eq!(whole, prefix);
        }
        Ok(Status::Partial) => {
            if let Ok(Status::Complete((_, consumed))) = whole {
                prop_assert!(*consumed > cut);
            }
        }
    }
    if let Ok(Status::Complete((_, consumed))) = whole {
        prop_assert!(*consumed > 0);
    }
    Ok(())
}
