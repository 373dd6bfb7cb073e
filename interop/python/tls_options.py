"""TLS options of the interop peers (wss://), taken out of sys.argv.

Server: --tls-cert FILE --tls-key FILE (a PEM certificate chain and its key).
Client: --ca FILE (the PEM CA the server's certificate must chain to; the host name of the
URL is checked against the certificate, as by default).
"""

import ssl
import sys


def _take(option):
    """The value after `option` in sys.argv (None if absent); removes both from argv."""
    if option not in sys.argv:
        return None
    i = sys.argv.index(option)
    if i + 1 >= len(sys.argv):
        sys.exit(f"{option} needs a value")
    value = sys.argv[i + 1]
    del sys.argv[i:i + 2]
    return value


def server_context():
    """An SSLContext for serve() from --tls-cert and --tls-key, or None without them."""
    cert, key = _take("--tls-cert"), _take("--tls-key")
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        sys.exit("--tls-cert and --tls-key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def client_context():
    """An SSLContext for connect() trusting --ca, or None without it (websockets' default:
    the system's roots for wss://)."""
    ca = _take("--ca")
    if ca is None:
        return None
    return ssl.create_default_context(cafile=ca)
