//! Property tests of the proxy machines: any split of a valid reply gives the same result,
//! and no input makes them panic or keep more than `MAX_REPLY` bytes.

use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;

fn urls() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("http://p"),
        Just("http://u:p@p"),
        Just("socks5://p"),
        Just("socks5h://u:p@p"),
    ]
}

/// Feeds `input` in chunks at `cuts`; the first result that is not `NeedMore`.
fn feed(url: &str, input: &[u8], cuts: &[usize]) -> Result<Progress, ProxyError> {
    let proxy = ProxyUrl::parse(url).unwrap();
    let mut h = ProxyHandshake::new(&proxy, Target::Name("target".into()), 80).unwrap();
    let mut out = Vec::new();
    h.poll_transmit(&mut out);
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut start = 0;
    for cut in cuts {
        let result = h.receive_data(&input[start..cut]);
        start = cut;
        h.poll_transmit(&mut out);
        assert!(h.input.len() <= MAX_REPLY + input.len());
        match result {
            Ok(Progress::NeedMore) => {}
            done => return done,
        }
    }
    Ok(Progress::NeedMore)
}

proptest! {
    #[test]
    fn valid_replies_give_the_same_result_for_any_split(
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        tail in proptest::collection::vec(any::<u8>(), 0..32),
        socks in any::<bool>(),
    ) {
        let (url, mut reply): (&str, Vec<u8>) = if socks {
            ("socks5h://u:p@p", alloc::vec![5, 2, 1, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 80])
        } else {
            ("http://p", b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\n".to_vec())
        };
        reply.extend_from_slice(&tail);
        // The tunnel's bytes that arrive with the reply's last chunk are handed out (the
        // rest would be read through the tunnel).
        let result = feed(url, &reply, &cuts);
        let Ok(Progress::Ready(after)) = result else { panic!("{result:?}") };
        prop_assert!(tail.starts_with(&after));
    }

    #[test]
    fn garbage_never_panics_and_stays_bounded(
        url in urls(),
        input in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let _ = feed(url, &input, &cuts);
    }

    #[test]
    fn printable_garbage_never_panics(
        url in urls(),
        input in "[ -~\r\n]{0,512}",
        cuts in proptest::collection::vec(any::<usize>(), 0..4),
    ) {
        let mut bytes = b"HTTP/1.1 ".to_vec();
        bytes.extend_from_slice(input.as_bytes());
        let _ = feed(url, &bytes, &cuts);
    }
}
