#!/usr/bin/env python3
"""ovscan live-poll tests: a guest-like writer of self-checking files and the
checker of what the polls saw.

Every file the writer produces is one "version" of a file id: its content is
content(id, version), deterministic, and ClamAV hash signatures (.hdb, one per
(id, version), named Live_<id>_<version>) make ovscan report each complete
version it scans as "infected" with that name.  A file scanned from a view that
is not point-in-time (blocks of two versions, or of another file) matches no
signature: verdict "clean" — a torn read.

  sigs --out F.hdb --ids N --versions M      the signatures
  run --root DIR --ids N --versions M --seed S --log LOG --stop FILE
        writes live/f<id>.bin versions 1, 2, … in random id order, each as
        the applications do it (write a temp file, fsync, rename over, fsync
        the directory), then syncfs, logging "<unix time> <id> <version>"
        after each, until FILE exists or every id reached M.
        Why syncfs: fsync puts ext4's metadata (the new inode, the directory
        entry) in the journal only; the kernel writes it to its home blocks
        ~30 s later (dirty_expire_centisecs).  ovscan reads home blocks (no
        journal replay), so without syncfs a file shows up in the first poll
        after that writeback, not necessarily the next poll.
  check --log LOG --polls P.json… --times T
        P.json: `ovscan poll --json` of consecutive polls; T: lines
        "<start> <end>" of each poll.  Checks: (1) every live file a poll
        scanned is a complete version of ITS id (no torn read, no file of
        another id), and one that was written before that poll ended — or
        empty: ovscan does not replay ext4's journal, so a name may be seen
        (its directory block written home) before its inode's update, i.e.
        the inode as created, size 0 (counted and printed, not an error);
        (2) every version written before poll k started and after poll k-1
        started is listed by poll k (new/modified), or by poll k-1 when it
        was written while poll k-1 ran; a version written during poll k is
        listed by poll k or k+1.
"""
import argparse
import ctypes
import hashlib
import json
import os
import random
import sys
import time


def content(i, v):
    rng = random.Random(i * 1000003 + v)
    size = 8192 + rng.randrange(0, 56) * 1024
    head = ("OVSELF id=%d version=%d\n" % (i, v)).encode()
    body = bytes(rng.getrandbits(8) for _ in range(256)) * (size // 256 + 1)
    return (head + body)[:size]


def sigs(a):
    with open(a.out, "w") as f:
        for i in range(a.ids):
            for v in range(1, a.versions + 1):
                c = content(i, v)
                f.write("%s:%d:Live_%d_%d\n" % (hashlib.md5(c).hexdigest(), len(c), i, v))


def run(a):
    rng = random.Random(a.seed)
    d = os.path.join(a.root, "live")
    os.makedirs(d, exist_ok=True)
    version = [0] * a.ids
    dfd = os.open(d, os.O_RDONLY)
    libc = ctypes.CDLL(None, use_errno=True)
    with open(a.log, "a", buffering=1) as log:
        while not os.path.exists(a.stop):
            left = [i for i in range(a.ids) if version[i] < a.versions]
            if not left:
                break
            i = rng.choice(left)
            version[i] += 1
            tmp = os.path.join(d, ".f%d.tmp" % i)
            with open(tmp, "wb") as f:
                f.write(content(i, version[i]))
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, os.path.join(d, "f%d.bin" % i))
            os.fsync(dfd)
            if libc.syncfs(dfd) != 0:
                raise OSError(ctypes.get_errno(), "syncfs")
            log.write("%.6f %d %d\n" % (time.time(), i, version[i]))
            if a.delay:
                time.sleep(a.delay)
    os.close(dfd)


def check(a):
    writes = []
    for line in open(a.log):
        t, i, v = line.split()
        writes.append((float(t), int(i), int(v)))
    times = [tuple(map(float, l.split())) for l in open(a.times) if l.strip()]
    polls = [json.loads(open(p).readline()) for p in a.polls]  # line 1: the poll; then detections
    assert len(times) == len(polls), "one time line per poll"
    errors = []
    listed = []
    scanned = 0
    empty = 0
    for k, p in enumerate(polls):
        names = set()
        for f in p.get("files", []):
            path = f["path"]
            if not path.startswith("/live/f") or not path.endswith(".bin"):
                continue
            i = int(path[len("/live/f"):-len(".bin")])
            names.add(i)
            if f["verdict"] == "none":
                continue
            scanned += 1
            sig = f.get("signature") or ""
            if f["verdict"] == "clean" and f["size"] == 0:
                # The name's directory block reached its home location
                # before the inode's (ovscan reads home blocks, no journal
                # replay): the inode as it was at creation, before its data
                # was allocated (ext4 keeps the on-disk size 0 until then).
                # Not a torn read: no byte of two versions is mixed.
                empty += 1
                continue
            if f["verdict"] != "infected" or not sig.startswith("Live_%d_" % i):
                errors.append("poll %d: %s scanned as %s %s: not a complete "
                              "version of id %d (torn read?)" % (k, path, f["verdict"], sig, i))
                continue
            v = int(sig[len("Live_%d_" % i):].split(".")[0])
            written = [t for (t, wi, wv) in writes if wi == i and wv == v]
            if not written or written[0] > times[k][1]:
                errors.append("poll %d: %s version %d was not written before the poll ended"
                              % (k, path, v))
        listed.append(names)
    for (t, i, v) in writes:
        for k in range(1, len(polls)):
            start_prev, end_prev = times[k - 1]
            start, end = times[k]
            if start_prev <= t < start:
                ok = i in listed[k] or (t < end_prev and i in listed[k - 1])
                if not ok:
                    errors.append("id %d version %d written at %.3f (between polls %d and "
                                  "%d) is listed by neither" % (i, v, t, k - 1, k))
    for e in errors[:20]:
        print("ERROR:", e, file=sys.stderr)
    print("writes %d, live files scanned %d (%d empty: stale inode), polls %d, errors %d"
          % (len(writes), scanned, empty, len(polls), len(errors)))
    return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sigs")
    s.add_argument("--out", required=True)
    s.add_argument("--ids", type=int, required=True)
    s.add_argument("--versions", type=int, required=True)
    r = sub.add_parser("run")
    r.add_argument("--root", required=True)
    r.add_argument("--ids", type=int, required=True)
    r.add_argument("--versions", type=int, required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--log", required=True)
    r.add_argument("--stop", required=True)
    r.add_argument("--delay", type=float, default=0.0)
    c = sub.add_parser("check")
    c.add_argument("--log", required=True)
    c.add_argument("--polls", nargs="+", required=True)
    c.add_argument("--times", required=True)
    a = ap.parse_args()
    if a.cmd == "sigs":
        sigs(a)
    elif a.cmd == "run":
        run(a)
    else:
        sys.exit(check(a))


if __name__ == "__main__":
    main()
