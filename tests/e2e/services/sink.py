#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A TCP sink: accepts connections, reads and counts every byte, never
answers. Used to prove that bytes did (or did not) arrive at a service.

Log lines: 'accept PEER' at once, 'close PEER bytes=N end=eof|reset' at the
end. The --stats file always holds the running totals, rewritten
atomically on every change: 'connections=C bytes=B open=O'."""
import socketserver
import threading

import svclib

_lock = threading.Lock()
_stats = {"connections": 0, "bytes": 0, "open": 0}
_stats_path = None


def _write_stats():
    if _stats_path:
        svclib.write_atomic(_stats_path, "connections=%(connections)d bytes=%(bytes)d "
                            "open=%(open)d\n" % _stats)


def _bump(key, n):
    with _lock:
        _stats[key] += n
        _write_stats()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        peer = svclib.peer_name(self.request)
        svclib.log("accept %s", peer)
        with _lock:
            _stats["connections"] += 1
            _stats["open"] += 1
            _write_stats()
        try:
            total, end = svclib.recv_until_eof(self.request, lambda d: _bump("bytes", len(d)))
        finally:
            _bump("open", -1)
        svclib.log("close %s bytes=%d end=%s", peer, total, end)


def main():
    global _stats_path

    def extra(p):
        p.add_argument("--stats", required=True, help="running totals file")

    args = svclib.parse_args(__doc__, extra)
    svclib.open_log(args.log)
    _stats_path = args.stats
    _write_stats()
    svclib.serve(svclib.TCPServer((args.host, args.port), Handler), args.ready)


if __name__ == "__main__":
    main()
