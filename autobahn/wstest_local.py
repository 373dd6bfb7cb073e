"""Run wstest (Autobahn|Testsuite 0.8.2) with every listening socket on 127.0.0.1.

wstest 0.8.2 binds its fuzzingserver (and the optional web server) to all
interfaces.  This wrapper replaces the Twisted reactor's listenTCP/listenSSL
so that the interface is always 127.0.0.1, then runs wstest's own main with
the given command line, e.g.:

    .venv/bin/python wstest_local.py -m fuzzingserver -s spec.json --webport 0

Python 2.7 (it runs inside autobahn/.venv).
"""
import sys

# Importing wstest first lets it install its preferred reactor (epoll on
# Linux) before twisted.internet.reactor is imported below.
from autobahntestsuite import wstest
from twisted.internet import reactor

BIND_INTERFACE = "127.0.0.1"

_listen_tcp = reactor.listenTCP
_listen_ssl = reactor.listenSSL


def _local_listen_tcp(port, factory, backlog=50, interface=""):
    print("wstest_local: listening on %s:%s" % (BIND_INTERFACE, port))
    return _listen_tcp(port, factory, backlog, BIND_INTERFACE)


def _local_listen_ssl(port, factory, context_factory, backlog=50, interface=""):
    print("wstest_local: listening (TLS) on %s:%s" % (BIND_INTERFACE, port))
    return _listen_ssl(port, factory, context_factory, backlog, BIND_INTERFACE)


reactor.listenTCP = _local_listen_tcp
reactor.listenSSL = _local_listen_ssl

if __name__ == "__main__":
    sys.argv[0] = "wstest"
    sys.exit(wstest.run())
