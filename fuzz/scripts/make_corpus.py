#!/usr/bin/env python3
"""Writes the committed seed corpus under fuzz/corpus/<target>/.

Seeds are meaningful inputs: the frames of RFC 6455 section 5.7, the handshake of section 1.3
and its common variants, and a few protocol violations, each wrapped in the small prefix the
target reads first (see the doc comment at the top of each fuzz_targets/*.rs). The structured
targets (frame_roundtrip, connection_pair) decode their input with `arbitrary`; their seeds are
deterministic pseudo-random blobs of a few sizes, which libFuzzer grows from.

Run from anywhere: python3 fuzz/scripts/make_corpus.py
"""
import os
import random
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # the masking key of RFC 6455 section 5.7


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame(opcode, payload, fin=True, mask=None, rsv=0, length=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n <= 0xFFFF:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


# ----- connection_bytes: [flags, limit, seed_len, seed..., wire...] -------------------------
# flags: bit 0 client role, bit 1 stream mode, bit 2 small limits, bit 3 auto-pong off.
def frames_for(client_role):
    """Frames a peer sends: masked to a server, unmasked to a client."""
    m = None if client_role else KEY
    return {
        "text_hello": frame(0x1, b"Hello", mask=m),
        "fragmented_text": frame(0x1, b"Hel", fin=False, mask=m) + frame(0x0, b"lo", mask=m),
        "ping_hello": frame(0x9, b"Hello", mask=m),
        "pong_hello": frame(0xA, b"Hello", mask=m),
        "binary_256": frame(0x2, bytes(range(256)), mask=m),
        "binary_64k_header": frame(0x2, b"\x00" * 16, mask=m, length=65536),
        "close_1000": frame(0x8, close_payload(1000, b"bye"), mask=m),
        "close_empty": frame(0x8, b"", mask=m),
        "close_1005_invalid": frame(0x8, close_payload(1005), mask=m),
        "close_one_byte": frame(0x8, b"\x03", mask=m),
        "ping_between_fragments": frame(0x1, b"Hel", fin=False, mask=m)
        + frame(0x9, b"x", mask=m)
        + frame(0x0, b"lo", mask=m),
        "utf8_split_across_fragments": frame(0x1, "κό".encode()[:3], fin=False, mask=m)
        + frame(0x0, "κό".encode()[3:], mask=m),
        "invalid_utf8": frame(0x1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", mask=m),
        "length_2_63": frame(0x2, b"", mask=m, length=1 << 63),
        "reserved_opcode": frame(0x3, b"", mask=m),
        "rsv1_set": frame(0x1, b"Hello", mask=m, rsv=4),
        "continuation_first": frame(0x0, b"lo", mask=m),
        "control_too_long": frame(0x9, b"x" * 126, mask=m),
        "fragmented_ping": frame(0x9, b"x", fin=False, mask=m),
        "wrong_masking": frame(0x1, b"Hello", mask=(KEY if client_role else None)),
        "messages_then_close": frame(0x1, b"a", mask=m)
        + frame(0x2, b"b", mask=m)
        + frame(0x8, close_payload(1001), mask=m)
        + frame(0x1, b"after close", mask=m),
    }


for role, role_flag in (("server", 0), ("client", 1)):
    for name, wire in frames_for(role == "client").items():
        write("connection_bytes", f"{role}_{name}", bytes([role_flag, 0, 0]) + wire)
    # A few with stream mode, small limits and chunking.
    f = frames_for(role == "client")
    write("connection_bytes", f"{role}_stream_fragmented", bytes([role_flag | 2, 0, 0]) + f["fragmented_text"])
    write("connection_bytes", f"{role}_small_limit_256", bytes([role_flag | 4, 16, 0]) + f["binary_256"])
    write("connection_bytes", f"{role}_chunked_ping", bytes([role_flag, 0, 3, 1, 2, 3]) + f["ping_between_fragments"])
    write("connection_bytes", f"{role}_no_auto_pong", bytes([role_flag | 8, 0, 0]) + f["ping_hello"])

# ----- handshake_request: [limits0, limits1, cut, request...] -------------------------------
RFC_REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def variant(old, new):
    assert old in RFC_REQUEST
    return RFC_REQUEST.replace(old, new)


requests = {
    "rfc_1_3": RFC_REQUEST,
    "with_extensions": variant(
        b"\r\n\r\n",
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\r\n",
    ),
    "version_8": variant(b"Version: 13", b"Version: 8"),
    "duplicate_key": variant(b"Origin", b"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==\r\nOrigin"),
    "http_1_0": variant(b"HTTP/1.1", b"HTTP/1.0"),
    "post": variant(b"GET", b"POST"),
    "absolute_uri": variant(b"GET /chat", b"GET http://server.example.com/chat?x=1"),
    "obs_fold": variant(b"Origin: http://example.com\r\n", b"Origin: http://example.com\r\n continued\r\n"),
    "bare_lf": RFC_REQUEST.replace(b"\r\n", b"\n"),
    "nul_in_value": variant(b"example.com\r\nSec", b"exam\x00ple.com\r\nSec"),
    "trailing_frame": RFC_REQUEST + frame(0x1, b"Hello", mask=KEY),
}
for name, req in requests.items():
    write("handshake_request", name, bytes([0x80, 0, 0x80]) + req)
write("handshake_request", "rfc_1_3_small_limits", bytes([0x10, 5, 0x40]) + RFC_REQUEST)

# ----- handshake_response: [limits0, limits1, cut, response...] -----------------------------
RFC_RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Protocol: chat\r\n"
    b"\r\n"
)
responses = {
    "rfc_1_3": RFC_RESPONSE,
    "with_deflate": RFC_RESPONSE.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"
    ),
    "trailing_frame": RFC_RESPONSE + frame(0x1, b"Hi"),
    "bad_accept": RFC_RESPONSE.replace(b"s3pPL", b"AAAAA"),
    "status_426": b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
    "unoffered_protocol": RFC_RESPONSE.replace(b"Protocol: chat", b"Protocol: other"),
}
for name, resp in responses.items():
    write("handshake_response", name, bytes([0x80, 0, 0x80]) + resp)

