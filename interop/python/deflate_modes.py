"""permessage-deflate settings for the interop peers, chosen with `--deflate MODE`.

MODE is one of:
  default      websockets' defaults (its server limits both windows to 2^12)
  takeover     context takeover both ways, 2^15 windows
  no-takeover  server_no_context_takeover and client_no_context_takeover
  window9      server_max_window_bits=9 and client_max_window_bits=9
  off          no compression
"""

import sys

from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

PARAMS = {
    "takeover": {},
    "no-takeover": {"server_no_context_takeover": True, "client_no_context_takeover": True},
    "window9": {"server_max_window_bits": 9, "client_max_window_bits": 9},
}


def mode_from_argv():
    """The MODE after --deflate in sys.argv (default: "default"); removes both from argv."""
    if "--deflate" not in sys.argv:
        return "default"
    i = sys.argv.index("--deflate")
    mode = sys.argv[i + 1]
    del sys.argv[i:i + 2]
    if mode not in ("default", "off", *PARAMS):
        sys.exit(f"unknown --deflate mode {mode!r}")
    return mode


def server_kwargs(mode):
    """Keyword arguments for websockets' serve()."""
    if mode == "default":
        return {}
    if mode == "off":
        return {"compression": None}
    return {"compression": None, "extensions": [ServerPerMessageDeflateFactory(**PARAMS[mode])]}


def client_kwargs(mode):
    """Keyword arguments for websockets' connect()."""
    if mode == "default":
        return {}
    if mode == "off":
        return {"compression": None}
    return {"compression": None, "extensions": [ClientPerMessageDeflateFactory(**PARAMS[mode])]}
