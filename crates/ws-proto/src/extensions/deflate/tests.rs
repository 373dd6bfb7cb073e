//! Tests by RFC 7692 section.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use super::codec::{Deflater, Inflater, TRAILER};
use super::*;
use crate::handshake::{parse_extensions, ExtensionOffer};
use crate::HandshakeError;

fn elements(header: &str) -> Vec<ExtensionOffer> {
    parse_extensions([header.as_bytes()]).unwrap()
}

fn inflate_all(inflater: &mut Inflater, compressed: &[u8]) -> Vec<u8> {
    let mut input = Vec::from(compressed);
    input.extend_from_slice(&TRAILER);
    let mut rest = &input[..];
    let mut out = Vec::new();
    loop {
        let mut buf = [0u8; 64];
        let (consumed, produced) = inflater.step(rest, &mut buf).unwrap();
        out.extend_from_slice(&buf[..produced]);
        rest = &rest[consumed..];
        if rest.is_empty() && produced < buf.len() {
            break;
        }
    }
    inflater.end_message();
    out
}

mod section_5_negotiation {
    use super::*;

    #[test]
    fn default_client_offer_is_what_browsers_send() {
        let config = DeflateConfig::default();
        assert_eq!(
            config.offers(),
            [
                ExtensionOffer::new("permessage-deflate")
                    .with_param("client_max_window_bits", None)
            ]
        );
        let mut disabled = config.clone();
        disabled.enabled = false;
        assert!(disabled.offers().is_empty());
        assert_eq!(
            disabled.accept_offers(&elements("permessage-deflate")),
            None
        );
    }

    #[test]
    fn server_accepts_the_first_valid_acceptable_offer() {
        let config = DeflateConfig::preset(DeflatePreset::Full);
        let offers = elements(
            "x-other, permessage-deflate; bogus, permessage-deflate; server_max_window_bits=08, \
             permessage-deflate; server_no_context_takeover; server_no_context_takeover, \
             permessage-deflate; client_max_window_bits; server_max_window_bits=10, \
             permessage-deflate",
        );
        let params = config.accept_offers(&offers).unwrap();
        assert_eq!(
            params.to_extension().to_string(),
            "permessage-deflate; server_max_window_bits=10"
        );
        assert_eq!(config.accept_offers(&elements("x-other")), None);
    }

    #[test]
    fn server_policy_is_applied() {
        let mut config = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 12,
            client_max_window_bits: 11,
            ..DeflateConfig::default()
        };
        let answer = |offer: &str| {
            config
                .accept_offers(&elements(offer))
                .map(|p| p.to_extension().to_string())
        };
        assert_eq!(
            answer("permessage-deflate; client_max_window_bits").as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=12; client_max_window_bits=11"
            )
        );
        // Asked for less than the server's own limit: the smaller value.
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits=9; client_max_window_bits=10")
                .as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=9; client_max_window_bits=10"
            )
        );
        // Without client_max_window_bits in the offer, the server must not answer it.
        assert_eq!(
            answer("permessage-deflate").as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=12"
            )
        );
        config.require_client_max_window_bits = true;
        config.min_server_max_window_bits = 10;
        let answer = |offer: &str| config.accept_offers(&elements(offer));
        assert_eq!(answer("permessage-deflate"), None);
        assert_eq!(
            answer("permessage-deflate; client_max_window_bits; server_max_window_bits=9"),
            None
        );
        assert!(
            answer("permessage-deflate; client_max_window_bits; server_max_window_bits=10")
                .is_some()
        );
    }

    #[test]
    fn server_echoes_what_the_offer_requires() {
        let config = DeflateConfig::default();
        let params = config
            .accept_offers(&elements(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8; client_max_window_bits=9",
            ))
            .unwrap();
        assert!(params.server_no_context_takeover);
        assert_eq!(params.server_max_window_bits, Some(8));
        assert_eq!(params.client_max_window_bits, Some(9));
        // The client's hint is not turned into a requirement.
        assert!(!params.client_no_context_takeover);
    }
}

mod adapters {
    use super::*;
    use crate::handshake::{Limits, Request};

