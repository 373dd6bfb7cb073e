"""Client peer for the ws-std interop tests (Python `websockets`, asyncio).

Usage: client_check.py ws://127.0.0.1:PORT/ [--deflate MODE] [--ca FILE]

Runs a scripted exchange against an echo server and checks every answer exactly: text
(with non-ASCII), binary, empty messages, 1 MiB binary and text, fragmented messages
(one splitting a UTF-8 character across fragments), a ping with payload; then closes with
4001 "bye" and checks the server's Close frame echoes 4001. --deflate MODE sets
permessage-deflate (see deflate_modes.py); with compression, it also checks that the server
agreed to it, prints the agreed extension as "extensions: ...", and sends 200 similar messages
so that each side's LZ77 window is used across messages. For a wss:// URL, --ca FILE is
the CA the server's certificate must chain to (see tls_options.py).
Exits 0 if everything matched; otherwise prints "FAIL: <reason>" to stderr and exits 1.
"""

import asyncio
import random
import sys

from websockets.asyncio.client import connect

import deflate_modes
import tls_options

TIMEOUT = 10  # seconds, for each step
MIB = 1024 * 1024


class Mismatch(Exception):
    pass


def describe(value):
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(value)} items)"


async def step(what, awaitable):
    try:
        return await asyncio.wait_for(awaitable, TIMEOUT)
    except asyncio.TimeoutError:
        raise Mismatch(f"{what}: no answer within {TIMEOUT} s") from None


async def expect_echo(ws, what, message, expected, text=None, quiet=False):
    await step(f"{what}: send", ws.send(message, text=text))
    got = await step(f"{what}: recv", ws.recv())
    if type(got) is not type(expected) or got != expected:
        raise Mismatch(f"{what}: sent {describe(message)}, expected {describe(expected)}, "
                       f"got {type(got).__name__} {describe(got)}")
    if not quiet:
        print(f"ok: {what}")


async def run(url, deflate, tls):
    rng = random.Random(6455)
    big_binary = rng.randbytes(MIB)
    # 1, 2, 3 and 4-byte characters (10 bytes per unit), padded to exactly 1 MiB of UTF-8.
    big_text = "aé€🎉" * (MIB // 10) + "x" * (MIB % 10)
    assert len(big_text.encode()) == MIB

    kwargs = deflate_modes.client_kwargs(deflate)
    if tls is not None:
        kwargs["ssl"] = tls
    async with connect(url, max_size=16 * MIB, open_timeout=TIMEOUT, **kwargs) as ws:
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions")
        print(f"extensions: {agreed}")
        if (agreed is None) != (deflate == "off"):
            raise Mismatch(f"--deflate {deflate}: the server answered extensions {agreed!r}")
        for i in range(200):
            # Similar messages: with context takeover each refers to the ones before.
            message = f'{{"seq": {i}, "event": "update", "price": {i * 7 % 1000}}}'
            await expect_echo(ws, f"similar message {i}", message, message, quiet=True)
        print("ok: 200 similar messages")
        await expect_echo(ws, "text", "hello", "hello")
        await expect_echo(ws, "non-ASCII text", "héllo wörld ✓ 日本語 🎉", "héllo wörld ✓ 日本語 🎉")
        await expect_echo(ws, "binary", bytes(range(256)), bytes(range(256)))
        await expect_echo(ws, "empty text", "", "")
        await expect_echo(ws, "empty binary", b"", b"")
        await expect_echo(ws, "1 MiB binary", big_binary, big_binary)
        await expect_echo(ws, "1 MiB text", big_text, big_text)
        await expect_echo(ws, "fragmented text", ["frag", "mented ", "tëxt"], "fragmented tëxt")
        # "€" is E2 82 AC: split inside the character, across fragments.
        await expect_echo(ws, "fragmented text, split character",
                          [b"price: \xe2", b"\x82", b"\xac 5"], "price: € 5", text=True)
        await expect_echo(ws, "fragmented binary", [b"\x00\x01", b"", b"\x02\xff"],
                          b"\x00\x01\x02\xff")

        # The waiter completes only on a Pong whose payload matches this Ping's.
        pong = await step("ping: send", ws.ping(b"ping-payload \x00\xff"))
        await step("ping: pong with the same payload", pong)
        print("ok: ping with payload answered by pong with the same payload")

        await step("close", ws.close(4001, "bye"))
        if ws.protocol.close_rcvd is None:
            raise Mismatch("close: sent 4001 'bye', the server sent no Close frame")
        code, reason = ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason
        if code != 4001:
            raise Mismatch(f"close: sent 4001 'bye', the server's Close frame had {code} {reason!r}")
        print(f"ok: close 4001 echoed (server's reason: {reason!r})")


def main():
    deflate = deflate_modes.mode_from_argv()
    tls = tls_options.client_context()
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        asyncio.run(run(sys.argv[1], deflate, tls))
    except Mismatch as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # connection refused, protocol errors, unexpected closes...
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
