#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The e2e HTTP API (threaded, HTTP/1.1):

  GET  /health                 200 'ok'
  GET  /bytes?n=N[&seed=S][&kind=random|text]
                               N bytes of the stream (n, seed, kind) of stream.py
  POST /sha256                 hex SHA-256 of the body (Content-Length or chunked)
  GET  /peer                   the client's address as this server sees it
  GET  /whoami                 the --tag of this server
  GET  /barrier?group=G&n=N[&bytes=B][&seed=S][&timeout=T]
                               held until N requests of group G are held at
                               once (proof of N concurrent streams), then
                               B bytes of stream (B, S); 504 after T s (120)

Every request is logged: 'req PEER METHOD PATH STATUS BYTES', and the
highest number of connections open at once: 'max_active N'."""
import hashlib
import http.server
import threading
import urllib.parse

import stream
import svclib

BYTES_MAX = 1 << 34
_lock = threading.Condition()
_active = 0
_max_active = 0
_groups = {}
TAG = "e2e"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "e2e-api/1"

    def setup(self):
        global _active, _max_active
        super().setup()
        with _lock:
            _active += 1
            if _active > _max_active:
                _max_active = _active
                svclib.log("max_active %d", _max_active)

    def finish(self):
        global _active
        try:
            super().finish()
        finally:
            with _lock:
                _active -= 1

    def log_message(self, fmt, *args):
        pass

    def _done(self, status, nbytes):
        svclib.log("req %s %s %s %d %d", self.client_address[0], self.command, self.path,
                   status, nbytes)

    def _reply(self, status, body, ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self._done(status, len(body))

    def _stream(self, n, seed, kind):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        sent = 0
        for c in stream.chunks(n, seed, kind):
            self.wfile.write(c)
            sent += len(c)
        self._done(200, sent)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query).items()}
        try:
            if u.path == "/health":
                return self._reply(200, "ok")
            if u.path == "/peer":
                return self._reply(200, self.client_address[0])
            if u.path == "/whoami":
                return self._reply(200, TAG)
            if u.path == "/bytes":
                n, seed = int(q.get("n", "0")), int(q.get("seed", "0"))
                kind = q.get("kind", "random")
                if not 0 <= n <= BYTES_MAX or kind not in stream.KINDS:
                    return self._reply(400, "bad n or kind")
                return self._stream(n, seed, kind)
            if u.path == "/barrier":
                return self._barrier(q)
        except ValueError:
            return self._reply(400, "bad query")
        return self._reply(404, "not found")

    def _barrier(self, q):
        group, n = q.get("group", ""), int(q.get("n", "0"))
        nbytes, seed = int(q.get("bytes", "0")), int(q.get("seed", "0"))
        timeout = float(q.get("timeout", "120"))
        if not group or not 0 < n <= 100000 or not 0 <= nbytes <= BYTES_MAX:
            return self._reply(400, "bad barrier")
        with _lock:
            _groups[group] = _groups.get(group, 0) + 1
            _lock.notify_all()
            ok = _lock.wait_for(lambda: _groups[group] >= n, timeout)
            seen = _groups[group]
        if not ok:
            with _lock:
                _groups[group] -= 1
            return self._reply(504, "barrier timeout %d/%d" % (seen, n))
        return self._stream(nbytes, seed, "random")

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/sha256":
            return self._reply(404, "not found")
        h = hashlib.sha256()
        total = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    d = self.rfile.read(min(left, 1 << 18))
                    if not d:
                        return
                    h.update(d)
                    left -= len(d)
                    total += len(d)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left > 0:
                d = self.rfile.read(min(left, 1 << 18))
                if not d:
                    return
                h.update(d)
                left -= len(d)
                total += len(d)
        svclib.log("sha256 %s bytes=%d", self.client_address[0], total)
        return self._reply(200, h.hexdigest())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def main():
    global TAG

    def extra(p):
        p.add_argument("--tag", default="e2e", help="answer of GET /whoami")

    args = svclib.parse_args(__doc__, extra)
    TAG = args.tag
    svclib.open_log(args.log)
    svclib.serve(Server((args.host, args.port), Handler), args.ready)


if __name__ == "__main__":
    main()