# ----- handshake_server: [limits0, limits1, flags, seed_len, seed..., request...] ----------
# flags: bit 0 refuse, bit 1 choose a subprotocol, bit 2 end of stream, bit 3 deflate,
# bit 4 short timeout. Seeds 1, 2, 3 split into small pieces that arrive 1-3 s apart.
server_seeds = {
    "rfc_1_3_accept": (0b0010, b"", RFC_REQUEST),
    "rfc_1_3_refuse": (0b0001, b"", RFC_REQUEST),
    "rfc_1_3_pieces_slow": (0b10010, bytes([1, 2, 3]), RFC_REQUEST),
    "rfc_1_3_bytewise": (0b0010, bytes([0]), RFC_REQUEST),
    "with_deflate": (0b1010, b"", requests["with_extensions"]),
    "trailing_frame": (0b0000, bytes([0x41, 3]), requests["trailing_frame"]),
    "version_8": (0b0000, b"", requests["version_8"]),
    "post": (0b0000, b"", requests["post"]),
    "plain_get": (0b0000, b"", b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    "eof_midway": (0b0100, b"", RFC_REQUEST[:40]),
}
for name, (flags, seed, req) in server_seeds.items():
    write("handshake_server", name, bytes([0x80, 0, flags, len(seed)]) + seed + req)
write("handshake_server", "rfc_1_3_small_limits", bytes([0x10, 5, 0, 0]) + RFC_REQUEST)

# ----- handshake_client: [limits0, limits1, flags, seed_len, seed..., response...] ---------
# flags: bit 0 end of stream, bit 1 deflate, bit 2 short timeout, bit 3 16-byte body limit.
client_seeds = {
    "rfc_1_3": (0b0000, b"", RFC_RESPONSE),
    "rfc_1_3_bytewise": (0b0000, bytes([0]), responses["trailing_frame"]),
    "with_deflate": (0b0010, b"", responses["with_deflate"]),
    "bad_accept": (0b0000, b"", responses["bad_accept"]),
    "status_426": (0b0000, b"", responses["status_426"]),
    "unauthorized_with_body": (0b0000, bytes([0x45, 2]),
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"chat\"\r\n"
        b"Content-Length: 12\r\n\r\nlog in first"),
    "forbidden_until_eof": (0b1001, b"",
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\norigin not allowed, go away"),
    "redirect": (0b0000, b"", b"HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\nContent-Length: 0\r\n\r\n"),
    "slow_pieces": (0b0100, bytes([1, 2, 3]), RFC_RESPONSE),
    "eof_midway": (0b0001, b"", RFC_RESPONSE[:40]),
}
for name, (flags, seed, resp) in client_seeds.items():
    write("handshake_client", name, bytes([0x80, 0, flags, len(seed)]) + seed + resp)

# ----- deflate_inflate: [flags, limit, params, seed_len, seed..., wire...] -------------------
# params 0 = context takeover both ways, 15-bit windows for the server (bits 2-4 = 7) and the
# client (bits 5-7 = 7): 0b1111_1100.
import zlib


def raw_deflate(data, wbits=15):
    c = zlib.compressobj(6, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]  # RFC 7692 section 7.2.1: the trailing 4 octets are removed


def deflate_frames(client_role):
    m = None if client_role else KEY
    return {
        # RFC 7692 section 7.2.3.1: "Hello", compressed.
        "hello": frame(0x1, bytes.fromhex("f248cdc9c90700"), mask=m, rsv=4),
        # Section 7.2.3.1: the same, fragmented (RSV1 on the first frame only).
        "hello_fragmented": frame(0x1, bytes.fromhex("f248cd"), fin=False, mask=m, rsv=4)
        + frame(0x0, bytes.fromhex("c9c90700"), mask=m),
        # Section 7.2.3.2: a second "Hello" that refers back into the shared window.
        "hello_twice_shared_window": frame(0x1, bytes.fromhex("f248cdc9c90700"), mask=m, rsv=4)
        + frame(0x1, bytes.fromhex("f200110000"), mask=m, rsv=4),
        # Section 7.2.3.3: a stored (uncompressed) block.
        "hello_stored_block": frame(0x1, bytes.fromhex("0005 00fa ff48 656c 6c6f 00".replace(" ", "")), mask=m, rsv=4),
        # Section 7.2.3.4: BFINAL set.
        "hello_bfinal": frame(0x1, bytes.fromhex("f348cdc9c907 0000".replace(" ", "")), mask=m, rsv=4),
        # Section 7.2.3.5: two DEFLATE blocks in one message.
        "hello_two_blocks": frame(0x1, bytes.fromhex("f2480500 0000ffff cac9c907 00".replace(" ", "")), mask=m, rsv=4),
        "binary_compressed": frame(0x2, raw_deflate(bytes(range(256)) * 4), mask=m, rsv=4),
        # A bomb: 1 MiB of zeros in about a kilobyte.
        "bomb_1mib_zeros": frame(0x2, raw_deflate(b"\x00" * (1 << 20)), mask=m, rsv=4),
        "garbage_compressed": frame(0x2, b"\xff\xff\xff\xff", mask=m, rsv=4),
        "rsv1_on_continuation": frame(0x1, bytes.fromhex("f248cd"), fin=False, mask=m, rsv=4)
        + frame(0x0, bytes.fromhex("c9c90700"), mask=m, rsv=4),
        "rsv1_on_ping": frame(0x9, b"x", mask=m, rsv=4),
        "uncompressed_text": frame(0x1, b"Hello", mask=m),
    }


for role, role_flag in (("server", 0), ("client", 1)):
    for name, wire in deflate_frames(role == "client").items():
        write("deflate_inflate", f"{role}_{name}", bytes([role_flag, 0, 0b1111_1100, 0]) + wire)
    f = deflate_frames(role == "client")
    # The bomb against a 4 KiB limit (limit byte 0xff * 16), and the window shared with
    # no_context_takeover on both sides.
    write("deflate_inflate", f"{role}_bomb_small_limit", bytes([role_flag | 4, 0xFF, 0b1111_1100, 0]) + f["bomb_1mib_zeros"])
    write("deflate_inflate", f"{role}_no_context_takeover", bytes([role_flag, 0, 0b1111_1111, 0]) + f["hello_twice_shared_window"])
    write("deflate_inflate", f"{role}_stream_chunked", bytes([role_flag | 2, 0, 0b1111_1100, 2, 1, 3]) + f["binary_compressed"])

# ----- structured targets: deterministic blobs ----------------------------------------------
rng = random.Random(6455)
for target in ("frame_roundtrip", "connection_pair"):
    for size in (16, 64, 256, 1024):
        for i in range(3):
            blob = bytes(rng.getrandbits(8) for _ in range(size))
            write(target, f"random_{size}_{i}", blob)

print("corpus written under", os.path.normpath(ROOT))
