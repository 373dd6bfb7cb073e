"""Memory per connection with permessage-deflate: the client side of benches/deflate_memory.sh.

Usage: deflate_memory_client.py URL N [--idle]

Opens N connections to URL with websockets' default offer (`permessage-deflate;
client_max_window_bits`, as browsers send), then on each sends one chat-like JSON text of about
2 KiB and reads the echo, checking it (with --idle: sends nothing). Then prints `ready N` and
keeps every connection open until its standard input closes, so that the caller can read the
server's memory with all N open; then closes them all cleanly and prints `closed`.
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect

WORDS = (
    "hello there anyone up for lunch today the new build is green again "
    "please review my change when you have a minute thanks see you at the standup"
).split()


def chat_json(n, size=2048):
    """A JSON array of chat messages, like a history page, of about `size` bytes."""
    messages, i = [], 0
    while True:
        text = " ".join(WORDS[(n + i + k) % len(WORDS)] for k in range(6 + (n + i) % 9))
        messages.append({
            "type": "message",
            "room": "general",
            "id": n * 1000 + i,
            "user": f"user{(n * 7 + i) % 97}",
            "ts": 1764600000 + n * 13 + i,
            "text": text,
        })
        encoded = json.dumps(messages, separators=(",", ":"))
        if len(encoded) >= size:
            return encoded
        i += 1


async def one(url, n, idle, opening):
    async with opening:
        ws = await connect(url, max_size=None, open_timeout=60)
    if not idle:
        text = chat_json(n)
        await ws.send(text)
        echo = await ws.recv()
        if echo != text:
            raise SystemExit(f"connection {n}: the echo differs")
    return ws


async def main():
    url, count = sys.argv[1], int(sys.argv[2])
    idle = "--idle" in sys.argv[3:]
    opening = asyncio.Semaphore(64)
    sockets = await asyncio.gather(*(one(url, n, idle, opening) for n in range(count)))
    agreed = sockets[0].response.headers.get("Sec-WebSocket-Extensions", "none")
    print(f"ready {len(sockets)} extensions: {agreed}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await asyncio.gather(*(ws.close() for ws in sockets))
    print("closed", flush=True)


asyncio.run(main())
