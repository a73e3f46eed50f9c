#!/usr/bin/env python3
"""ovscan bench — deterministic signature database of realistic size.

Usage: make-sigs.py OUTDIR [--seed N] [--hashes N] [--bodies N] [--test-ndb PATH]

Writes into OUTDIR (a directory both clamscan -d and ovscan --database load):
  bench.hdb   N hash signatures   md5hex:size:Bench.Hash.N
              (random md5s, log-uniform sizes 64 B .. 16 MiB: they never match,
              but libclamav still hashes every file whose size occurs in the set,
              as with a real daily.cvd)
  bench.ndb   N body signatures   Bench.Body.N:TARGET:OFFSET:HEX
              16..64 static bytes in 1..4 parts joined by ?? / {n-m} / * ,
              a few nibble wildcards and (aa|bb) alternatives, mostly target 0
              offset '*', some target 1 (PE) / 6 (ELF) / 7 (text) and a few
              anchored offsets, 20 % starting with common x86 / file-format
              prefixes so that the Aho-Corasick trie sees the shared prefixes a
              real database has.  Every signature keeps >= 8 random static bytes
              in each part, so a false match is ~2^-64 per part.
  ovscan-test.ndb  copy of the project's test signatures (signatures/ovscan-test.ndb)
              or, when that file does not exist yet, bench-fallback.ndb with
              EICAR plus bench-fallback.hdb with the md5 of clamav-testfiles'
              clam.exe (and the script says so on stderr).

Same seed + same counts -> byte-identical files (Python's random.Random is
stable across versions for getrandbits/randrange on ints).  Cost: ~2 s, 25 MB.
Python 3 standard library only.
"""
import argparse
import hashlib
import math
import os
import random
import shutil
import sys

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")

# Byte prefixes common at the start of real body signatures (x86 prologues,
# PE/ELF/PDF/zip/script markers).  Starting some signatures with them fills
# shared trie nodes and makes the matcher verify more candidates, as real
# databases do.
COMMON_PREFIXES = [
    "558bec", "558bec83ec", "8bff558bec", "4883ec28", "4889e5", "e8000000",
    "6a00", "ff15", "68", "8b45", "33c0", "4d5a90", "504b0304", "7f454c46",
    "255044462d", "3c736372697074", "2e646c6c", "0000000000",
]


def hex_bytes(rng, n):
    return rng.getrandbits(8 * n).to_bytes(n, "big").hex()


def body_part(rng, n):
    """n random static bytes, sometimes with a nibble or byte wildcard or an
    alternative inside (never at the ends, so every part starts and ends on
    static bytes as libclamav wants)."""
    h = hex_bytes(rng, n)
    r = rng.random()
    if n >= 12 and r < 0.10:
        i = 2 * rng.randrange(3, n - 3)
        return h[:i] + "??" + h[i + 2:]
    if n >= 12 and r < 0.15:
        i = 2 * rng.randrange(3, n - 3)
        return h[:i] + h[i] + "?" + h[i + 2:]
    if n >= 12 and r < 0.20:
        i = 2 * rng.randrange(3, n - 3)
        return h[:i] + "(" + h[i:i + 2] + "|" + hex_bytes(rng, 1) + ")" + h[i + 2:]
    return h


def body_signature(rng, i):
    total = rng.randrange(16, 65)                    # static bytes
    nparts = rng.choices([1, 2, 3, 4], weights=[55, 25, 12, 8])[0]
    nparts = min(nparts, total // 8)
    # split total into nparts of >= 8 bytes each
    spare = total - 8 * nparts
    cuts = sorted(rng.randint(0, spare) for _ in range(nparts - 1))
    extra = [b - a for a, b in zip([0] + cuts, cuts + [spare])]
    parts = [body_part(rng, 8 + e) for e in extra]
    if rng.random() < 0.20:
        parts[0] = rng.choice(COMMON_PREFIXES) + parts[0]
    sig = parts[0]
    for p in parts[1:]:
        r = rng.random()
        if r < 0.45:
            sig += "??" * rng.randrange(1, 5)
        elif r < 0.85:
            lo = rng.randrange(0, 32)
            sig += "{%d-%d}" % (lo, lo + rng.randrange(1, 200))
        else:
            sig += "*"
        sig += p
    r = rng.random()
    if r < 0.70:
        target, offset = 0, "*"
    elif r < 0.85:
        target, offset = 1, "*"
    elif r < 0.90:
        target, offset = 1, "EP+%d" % rng.randrange(0, 64)
    elif r < 0.95:
        target, offset = 6, "*"
    elif r < 0.98:
        target, offset = 7, "*"
    else:
        target, offset = 0, "%d" % rng.randrange(0, 4096)
    return "Bench.Body.%d:%d:%s:%s\n" % (i, target, offset, sig)


def hash_signature(rng, i):
    size = int(math.exp(rng.uniform(math.log(64), math.log(16 << 20))))
    return "%s:%d:Bench.Hash.%d\n" % (hex_bytes(rng, 16), size, i)


def write_atomically(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.writelines(lines)
    os.replace(tmp, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=20241)
    ap.add_argument("--hashes", type=int, default=300000)
    ap.add_argument("--bodies", type=int, default=30000)
    ap.add_argument("--test-ndb", default=os.path.join(here, "..", "signatures", "ovscan-test.ndb"))
    ap.add_argument("--testfiles", default="/usr/share/clamav-testfiles")
    a = ap.parse_args()

    os.makedirs(a.outdir, exist_ok=True)
    rng = random.Random(a.seed)
    write_atomically(os.path.join(a.outdir, "bench.hdb"),
                     (hash_signature(rng, i) for i in range(a.hashes)))
    rng = random.Random(a.seed + 1)
    write_atomically(os.path.join(a.outdir, "bench.ndb"),
                     (body_signature(rng, i) for i in range(a.bodies)))

    for stale in ("ovscan-test.ndb", "bench-fallback.ndb", "bench-fallback.hdb"):
        p = os.path.join(a.outdir, stale)
        if os.path.exists(p):
            os.unlink(p)
    if os.path.isfile(a.test_ndb):
        shutil.copyfile(a.test_ndb, os.path.join(a.outdir, "ovscan-test.ndb"))
        print("make-sigs: test signatures from %s" % os.path.relpath(a.test_ndb), file=sys.stderr)
    else:
        print("make-sigs: NOTE %s does not exist yet; using bench's fallback "
              "test signatures (EICAR body, clam.exe md5)" % a.test_ndb, file=sys.stderr)
        write_atomically(os.path.join(a.outdir, "bench-fallback.ndb"),
                         ["Bench.Fallback.EICAR:0:*:%s\n" % EICAR.hex()])
        clam = os.path.join(a.testfiles, "clam.exe")
        with open(clam, "rb") as f:
            data = f.read()
        write_atomically(os.path.join(a.outdir, "bench-fallback.hdb"),
                         ["%s:%d:Bench.Fallback.ClamExe\n" % (hashlib.md5(data).hexdigest(), len(data))])
    print("make-sigs: %d hash + %d body signatures in %s (seed %d)"
          % (a.hashes, a.bodies, a.outdir, a.seed), file=sys.stderr)


if __name__ == "__main__":
    main()
