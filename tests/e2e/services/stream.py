# SPDX-License-Identifier: Apache-2.0
"""Deterministic test streams shared by the e2e services and the e2e client.

A stream is named by (n, seed, kind) and is the same bytes every time:
  random  pseudo-random bytes (incompressible), random.Random(seed)
  text    seeded log-like text lines (compressible: exercises lz4/zstd)

Command line (Debian's /usr/bin/python3, stdlib only):
  stream.py sha N [SEED [KIND]]    print the SHA-256 (hex) of the stream
  stream.py cat N [SEED [KIND]]    write the stream to stdout
"""
import hashlib
import random
import sys

CHUNK = 1 << 16
KINDS = ("random", "text")
_WORDS = (b"select insert update delete from where join order group limit "
          b"alpha beta gamma delta user session token gateway tunnel stream "
          b"office home cloud service health ok error warn info debug").split()


def chunks(n, seed=0, kind="random"):
    """Yield the stream in pieces of at most CHUNK bytes."""
    n = int(n)
    if n < 0:
        raise ValueError("negative length")
    r = random.Random(int(seed))
    if kind == "random":
        while n > 0:
            k = min(CHUNK, n)
            yield r.randbytes(k)
            n -= k
    elif kind == "text":
        buf = bytearray()
        line = 0
        while n > 0:
            while len(buf) < CHUNK:
                words = b" ".join(r.choices(_WORDS, k=8))
                buf += b"%09d %s %d\n" % (line, words, r.randrange(1 << 30))
                line += 1
            k = min(CHUNK, n)
            yield bytes(buf[:k])
            del buf[:k]
            n -= k
    else:
        raise ValueError("unknown kind %r" % (kind,))


def sha256(n, seed=0, kind="random"):
    h = hashlib.sha256()
    for c in chunks(n, seed, kind):
        h.update(c)
    return h.hexdigest()


def main(argv):
    if len(argv) < 3 or argv[1] not in ("sha", "cat"):
        sys.stderr.write(__doc__)
        return 2
    n = int(argv[2])
    seed = int(argv[3]) if len(argv) > 3 else 0
    kind = argv[4] if len(argv) > 4 else "random"
    if argv[1] == "sha":
        print(sha256(n, seed, kind))
    else:
        out = sys.stdout.buffer
        for c in chunks(n, seed, kind):
            out.write(c)
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