    fn request(extensions: &str) -> Request {
        let text = alloc::format!(
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Extensions: {extensions}\r\n\r\n"
        );
        crate::handshake::parse_websocket(text.as_bytes(), Limits::default())
            .unwrap()
            .complete()
            .unwrap()
            .0
    }

    #[test]
    fn negotiate_adds_the_answer_after_the_applications_extensions() {
        let request = request("x-foo, permessage-deflate; server_max_window_bits=10");
        let accept = request
            .accept()
            .extensions(vec![ExtensionOffer::new("x-foo")])
            .unwrap();
        let (accept, params) = DeflateConfig::default()
            .negotiate(&request, accept)
            .unwrap();
        assert_eq!(params.unwrap().server_max_window_bits, Some(10));
        assert_eq!(
            accept.selected_extensions(),
            [ExtensionOffer::new("x-foo"), params.unwrap().to_extension()]
        );
        // Declined: the accept is unchanged.
        let off = DeflateConfig {
            enabled: false,
            ..DeflateConfig::default()
        };
        let (accept, params) = off.negotiate(&request, request.accept()).unwrap();
        assert_eq!((params, accept.selected_extensions().len()), (None, 0));
    }

    #[test]
    fn negotiate_keeps_the_applications_own_answer() {
        let request = request("permessage-deflate; client_max_window_bits");
        let own = ExtensionOffer::new("permessage-deflate")
            .with_param("client_max_window_bits", Some("9"));
        let accept = request.accept().extensions(vec![own.clone()]).unwrap();
        let (accept, params) = DeflateConfig::default()
            .negotiate(&request, accept)
            .unwrap();
        assert_eq!(params.unwrap().client_max_window_bits, Some(9));
        assert_eq!(accept.selected_extensions(), [own]);
        // An invalid answer of its own is the application's error (answered with 500).
        let bad =
            ExtensionOffer::new("permessage-deflate").with_param("client_max_window_bits", None);
        let accept = request.accept().extensions(vec![bad]).unwrap();
        let error = DeflateConfig::default()
            .negotiate(&request, accept)
            .unwrap_err();
        assert!(matches!(error, HandshakeError::InvalidArgument(_)));
        assert_eq!(error.http_status(), 500);
    }
}

mod section_7_1_parameters {
    use super::*;

