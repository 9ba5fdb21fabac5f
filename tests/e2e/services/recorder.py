#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A recording HTTP service: every byte any connection brings is appended
to the --record file (raw, in arrival order per connection), so a test can
prove what a service did or did not receive. Each connection gets one
answer, 'HTTP/1.0 200 OK' with the body 'recorded N' (N: bytes of the
request head), as soon as its request head (up to the blank line) is in;
then the connection is read to its end and closed.

Log lines: 'accept PEER' at once, 'close PEER bytes=N end=eof|reset' at the
end."""
import socket
import socketserver
import threading

import svclib

_lock = threading.Lock()
_record = None
HEAD_MAX = 1 << 16


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        peer = svclib.peer_name(self.request)
        svclib.log("accept %s", peer)
        head = bytearray()
        answered = False

        def on_data(d):
            nonlocal answered
            with _lock:
                _record.write(d)
                _record.flush()
            if answered:
                return
            head.extend(d[:HEAD_MAX])
            if b"\r\n\r\n" in head or len(head) >= HEAD_MAX:
                n = head.find(b"\r\n\r\n")
                body = b"recorded %d\n" % (n + 4 if n >= 0 else len(head))
                try:
                    self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                                         b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                                         % len(body) + body)
                except OSError:
                    pass
                svclib.shutdown_quietly(self.request, socket.SHUT_WR)
                answered = True

        total, end = svclib.recv_until_eof(self.request, on_data)
        svclib.log("close %s bytes=%d end=%s", peer, total, end)


def main():
    global _record

    def extra(p):
        p.add_argument("--record", required=True, help="every received byte goes here")

    args = svclib.parse_args(__doc__, extra)
    svclib.open_log(args.log)
    _record = open(args.record, "ab")
    svclib.serve(svclib.TCPServer((args.host, args.port), Handler), args.ready)


if __name__ == "__main__":
    main()
