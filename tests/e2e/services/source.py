#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A TCP source for the download direction. The client sends one request
line 'N SEED [KIND]\\n' (KIND: random or text, see stream.py); the source
writes exactly those N bytes, half-closes (FIN) and closes once the client
has closed too.

Log lines: 'conn PEER n=N seed=S kind=K sent=M' (or 'bad PEER ...')."""
import socket
import socketserver

import stream
import svclib

LINE_MAX = 256


def read_line(sock):
    buf = b""
    while b"\n" not in buf:
        d = sock.recv(LINE_MAX)
        if not d:
            return None
        buf += d
        if len(buf) > LINE_MAX:
            return None
    return buf.split(b"\n", 1)[0]


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        peer = svclib.peer_name(sock)
        svclib.log("accept %s", peer)
        try:
            line = read_line(sock)
            parts = line.decode().split() if line is not None else []
            n, seed = int(parts[0]), int(parts[1])
            kind = parts[2] if len(parts) > 2 else "random"
            if kind not in stream.KINDS or n < 0:
                raise ValueError(kind)
        except (ValueError, IndexError, UnicodeDecodeError, OSError) as e:
            svclib.log("bad %s request: %r", peer, e)
            return
        sent = 0
        try:
            for c in stream.chunks(n, seed, kind):
                sock.sendall(c)
                sent += len(c)
        except OSError as e:
            svclib.log("conn %s n=%d seed=%d kind=%s sent=%d error=%s", peer, n, seed, kind, sent, e)
            return
        svclib.shutdown_quietly(sock, socket.SHUT_WR)
        svclib.recv_until_eof(sock, lambda d: None)
        svclib.log("conn %s n=%d seed=%d kind=%s sent=%d", peer, n, seed, kind, sent)


def main():
    args = svclib.parse_args(__doc__)
    svclib.open_log(args.log)
    svclib.serve(svclib.TCPServer((args.host, args.port), Handler), args.ready)


if __name__ == "__main__":
    main()