    fn offer(s: &str) -> Result<DeflateOffer, &'static str> {
        DeflateOffer::parse(&elements(s)[0])
    }

    #[test]
    fn every_combination_of_offer_parameters_round_trips() {
        for mask in 0..16u8 {
            for server_bits in [None, Some(8), Some(9), Some(15)] {
                for client_bits in [
                    ClientMaxWindowBits::Absent,
                    ClientMaxWindowBits::NoValue,
                    ClientMaxWindowBits::Value(8),
                    ClientMaxWindowBits::Value(12),
                ] {
                    let o = DeflateOffer {
                        server_no_context_takeover: mask & 1 != 0,
                        client_no_context_takeover: mask & 2 != 0,
                        server_max_window_bits: server_bits,
                        client_max_window_bits: client_bits,
                    };
                    let text = o.to_extension().to_string();
                    assert_eq!(offer(&text), Ok(o), "{text}");
                }
            }
        }
    }

    #[test]
    fn invalid_offers_are_refused() {
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=\"x\"",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; server_max_window_bits=+9",
            "permessage-deflate; client_max_window_bits=1a",
            "permessage-deflate; client_max_window_bits=255",
            "permessage-deflate; client_max_window_bits; client_max_window_bits",
            "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "x-deflate",
        ] {
            assert!(offer(bad).is_err(), "{bad} should be refused");
        }
        // Quoted values unquote to the same token (RFC 6455 section 9.1).
        assert_eq!(
            offer("permessage-deflate; server_max_window_bits=\"10\"")
                .unwrap()
                .server_max_window_bits,
            Some(10)
        );
    }

    fn client(offers: &[&str]) -> DeflateConfig {
        DeflateConfig {
            offers: offers.iter().map(|o| offer(o).unwrap()).collect(),
            ..DeflateConfig::default()
        }
    }

    fn agreed(
        config: &DeflateConfig,
        response: &str,
    ) -> Result<Option<DeflateParams>, HandshakeError> {
        config.client_agreed(&elements(response))
    }

    #[test]
    fn client_accepts_valid_responses() {
        let config = client(&["permessage-deflate; client_max_window_bits"]);
        assert_eq!(agreed(&config, "x-other"), Ok(None));
        let p = agreed(&config, "permessage-deflate").unwrap().unwrap();
        assert_eq!(p, DeflateParams::default());
        let p = agreed(
            &config,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=8; client_max_window_bits=9",
        )
        .unwrap()
        .unwrap();
        assert!(p.server_no_context_takeover && p.client_no_context_takeover);
        assert_eq!((p.server_window_bits(), p.client_window_bits()), (8, 9));
    }

    #[test]
    fn client_keeps_its_own_promises() {
        let config =
            client(&["permessage-deflate; client_no_context_takeover; client_max_window_bits=10"]);
        let p = agreed(&config, "permessage-deflate").unwrap().unwrap();
        assert!(p.client_no_context_takeover);
        assert_eq!(p.client_max_window_bits, Some(10));
        let p = agreed(&config, "permessage-deflate; client_max_window_bits=9")
            .unwrap()
            .unwrap();
        assert_eq!(p.client_max_window_bits, Some(9));
    }

    #[test]
    fn client_fails_invalid_responses() {
        let config = client(&[
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=12",
        ]);
        for bad in [
            // Unknown, repeated and out-of-range parameters.
            "permessage-deflate; server_max_window_bits=10; foo",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            // client_max_window_bits needs a value in a response.
            "permessage-deflate; server_no_context_takeover; client_max_window_bits",
            // Above the value offered (first offer) and not offered at all (first offer) or
            // above the offered client value (second offer).
            "permessage-deflate; server_max_window_bits=11",
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10",
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=13",
            // The second offer required server_no_context_takeover, the first a window limit.
            "permessage-deflate",
            // Answered twice.
            "permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=9",
        ] {
            assert!(
                matches!(agreed(&config, bad), Err(HandshakeError::Extension(_))),
                "{bad} should fail the connection"
            );
        }
        // The second offer answered correctly.
        let p = agreed(
            &config,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=11",
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.client_max_window_bits, Some(11));
        // Not offered at all.
        let mut none = config.clone();
        none.enabled = false;
        assert!(matches!(
            agreed(&none, "permessage-deflate"),
            Err(HandshakeError::Extension(_))
        ));
    }

    #[test]
    fn offers_with_bad_window_sizes_are_not_sent() {
        let mut config = DeflateConfig::default();
        config.offers[0].server_max_window_bits = Some(16);
        let handshake = crate::handshake::ClientRequest::from_parts("h", "/", [1; 16]).unwrap();
        assert!(matches!(
            config.offer(handshake),
            Err(HandshakeError::InvalidArgument(_))
        ));
    }
}

mod section_7_2_transformation {
    use super::*;

    fn compress(deflater: &mut Deflater, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        deflater.compress(data, true, &mut out);
        out
    }

