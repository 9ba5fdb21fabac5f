#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The e2e test client: talks to the services of tests/e2e/services (through
a tunnel's local forward, or directly) and prints one JSON object on stdout.
Exit status 0 when the check it makes holds, 1 when not, 2 on bad usage.

  connect-test --host H --port P [--timeout T]
        {"result": "connected|refused|unreachable|timeout|error", "errno": ...}
  probe --port P [--host H] [--send TEXT] [--timeout T] [--reset]
        connect, send TEXT, read until the peer closes:
        {"result": "refused|eof|reset|timeout", "bytes": N}; with --reset,
        a timeout ends in an RST (the user gave up), not a FIN
  upload-fin --port P --n N --seed S [--kind K]
        send stream (N,S,K), shut down the write side (FIN), read the
        answer of sha_service.py: {"sent", "local", "reply", "match"}
  send --port P --n N --seed S [--kind K]
        send stream (N,S,K), FIN, read until the peer closes (the sink):
        {"sent", "local", "received", "end"}
  post-sha --port P --n N --seed S [--kind K]
        POST /sha256 with the stream as body: {"sent", "local", "reply", "match"}
  get-sha --port P --path PATH --n N --seed S [--kind K]
        GET PATH, compare the body with stream (N,S,K)
  download --port P --n N --seed S [--kind K] [--gate FILE --gate-after B]
           [--progress FILE]
        ask source.py for stream (N,S,K); with --gate, stop reading after B
        bytes, write 'paused B' to --progress and wait until FILE exists
  concurrent --port P --count C --group G [--bytes B]
        C connections at once, each GET /barrier (held by the server until
        all C are there) with a different stream; all must match
  stun --server ADDR:PORT
        STUN Binding request (RFC 5389): {"mapped": "ADDR:PORT"}
