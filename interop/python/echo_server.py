"""Echo server peer for the ws-std interop tests (Python `websockets`, asyncio).

Usage: echo_server.py [PORT] [--exit-on-stdin-eof] [--deflate MODE]
                      [--tls-cert FILE --tls-key FILE]

Listens on 127.0.0.1 (PORT 0 or omitted: any free port) and prints the port as the first
line of stdout. Echoes text as text and binary as binary. The text message
"close-me CODE REASON" makes it close the connection with that code and reason instead.
With --exit-on-stdin-eof it stops when stdin reaches EOF (so it dies with its parent).
--deflate MODE sets permessage-deflate (see deflate_modes.py; default: websockets' defaults).
With --tls-cert and --tls-key it serves wss:// (see tls_options.py).
"""

import asyncio
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

import deflate_modes
import tls_options

MAX_SIZE = 16 * 1024 * 1024  # the tests send 1 MiB messages; websockets' default is 1 MiB


async def echo(ws):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("close-me "):
                _, code, reason = (message.split(" ", 2) + [""])[:3]
                await ws.close(int(code), reason)
                return
            await ws.send(message)
    except ConnectionClosed:  # a close code other than 1000/1001 ends the loop this way
        pass


async def main(port, exit_on_stdin_eof, deflate, tls):
    kwargs = deflate_modes.server_kwargs(deflate)
    if tls is not None:
        kwargs["ssl"] = tls
    async with serve(echo, "127.0.0.1", port, max_size=MAX_SIZE, **kwargs) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        if exit_on_stdin_eof:
            await asyncio.to_thread(sys.stdin.buffer.read)
        else:
            await server.serve_forever()


if __name__ == "__main__":
    deflate = deflate_modes.mode_from_argv()
    tls = tls_options.server_context()
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    port = int(args[0]) if args else 0
    asyncio.run(main(port, "--exit-on-stdin-eof" in sys.argv, deflate, tls))
