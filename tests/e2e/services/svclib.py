# SPDX-License-Identifier: Apache-2.0
"""Small helpers shared by the e2e services: arguments, log lines, the
ready file and a threaded TCP server. Stdlib only."""
import argparse
import os
import socket
import socketserver
import sys
import threading
import time

_log_lock = threading.Lock()
_log_file = None


def parse_args(description, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--listen", required=True, help="ADDR:PORT (PORT 0: any)")
    p.add_argument("--ready", required=True,
                   help="file written as 'ready ADDR PORT' once listening")
    p.add_argument("--log", help="append one line per event here (default stderr)")
    if extra:
        extra(p)
    args = p.parse_args()
    host, _, port = args.listen.rpartition(":")
    args.host, args.port = host.strip("[]"), int(port)
    return args


def open_log(path):
    global _log_file
    _log_file = open(path, "a", buffering=1) if path else sys.stderr


def log(fmt, *a):
    line = "%.3f %s\n" % (time.time(), fmt % a if a else fmt)
    with _log_lock:
        (_log_file or sys.stderr).write(line)
        (_log_file or sys.stderr).flush()


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_ready(path, server):
    host, port = server.server_address[:2]
    write_atomic(path, "ready %s %d\n" % (host, port))
    log("ready %s %d", host, port)


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def peer_name(sock):
    try:
        h, p = sock.getpeername()[:2]
        return "%s:%d" % (h, p)
    except OSError:
        return "?"


def recv_until_eof(sock, on_data, bufsize=1 << 18):
    """Read until the peer's FIN; call on_data(bytes) per read. Returns
    (total bytes, 'eof'|'reset')."""
    total = 0
    while True:
        try:
            d = sock.recv(bufsize)
        except ConnectionResetError:
            return total, "reset"
        if not d:
            return total, "eof"
        total += len(d)
        on_data(d)


def serve(server, ready_path):
    write_ready(ready_path, server)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def shutdown_quietly(sock, how=socket.SHUT_WR):
    try:
        sock.shutdown(how)
    except OSError:
        pass