    #[test]
    fn rfc_example_hello() {
        // 7.2.3.1: "Hello" compresses to f2 48 cd c9 c9 07 00.
        let mut d = Deflater::new(6, 15, false);
        assert_eq!(
            compress(&mut d, b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        // 7.2.3.2: with context takeover the second "Hello" refers to the first.
        assert_eq!(compress(&mut d, b"Hello"), [0xf2, 0x00, 0x11, 0x00, 0x00]);
        // Without it, each message starts afresh.
        let mut d = Deflater::new(6, 15, true);
        for _ in 0..3 {
            assert_eq!(
                compress(&mut d, b"Hello"),
                [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
            );
            assert!(!d.is_allocated());
        }
    }

    #[test]
    fn rfc_examples_inflate() {
        let mut i = Inflater::new(15, false);
        assert_eq!(
            inflate_all(&mut i, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
            b"Hello"
        );
        assert_eq!(
            inflate_all(&mut i, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
            b"Hello"
        );
        // 7.2.3.3: a stored block.
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(inflate_all(&mut i, &stored), b"Hello");
        // 7.2.3.5: a final block; the next message starts a new stream.
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate_all(&mut i, &bfinal), b"Hello");
        assert!(!i.is_allocated());
        assert_eq!(inflate_all(&mut i, &bfinal), b"Hello");
        assert_eq!(
            inflate_all(&mut i, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
            b"Hello"
        );
    }

    #[test]
    fn empty_message_is_one_octet() {
        // 7.2.3.6: "an empty message ... 0x00".
        let mut d = Deflater::new(6, 15, true);
        assert_eq!(compress(&mut d, b""), [0x00]);
        let mut i = Inflater::new(15, false);
        assert_eq!(inflate_all(&mut i, &[0x00]), b"");
    }

    /// Found while adding the deflate fuzz targets (the chunking proptest failed on it):
    /// with context takeover, a sync flush with nothing new to flush writes nothing, so an
    /// empty message after another one, or an empty last fragment, came out with no block at
    /// all, and the peer read the trailer it appends as the start of a stored block.
    #[test]
    fn empty_message_or_last_fragment_after_earlier_output_is_one_octet() {
        let mut d = Deflater::new(6, 15, false);
        let mut i = Inflater::new(15, false);
        let first = compress(&mut d, b"a");
        assert_eq!(inflate_all(&mut i, &first), b"a");
        assert_eq!(compress(&mut d, b""), [0x00]);
        assert_eq!(inflate_all(&mut i, &[0x00]), b"");
        let mut out = Vec::new();
        d.compress(b"Hel", false, &mut out);
        d.compress(b"", true, &mut out);
        assert_eq!(out.last(), Some(&0x00));
        assert_eq!(inflate_all(&mut i, &out), b"Hel");
        let next = compress(&mut d, "é".as_bytes());
        assert_eq!(inflate_all(&mut i, &next), "é".as_bytes());
    }

    #[test]
    fn fragments_form_one_stream() {
        let mut d = Deflater::new(6, 15, false);
        let mut out = Vec::new();
        d.compress(b"Hel", false, &mut out);
        assert!(out.ends_with(&TRAILER), "a non-final piece keeps its flush");
        d.compress(b"lo", true, &mut out);
        let mut i = Inflater::new(15, false);
        assert_eq!(inflate_all(&mut i, &out), b"Hello");
    }

    use super::super::window_check::within_window as inflates_with_window;

    #[test]
    fn every_window_size_is_honoured() {
        // Text with repeats at every distance up to 32 KiB.
        let mut text = Vec::new();
        let mut x = 1u32;
        while text.len() < 100_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let word = ["alpha ", "beta ", "gamma ", "delta\n", "epsilon "][(x >> 16) as usize % 5];
            text.extend_from_slice(word.as_bytes());
            text.extend_from_slice(&(x % 4096).to_le_bytes()[..2]);
        }
        for bits in 8..=15u8 {
            let mut d = Deflater::new(9, bits, false);
            let out = compress(&mut d, &text);
            assert!(out.len() < text.len(), "window {bits} still compresses");
            assert!(
                inflates_with_window(&out, bits, &text),
                "window {bits} is honoured"
            );
            let mut i = Inflater::new(bits, false);
            assert_eq!(inflate_all(&mut i, &out), text);
        }
        // And a 2^15 window is really used when agreed (the check above is meaningful).
        let mut d = Deflater::new(9, 15, false);
        assert!(!inflates_with_window(&compress(&mut d, &text), 9, &text));
    }
}

/// The inflater holds the peer to the agreed window (RFC 7692 section 7.1.2), on streams made
/// by hand: fixed-Huffman blocks of literals and one match at a chosen distance.
mod window_enforcement {
    use super::*;

    /// Writes DEFLATE bits (RFC 1951 section 3.1.1: Huffman codes most significant bit
    /// first, other values least significant bit first).
    #[derive(Default)]
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }

    impl Bits {
        fn value(&mut self, value: u32, bits: u32) {
            for i in 0..bits {
                self.acc |= ((value >> i) & 1) << self.n;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(self.acc as u8);
                    (self.acc, self.n) = (0, 0);
                }
            }
        }

        fn code(&mut self, code: u32, bits: u32) {
            let reversed = code.reverse_bits() >> (32 - bits);
            self.value(reversed, bits);
        }

        /// A fixed-Huffman literal/length symbol (RFC 1951 section 3.2.6).
        fn symbol(&mut self, sym: u32) {
            match sym {
                0..=143 => self.code(0x30 + sym, 8),
                144..=255 => self.code(0x190 + sym - 144, 9),
                256..=279 => self.code(sym - 256, 7),
                _ => self.code(0xc0 + sym - 280, 8),
            }
        }

        /// A match of length 3 at `dist` (1..=32768).
        fn match3(&mut self, dist: u32) {
            self.symbol(257);
            if dist <= 4 {
                self.code(dist - 1, 5);
                return;
            }
            let d = dist - 1;
            let extra = 31 - d.leading_zeros() - 1;
            self.code(2 * (extra + 1) + ((d >> extra) & 1), 5);
            self.value(d & ((1 << extra) - 1), extra);
        }

        /// Starts a fixed-Huffman block that is not final.
        fn fixed_block(&mut self) {
            self.value(0, 1);
            self.value(1, 2);
        }

        /// Ends the block and the message as RFC 7692 sends it: a sync flush (an empty
        /// stored block), its 4 trailing octets removed.
        fn finish(mut self) -> Vec<u8> {
            self.symbol(256);
            self.value(0, 3);
            if self.n > 0 {
                self.value(0, 8 - self.n);
            }
            self.out
        }
    }

    fn literals(n: usize) -> Vec<u8> {
        (0..n).map(|i| b'a' + (i % 23) as u8).collect()
    }

    /// `n` literals, then a match at `dist`: the message and what it inflates to.
    fn message(n: usize, dist: usize) -> (Vec<u8>, Vec<u8>) {
        let mut bits = Bits::default();
        bits.fixed_block();
        let data = literals(n);
        for &b in &data {
            bits.symbol(u32::from(b));
        }
        bits.match3(dist as u32);
        let mut expected = data.clone();
        // (Nothing sensible for a distance before the start: such a stream must fail.)
        for _ in 0..3 {
            let from = expected.len().saturating_sub(dist);
            expected.push(expected.get(from).copied().unwrap_or(0));
        }
        (bits.finish(), expected)
    }

    fn inflate(inflater: &mut Inflater, compressed: &[u8], out: usize) -> Result<Vec<u8>, ()> {
        let mut input = Vec::from(compressed);
        input.extend_from_slice(&TRAILER);
        let mut rest = &input[..];
        let mut result = Vec::new();
        loop {
            let mut buf = vec![0u8; out];
            let (consumed, produced) = inflater.step(rest, &mut buf).map_err(|_| ())?;
            result.extend_from_slice(&buf[..produced]);
            rest = &rest[consumed..];
            if rest.is_empty() && produced < buf.len() && !inflater.failed() {
                inflater.end_message();
                return Ok(result);
            }
        }
    }

    #[test]
    fn the_hand_made_stream_is_valid_deflate() {
        let (compressed, expected) = message(40, 23);
        assert!(window_check::within_window(&compressed, 15, &expected));
    }

    #[test]
    fn a_reference_beyond_the_window_fails_and_one_at_its_edge_passes() {
        for bits in 9..=15u8 {
            let window = 1usize << bits;
            // Within one message, whatever the size of the caller's output pieces.
            for out in [7, 1000, 70_000] {
                let (ok, expected) = message(window + 10, window);
                let mut i = Inflater::new(bits, false);
                assert_eq!(inflate(&mut i, &ok, out), Ok(expected), "{bits} {out}");
                let (bad, _) = message(window + 10, window + 1);
                let mut i = Inflater::new(bits, false);
                assert_eq!(inflate(&mut i, &bad, out), Err(()), "{bits} {out}");
            }
        }
    }

    #[test]
    fn a_reference_before_the_start_of_the_stream_fails() {
        for bits in [9u8, 12, 15] {
            let (bad, _) = message(100, 101);
            let mut i = Inflater::new(bits, false);
            assert_eq!(inflate(&mut i, &bad, 64), Err(()));
            let (ok, expected) = message(100, 100);
            let mut i = Inflater::new(bits, false);
            assert_eq!(inflate(&mut i, &ok, 64), Ok(expected));
        }
    }

    /// With context takeover the window spans messages: a match in the second message may
    /// reach into the first, up to the window and no further.
    #[test]
    fn the_window_spans_messages_with_context_takeover() {
        for bits in [9u8, 10, 15] {
            let window = 1usize << bits;
            let (first, first_data) = message(window, 1);
            let mut second = Bits::default();
            second.fixed_block();
            second.symbol(u32::from(b'z'));
            second.match3(window as u32);
            let second = second.finish();
            let mut i = Inflater::new(bits, false);
            inflate(&mut i, &first, 4096).unwrap();
            let got = inflate(&mut i, &second, 4096).unwrap();
            let mut all = first_data.clone();
            all.push(b'z');
            for _ in 0..3 {
                all.push(all[all.len() - window]);
            }
            assert_eq!(got, all[first_data.len()..], "{bits}");

            let mut beyond = Bits::default();
            beyond.fixed_block();
            beyond.match3(window as u32 + 1);
            let mut i = Inflater::new(bits, false);
            inflate(&mut i, &first, 4096).unwrap();
            assert_eq!(inflate(&mut i, &beyond.finish(), 4096), Err(()), "{bits}");
            // Without context takeover the second message starts with an empty window.
            let mut i = Inflater::new(bits, true);
            inflate(&mut i, &first, 4096).unwrap();
            let (near, _) = message(0, 1);
            assert_eq!(inflate(&mut i, &near, 4096), Err(()), "{bits}");
        }
    }

    /// A peer that agreed to 2^8 is read with a 2^9 window (zlib cannot make 2^8): 512 back
    /// passes, 513 fails.
    #[test]
    fn window_8_is_read_as_9() {
        let mut i = Inflater::new(8, false);
        let (ok, expected) = message(600, 512);
        assert_eq!(inflate(&mut i, &ok, 100), Ok(expected));
        let mut i = Inflater::new(8, false);
        let (bad, _) = message(600, 513);
        assert_eq!(inflate(&mut i, &bad, 100), Err(()));
    }

    /// Streams without context takeover go back to the process-wide pool after each message and
    /// are reused, reset; the pool keeps a bounded number.
    #[test]
    fn pooled_state_is_reused_and_bounded() {
        let mut inflaters: Vec<Inflater> = (0..10).map(|_| Inflater::new(11, true)).collect();
        let (msg, expected) = message(50, 20);
        for i in &mut inflaters {
            i.step(&msg, &mut [0u8; 8]).unwrap();
        }
        for i in &mut inflaters {
            assert_eq!(inflate(i, &msg[..0], 100).map(|_| ()), Ok(()));
            assert!(!i.is_allocated());
        }
        assert!(super::super::state_pool::idle().1 <= super::super::state_pool::MAX_IDLE);
        for i in &mut inflaters {
            assert_eq!(inflate(i, &msg, 100), Ok(expected.clone()));
        }
        let mut d = Deflater::new(6, 15, true);
        let mut out = Vec::new();
        d.compress(b"Hello", true, &mut out);
        assert!(!d.is_allocated());
        assert!(super::super::state_pool::idle().0 <= super::super::state_pool::MAX_IDLE);
    }
}

mod presets {
    use super::*;
    use alloc::string::String;

    fn answer(preset: DeflatePreset, offer: &str) -> Option<String> {
        DeflateConfig::preset(preset)
            .accept_offers(&elements(offer))
            .map(|p| p.to_extension().to_string())
    }

    const BROWSER: &str = "permessage-deflate; client_max_window_bits";

    #[test]
    fn each_preset_answers_a_browser_offer() {
        assert_eq!(answer(DeflatePreset::Off, BROWSER), None);
        assert_eq!(
            answer(DeflatePreset::Shared, BROWSER).as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        assert_eq!(
            answer(DeflatePreset::Balanced, BROWSER).as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_max_window_bits=12")
        );
        assert_eq!(
            answer(DeflatePreset::SmallWindows, BROWSER).as_deref(),
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
        );
        assert_eq!(
            answer(DeflatePreset::Full, BROWSER).as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            DeflateConfig::default(),
            DeflateConfig::preset(DeflatePreset::Balanced)
        );
    }

    /// Section 7.1.2.2: `client_max_window_bits` is answered only when offered, and never
    /// above a value the client offered; the server adds the no-context-takeover parameters
    /// on its own (sections 7.1.1.1 and 7.1.1.2).
    #[test]
    fn client_max_window_bits_is_answered_only_when_offered() {
        for preset in [DeflatePreset::Balanced, DeflatePreset::SmallWindows] {
            let plain = answer(preset, "permessage-deflate").unwrap();
            assert!(!plain.contains("client_max_window_bits"), "{plain}");
            let lower = answer(preset, "permessage-deflate; client_max_window_bits=10").unwrap();
            assert!(lower.ends_with("client_max_window_bits=10"), "{lower}");
        }
        // Every answer is one the client accepts as answering its offer.
        for preset in [
            DeflatePreset::Shared,
            DeflatePreset::Balanced,
            DeflatePreset::SmallWindows,
            DeflatePreset::Full,
        ] {
            for offer in [
                BROWSER,
                "permessage-deflate",
                "permessage-deflate; server_max_window_bits=9; client_max_window_bits=11",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            ] {
                let params = DeflateConfig::preset(preset)
                    .accept_offers(&elements(offer))
                    .unwrap();
                let offered = DeflateOffer::parse(&elements(offer)[0]).unwrap();
                assert!(params.answers(&offered), "{preset:?} {offer}");
            }
        }
    }

    #[test]
    fn each_preset_offers_as_a_client() {
        let offers = |p| {
            DeflateConfig::preset(p)
                .offers()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert!(offers(DeflatePreset::Off).is_empty());
        assert_eq!(
            offers(DeflatePreset::Shared),
            [
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
              client_max_window_bits"
            ]
        );
        assert_eq!(offers(DeflatePreset::Balanced), [BROWSER]);
        assert_eq!(
            offers(DeflatePreset::SmallWindows),
            ["permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"]
        );
        assert_eq!(offers(DeflatePreset::Full), [BROWSER]);
    }
}

/// State follows the data: after a compressed message each way, a connection holds only the
/// state its direction keeps by context takeover, per preset.
mod state_follows_the_data {
    use super::*;
    use crate::handshake::{HttpRequest, Limits};
    use crate::{Config, Connection, Event, Instant, Message};

    fn agreed(preset: DeflatePreset) -> DeflateParams {
        let request = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
            Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
        let (head, _) = HttpRequest::parse(request, Limits::default())
            .unwrap()
            .complete()
            .unwrap();
        let request = head.into_websocket().unwrap();
        let config = DeflateConfig::preset(preset);
        config
            .negotiate(&request, request.accept())
            .unwrap()
            .1
            .unwrap()
    }

    #[test]
    fn an_idle_connection_holds_what_its_preset_keeps() {
        let text = "{\"type\":\"message\",\"text\":\"hello hello hello hello\"}".repeat(20);
        for (preset, server_holds, client_holds) in [
            (DeflatePreset::Shared, (false, false), (false, false)),
            (DeflatePreset::Balanced, (false, true), (true, false)),
            (DeflatePreset::SmallWindows, (true, true), (true, true)),
            (DeflatePreset::Full, (true, true), (true, true)),
        ] {
            let params = agreed(preset);
            let mut server =
                Connection::server(Config::default(), Instant::ZERO).with_deflate(params);
            let mut client = Connection::client(Config::default(), || [1, 2, 3, 4], Instant::ZERO)
                .with_deflate(params);
            assert_eq!(
                server.deflate_allocated(),
                Some((false, false)),
                "{preset:?}"
            );
            let mut wire = Vec::new();
            client.send_text(&text).unwrap();
            while client.poll_transmit(&mut wire).is_some() {}
            server.receive_data(&wire, Instant::ZERO).unwrap();
            let Some(Event::Message(m)) = server.poll_event() else {
                panic!("{preset:?}: no message");
            };
            assert_eq!(m, Message::Text(text.clone()));
            server.send(m).unwrap();
            wire.clear();
            while server.poll_transmit(&mut wire).is_some() {}
            assert!(wire.len() < text.len() / 2, "{preset:?}: compressed");
            client.receive_data(&wire, Instant::ZERO).unwrap();
            assert_eq!(
                client.poll_event(),
                Some(Event::Message(Message::Text(text.clone())))
            );
            assert_eq!(server.deflate_allocated(), Some(server_holds), "{preset:?}");
            assert_eq!(client.deflate_allocated(), Some(client_holds), "{preset:?}");
        }
    }
}