"""
import argparse
import errno
import hashlib
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "services"))
import stream  # noqa: E402


def out(obj, ok):
    print(json.dumps(obj, sort_keys=True), flush=True)
    return 0 if ok else 1


def connect(host, port, timeout):
    return socket.create_connection((host, port), timeout=timeout)


def cmd_connect_test(a):
    try:
        s = connect(a.host, a.port, a.timeout)
        s.close()
        return out({"result": "connected"}, True)
    except socket.timeout:
        return out({"result": "timeout"}, True)
    except OSError as e:
        res = {errno.ECONNREFUSED: "refused", errno.ENETUNREACH: "unreachable",
               errno.EHOSTUNREACH: "unreachable", errno.ETIMEDOUT: "timeout"}.get(e.errno, "error")
        return out({"result": res, "errno": errno.errorcode.get(e.errno, str(e.errno))}, True)


def cmd_probe(a):
    try:
        s = connect(a.host, a.port, a.timeout)
    except OSError as e:
        # a reset can race the handshake: the forward accepted, then the
        # tunnel refused the stream before connect() returned
        res = "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else "refused"
        return out({"result": res, "error": str(e), "bytes": 0}, True)
    got = 0
    res = "eof"
    try:
        if a.send:
            s.sendall(a.send.encode().decode("unicode_escape").encode("latin-1"))
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
    except socket.timeout:
        res = "timeout"
        if a.reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except ConnectionResetError:
        res = "reset"
    except BrokenPipeError:
        res = "reset"
    finally:
        s.close()
    return out({"result": res, "bytes": got}, True)


def _send_stream(sock, a):
    h = hashlib.sha256()
    sent = 0
    for c in stream.chunks(a.n, a.seed, a.kind):
        sock.sendall(c)
        h.update(c)
        sent += len(c)
    return sent, h.hexdigest()


def cmd_upload_fin(a):
    t0 = time.monotonic()
    s = connect(a.host, a.port, a.timeout)
    sent, local = _send_stream(s, a)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        reply += d
    s.close()
    reply = reply.decode(errors="replace").strip()
    return out({"sent": sent, "local": local, "reply": reply, "match": reply == local,
                "seconds": round(time.monotonic() - t0, 3)}, reply == local)


def cmd_send(a):
    """Send the stream, FIN, read whatever comes back until the peer closes."""
    s = connect(a.host, a.port, a.timeout)
    sent, local = _send_stream(s, a)
    s.shutdown(socket.SHUT_WR)
    got = 0
    end = "eof"
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
    except ConnectionResetError:
        end = "reset"
    s.close()
    return out({"sent": sent, "local": local, "received": got, "end": end}, True)


def cmd_post_sha(a):
    t0 = time.monotonic()
    c = http.client.HTTPConnection(a.host, a.port, timeout=a.timeout)
    c.putrequest("POST", "/sha256")
    c.putheader("Content-Length", str(a.n))
    c.putheader("Content-Type", "application/octet-stream")
    c.endheaders()
    sent, local = _send_stream(c.sock, a)
    r = c.getresponse()
    reply = r.read().decode(errors="replace").strip()
    ok = r.status == 200 and reply == local
    return out({"status": r.status, "sent": sent, "local": local, "reply": reply, "match": ok,
                "seconds": round(time.monotonic() - t0, 3)}, ok)


def _expect(a):
    return stream.sha256(a.n, a.seed, a.kind)


def cmd_get_sha(a):
    c = http.client.HTTPConnection(a.host, a.port, timeout=a.timeout)
    c.request("GET", a.path)
    r = c.getresponse()
    h = hashlib.sha256()
    got = 0
    while True:
        d = r.read(1 << 18)
        if not d:
            break
        h.update(d)
        got += len(d)
    exp = _expect(a)
    ok = r.status == 200 and got == a.n and h.hexdigest() == exp
    return out({"status": r.status, "received": got, "sha": h.hexdigest(), "expected": exp,
                "match": ok}, ok)


def cmd_download(a):
    t0 = time.monotonic()
    s = connect(a.host, a.port, a.timeout)
    s.sendall(b"%d %d %s\n" % (a.n, a.seed, a.kind.encode()))
    h = hashlib.sha256()
    got = 0
    paused = False
    end = "eof"
    while True:
        if a.gate and not paused and got >= a.gate_after:
            paused = True
            if a.progress:
                with open(a.progress + ".tmp", "w") as f:
                    f.write("paused %d\n" % got)
                os.replace(a.progress + ".tmp", a.progress)
            while not os.path.exists(a.gate):
                time.sleep(0.05)
        want = 1 << 18
        if a.gate and not paused:
            want = min(want, a.gate_after - got)
        try:
            d = s.recv(want)
        except ConnectionResetError:
            end = "reset"
            break
        if not d:
            break
        h.update(d)
        got += len(d)
    s.close()
    exp = _expect(a)
    ok = end == "eof" and got == a.n and h.hexdigest() == exp
    return out({"received": got, "sha": h.hexdigest(), "expected": exp, "end": end,
                "paused": paused, "match": ok, "seconds": round(time.monotonic() - t0, 3)}, ok)


def cmd_concurrent(a):
    results = [None] * a.count
    socks = [None] * a.count
    barrier = threading.Barrier(a.count + 1)

    def one(i):
        n, seed = a.bytes + i * 4099, 1000 + i
        try:
            c = http.client.HTTPConnection(a.host, a.port, timeout=a.timeout)
            c.connect()
            socks[i] = c
        except OSError as e:
            results[i] = "connect: %s" % e
        try:
            barrier.wait(a.timeout)
        except threading.BrokenBarrierError:
            pass
        if results[i]:
            return
        try:
            c.request("GET", "/barrier?group=%s&n=%d&bytes=%d&seed=%d&timeout=%d"
                      % (a.group, a.count, n, seed, int(a.timeout)))
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                results[i] = "status %d: %s" % (r.status, body[:80].decode(errors="replace"))
            elif len(body) != n or hashlib.sha256(body).hexdigest() != stream.sha256(n, seed):
                results[i] = "bad body (%d of %d bytes)" % (len(body), n)
            else:
                results[i] = "ok"
        except Exception as e:  # noqa: BLE001 - report whatever broke this stream
            results[i] = "%s: %s" % (type(e).__name__, e)
        finally:
            c.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(a.count)]
    for t in threads:
        t.start()
    try:
        barrier.wait(a.timeout)
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join(a.timeout + 5)
    bad = {i: r for i, r in enumerate(results) if r != "ok"}
    return out({"ok": a.count - len(bad), "count": a.count,
                "failed": {str(k): v for k, v in list(bad.items())[:10]}}, not bad)


def cmd_stun(a):
    host, _, port = a.server.rpartition(":")
    tid = os.urandom(12)
    req = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    for _ in range(3):
        s.sendto(req, (host, int(port)))
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        if data[8:20] != tid:
            continue
        pos = 20
        while pos + 4 <= len(data):
            typ, ln = struct.unpack("!HH", data[pos:pos + 4])
            val = data[pos + 4:pos + 4 + ln]
            if typ == 0x0020 and val[1] == 1:  # XOR-MAPPED-ADDRESS, IPv4
                p = struct.unpack("!H", val[2:4])[0] ^ 0x2112
                ip = struct.unpack("!I", val[4:8])[0] ^ 0x2112A442
                return out({"mapped": "%s:%d" % (socket.inet_ntoa(struct.pack("!I", ip)), p),
                            "local": "%s:%d" % s.getsockname()}, True)
            pos += 4 + ((ln + 3) & ~3)
    return out({"mapped": None}, False)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, stream_args=False):
        sp = sub.add_parser(name)
        sp.set_defaults(fn=fn)
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int)
        sp.add_argument("--timeout", type=float, default=600.0)
        if stream_args:
            sp.add_argument("--n", type=int, required=True)
            sp.add_argument("--seed", type=int, default=0)
            sp.add_argument("--kind", default="random", choices=stream.KINDS)
        return sp

    add("connect-test", cmd_connect_test)
    sp = add("probe", cmd_probe)
    sp.add_argument("--send", default="")
    sp.add_argument("--reset", action="store_true")
    add("upload-fin", cmd_upload_fin, True)
    add("send", cmd_send, True)
    add("post-sha", cmd_post_sha, True)
    add("get-sha", cmd_get_sha, True).add_argument("--path", required=True)
    sp = add("download", cmd_download, True)
    sp.add_argument("--gate")
    sp.add_argument("--gate-after", type=int, default=0)
    sp.add_argument("--progress")
    sp = add("concurrent", cmd_concurrent)
    sp.add_argument("--count", type=int, default=100)
    sp.add_argument("--group", required=True)
    sp.add_argument("--bytes", type=int, default=65536)
    add("stun", cmd_stun).add_argument("--server", required=True)
    a = p.parse_args()
    if a.cmd not in ("stun",) and a.port is None:
        p.error("--port is required")
    try:
        return a.fn(a)
    except (OSError, http.client.HTTPException, ValueError) as e:
        # one JSON line on stdout, like every other outcome
        return out({"error": "%s: %s" % (type(e).__name__, e)}, False)


if __name__ == "__main__":
    sys.exit(main())
