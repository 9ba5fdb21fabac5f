#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The FIN-reliant 'echo' service of the half-close test: reads a TCP
connection until the peer's FIN (EOF), then answers with the hex SHA-256 of
everything it read and a newline, and closes. A tunnel that loses the
half-close never gets an answer.

Log lines: 'conn PEER bytes=N sha=HEX end=eof|reset'."""
import hashlib
import socketserver

import svclib


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        peer = svclib.peer_name(sock)
        svclib.log("accept %s", peer)
        h = hashlib.sha256()
        total, end = svclib.recv_until_eof(sock, h.update)
        digest = h.hexdigest()
        svclib.log("conn %s bytes=%d sha=%s end=%s", peer, total, digest, end)
        if end == "eof":
            try:
                sock.sendall((digest + "\n").encode())
            except OSError as e:
                svclib.log("reply %s failed: %s", peer, e)
            svclib.shutdown_quietly(sock)


def main():
    args = svclib.parse_args(__doc__)
    svclib.open_log(args.log)
    svclib.serve(svclib.TCPServer((args.host, args.port), Handler), args.ready)


if __name__ == "__main__":
    main()
