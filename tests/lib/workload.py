#!/usr/bin/env python3
"""ovscan — seeded guest workload and independent ground truth (stdlib only).

Owns the proof of recall: what changed in a filesystem between two polls is
computed here from content hashes of the mounted filesystem alone, never
from ovscan.

  workload.py populate --seed N --root DIR --files M
        a base tree (nested dirs, small/medium files, a few large files,
        sparse files with holes, hard-link pairs) to mkfs -d from or to
        write into a mounted guest before the first poll.
  workload.py [run] --seed N --root MNT [--ops K]
              [--profile recall|bench] [--fraction F] [--log FILE]
        a seeded random workload through the mounted filesystem.  recall:
        K operations (default 200), every operation kind at least once when
        K >= number of kinds.  bench: ceil(F * files) operations (F default
        0.01) on distinct files, mostly content changes.
  workload.py snapshot --root MNT --out FILE.json
        path -> {ino, size, sha256, mode, nlink, mtime_ns} of every regular
        file (paths "/a/b", quoted as ovscan quotes them: \\ and \\xNN).
  workload.py diff BEFORE.json AFTER.json [--out FILE]
        expected changes {new, modified, deleted, renamed, metadata, linked}
        from the two snapshots only.
  workload.py check --truth DIFF.json --poll POLL.json [--vm NAME]
              [--prefix p1:] [--min-precision 0.9] [--ignore-verdict]
        compares with `ovscan poll --json`: recall must be 100% (exit 1 and
        the missed files otherwise); prints precision.

Operation kinds (issue 3's list): create (sometimes in a new deep dir),
rewrite_same_size, modify_touch_back (mtime restored with os.utime),
modify_rename, hardlink_write, truncate_rewrite, fill_hole, append_large,
delete, rename_only, chmod_only.

Invariants: the same seed on the same tree gives the same operations; the
ground truth never depends on the operation log (the log is for humans).
Cost: snapshot reads every byte of every file once (sha256) and asks each
file's inode generation (one ioctl).
"""

import argparse
import fcntl
import hashlib
import json
import math
import os
import random
import stat
import struct
import sys

# ---------------------------------------------------------------- quoting


def utf8_sequence_length(b, i):
    """Length of the valid UTF-8 sequence at b[i:], or 0 (as common/quote.c)."""
    c = b[i]
    avail = len(b) - i
    if c < 0x80:
        return 1
    if 0xc2 <= c <= 0xdf:
        n, cp = 2, c & 0x1f
    elif 0xe0 <= c <= 0xef:
        n, cp = 3, c & 0x0f
    elif 0xf0 <= c <= 0xf4:
        n, cp = 4, c & 0x07
    else:
        return 0
    if avail < n:
        return 0
    for k in range(1, n):
        if b[i + k] & 0xc0 != 0x80:
            return 0
        cp = (cp << 6) | (b[i + k] & 0x3f)
    if (n == 3 and cp < 0x800) or (n == 4 and cp < 0x10000) or \
       0xd800 <= cp <= 0xdfff or cp > 0x10ffff:
        return 0
    return n


def quote_path(raw):
    """bytes -> str exactly as ov_quote_bytes() prints a guest name."""
    out = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x5c:
            out.append("\\\\"); i += 1; continue
        if c == 0x0a:
            out.append("\\n"); i += 1; continue
        if c == 0x09:
            out.append("\\t"); i += 1; continue
        if c == 0x0d:
            out.append("\\r"); i += 1; continue
        if c < 0x20 or c == 0x7f:
            out.append("\\x%02x" % c); i += 1; continue
        n = utf8_sequence_length(raw, i)
        if n == 0:
            out.append("\\x%02x" % c); i += 1; continue
        if n == 2 and c == 0xc2 and raw[i + 1] < 0xa0:
            out.append("\\x%02x\\x%02x" % (c, raw[i + 1])); i += 2; continue
        out.append(raw[i:i + n].decode("utf-8")); i += n
    return "".join(out)

# ---------------------------------------------------------------- snapshot


def walk_regular_files(root):
    """Yield (relative bytes path starting with b'/', lstat) of regular files."""
    rootb = os.fsencode(root)
    stack = [b""]
    while stack:
        rel = stack.pop()
        with os.scandir(rootb + rel if rel else rootb) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            relp = rel + b"/" + e.name
            st = e.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                stack.append(relp)
            elif stat.S_ISREG(st.st_mode):
                yield relp, st


FS_IOC_GETVERSION = 0x80087601     # _IOR('v', 1, long): ext2/3/4 i_generation


def sha256_and_generation(path):
    """Content hash, and the inode generation where the filesystem has one
    (ext4 gives a reused inode number a new generation), else None."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        try:
            gen = struct.unpack("l", fcntl.ioctl(f.fileno(), FS_IOC_GETVERSION,
                                                 b"\0" * 8))[0]
        except OSError:
            gen = None
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest(), gen


def snapshot(root):
    files = {}
    rootb = os.fsencode(root)
    for relp, st in walk_regular_files(root):
        digest, gen = sha256_and_generation(rootb + relp)
        files[quote_path(relp)] = {
            "ino": st.st_ino, "gen": gen, "size": st.st_size,
            "sha256": digest,
            "mode": stat.S_IMODE(st.st_mode), "nlink": st.st_nlink,
            "mtime_ns": st.st_mtime_ns,
        }
    return {"root": root, "files": files}

# ---------------------------------------------------------------- diff


def diff(before, after):
    """Expected changes from two snapshots alone.

    new:      path absent before whose inode is new, or whose content is not
              the content that inode had (a new file at an old inode number)
    modified: path whose content differs from what it had before (same path),
              or an inode whose content changed and that now has another
              path (modified then renamed; "old_path" says where it was)
    deleted:  path present before, absent after (and not renamed)
    renamed:  same inode, same content, other path; old path gone
    linked:   new name of an inode that kept its content and another name
    metadata: same path, same inode, same content, other mode or mtime

    Files are identified by (inode, generation) where the filesystem gives a
    generation (ext4); elsewhere (ntfs-3g) a new file that reuses a deleted
    file's inode number looks like "modified then renamed" (it is still in
    the recall set) and the deleted path is then not listed as deleted.
    """
    b, a = before["files"], after["files"]
    def ident(f):       # (inode, generation): a reused inode number is another file
        return (f["ino"], f.get("gen"))
    by_ino_before = {}
    for p, f in b.items():
        by_ino_before.setdefault(ident(f), []).append(p)
    out = {k: [] for k in ("new", "modified", "deleted", "renamed",
                           "metadata", "linked")}
    renamed_from = set()
    for p in sorted(a):
        f = a[p]
        old = b.get(p)
        if old is not None:
            if old["sha256"] != f["sha256"] or old["size"] != f["size"]:
                out["modified"].append({"path": p, "inode": f["ino"]})
            elif ident(old) != ident(f):
                # replaced by another file with identical content
                out["metadata"].append({"path": p, "inode": f["ino"], "replaced": True})
            elif old["mode"] != f["mode"] or old["mtime_ns"] != f["mtime_ns"]:
                out["metadata"].append({"path": p, "inode": f["ino"]})
            continue
        olds = list(by_ino_before.get(ident(f), []))
        if not olds:
            out["new"].append({"path": p, "inode": f["ino"]})
            continue
        same = [q for q in olds if b[q]["sha256"] == f["sha256"] and b[q]["size"] == f["size"]]
        gone = [q for q in olds if q not in a or ident(a[q]) != ident(f)]
        if not same:
            out["modified"].append({"path": p, "inode": f["ino"], "old_path": olds[0]})
            renamed_from.update(gone)
        elif gone and len(olds) == len(gone):
            out["renamed"].append({"path": p, "inode": f["ino"], "old_path": gone[0]})
            renamed_from.update(gone)
        else:
            out["linked"].append({"path": p, "inode": f["ino"], "other_path": olds[0]})
            renamed_from.update(gone)
    for p in sorted(b):
        if p not in a and p not in renamed_from:
            out["deleted"].append({"path": p, "inode": b[p]["ino"]})
    return out

# ---------------------------------------------------------------- workload

KINDS = ["create", "create_deep", "rewrite_same_size", "modify_touch_back",
         "modify_rename", "hardlink_write", "truncate_rewrite", "fill_hole",
         "append_large", "delete", "rename_only", "chmod_only"]

BENCH_WEIGHTS = {"create": 22, "create_deep": 3, "rewrite_same_size": 20,
                 "modify_touch_back": 5, "modify_rename": 5,
                 "hardlink_write": 3, "truncate_rewrite": 10, "fill_hole": 2,
                 "append_large": 10, "delete": 8, "rename_only": 6,
                 "chmod_only": 6}

LARGE = 1 << 20


class Workload:
    def __init__(self, root, rng, log, distinct):
        self.root = root
        self.rng = rng
        self.log = log
        self.distinct = distinct       # bench: never touch a file twice
        self.touched = set()
        self.counter = 0
        self.files = []                # relative str paths (os.fsdecode)
        self.dirs = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel = os.path.relpath(dirpath, root)
            rel = "" if rel == "." else rel
            if rel.startswith("lost+found") or rel.startswith("$") or \
               rel.startswith("System Volume Information"):
                continue
            self.dirs.append(rel)
            for n in sorted(filenames):
                p = os.path.join(rel, n)
                if os.path.isfile(self.abs(p)) and not os.path.islink(self.abs(p)):
                    self.files.append(p)

    def abs(self, rel):
        return os.path.join(self.root, rel)

    def fresh_name(self, prefix="w"):
        self.counter += 1
        return "%s%d-%06d" % (prefix, self.rng.randrange(1 << 30), self.counter)

    def pick(self, pred=lambda p, st: True):
        cands = [p for p in self.files if p not in self.touched]
        self.rng.shuffle(cands)
        for p in cands[:400]:
            try:
                st = os.lstat(self.abs(p))
            except FileNotFoundError:
                continue
            if pred(p, st):
                if self.distinct:
                    self.touched.add(p)
                return p, st
        return None, None

    def data(self, n):
        return self.rng.randbytes(n)

    def note(self, kind, *args):
        if self.log:
            self.log.write("%s %s\n" % (kind, " ".join(map(repr, args))))

    def change_bytes(self, path, st, keep_size=True):
        """Overwrite a random range in place with different bytes."""
        size = st.st_size
        with open(self.abs(path), "r+b") as f:
            if size == 0:
                f.write(self.data(self.rng.randint(1, 8192)))
                return
            off = self.rng.randrange(size)
            n = min(size - off, self.rng.randint(1, 16384))
            f.seek(off)
            old = f.read(n)
            new = bytes((x ^ (1 + self.rng.randrange(255))) for x in old)
            f.seek(off)
            f.write(new)

    # --- operations; each returns True if it did something
    def op_create(self, deep=False):
        d = self.rng.choice(self.dirs) if self.dirs else ""
        if deep:
            shallow = [x for x in self.dirs if x.count(os.sep) < 2]
            d = self.rng.choice(shallow) if shallow else ""
            for _ in range(self.rng.randint(3, 6)):
                d = os.path.join(d, self.fresh_name("d"))
            os.makedirs(self.abs(d))
            self.dirs.append(d)
        p = os.path.join(d, self.fresh_name("new"))
        size = self.rng.choice([0, 1, 100, 4096, 5000, 70000, 300000])
        with open(self.abs(p), "wb") as f:
            f.write(self.data(size))
        self.files.append(p)
        self.touched.add(p)
        self.note("create_deep" if deep else "create", p, size)
        return True

    def op_create_deep(self):
        return self.op_create(deep=True)

    def op_rewrite_same_size(self):
        p, st = self.pick(lambda p, st: st.st_size > 0)
        if not p:
            return False
        with open(self.abs(p), "r+b") as f:
            old = f.read()
            new = bytearray(self.data(len(old)))
            if new == old:
                new[0] ^= 0xff
            f.seek(0)
            f.write(new)
        self.note("rewrite_same_size", p, st.st_size)
        return True

    def op_modify_touch_back(self):
        p, st = self.pick(lambda p, st: st.st_size > 0)
        if not p:
            return False
        self.change_bytes(p, st)
        os.utime(self.abs(p), ns=(st.st_atime_ns, st.st_mtime_ns))
        self.note("modify_touch_back", p)
        return True

    def op_modify_rename(self):
        p, st = self.pick()
        if not p:
            return False
        self.change_bytes(p, st)
        q = os.path.join(self.rng.choice(self.dirs), self.fresh_name("mv"))
        os.rename(self.abs(p), self.abs(q))
        self.files.remove(p)
        self.files.append(q)
        self.touched.add(q)
        self.note("modify_rename", p, q)
        return True

    def op_hardlink_write(self):
        p, st = self.pick(lambda p, st: st.st_nlink > 1)
        created = None
        if not p:
            p, st = self.pick(lambda p, st: st.st_nlink == 1)
            if not p:
                return False
            created = os.path.join(self.rng.choice(self.dirs), self.fresh_name("ln"))
            os.link(self.abs(p), self.abs(created))
            self.files.append(created)
            self.touched.add(created)
            target = created
        else:
            target = p
        self.change_bytes(target, os.lstat(self.abs(target)))
        self.note("hardlink_write", p, created)
        return True

    def op_truncate_rewrite(self):
        p, st = self.pick(lambda p, st: st.st_size > 0)
        if not p:
            return False
        same = self.rng.random() < 0.5
        size = st.st_size if same else self.rng.randint(1, max(2, 2 * st.st_size))
        os.truncate(self.abs(p), 0)
        with open(self.abs(p), "r+b") as f:
            f.write(self.data(size))
        self.note("truncate_rewrite", p, st.st_size, size)
        return True

    def op_fill_hole(self):
        def sparse(p, st):
            return st.st_size > 8192 and st.st_blocks * 512 < st.st_size - 4096
        p, st = self.pick(sparse)
        if not p:
            return self.make_sparse()
        fd = os.open(self.abs(p), os.O_RDWR)
        try:
            try:
                hole = os.lseek(fd, 0, os.SEEK_HOLE)
            except OSError:
                hole = st.st_size
            if hole >= st.st_size:
                hole = self.rng.randrange(0, st.st_size - 4096) & ~4095
            n = min(st.st_size - hole, self.rng.choice([512, 4096, 12288]))
            os.pwrite(fd, self.data(n), hole)
        finally:
            os.close(fd)
        self.note("fill_hole", p, hole, n)
        return True

    def make_sparse(self):
        """No sparse file left: create one (counts as a new file)."""
        p = os.path.join(self.rng.choice(self.dirs), self.fresh_name("sparse"))
        with open(self.abs(p), "wb") as f:
            f.write(self.data(100))
            f.seek(LARGE)
            f.write(self.data(4096))
        self.files.append(p)
        self.touched.add(p)
        self.note("fill_hole(no sparse file: created)", p)
        return True

    def op_append_large(self):
        # recall: a large file (the case issue 3 lists); bench: any file,
        # picked uniformly like every other bench op, so that "1% of the
        # files" does not turn into a much larger share of the bytes.
        if self.distinct:
            p, st = self.pick()
        else:
            p, st = self.pick(lambda p, st: st.st_size >= LARGE // 2)
        if not p:
            p, st = self.pick()
            if not p:
                return False
        n = self.rng.choice([100, 4096, 65536, 200000])
        with open(self.abs(p), "ab") as f:
            f.write(self.data(n))
        self.note("append_large", p, st.st_size, n)
        return True

    def op_delete(self):
        p, st = self.pick()
        if not p:
            return False
        os.unlink(self.abs(p))
        self.files.remove(p)
        self.note("delete", p)
        return True

    def op_rename_only(self):
        p, st = self.pick()
        if not p:
            return False
        q = os.path.join(self.rng.choice(self.dirs), self.fresh_name("rn"))
        os.rename(self.abs(p), self.abs(q))
        self.files.remove(p)
        self.files.append(q)
        self.touched.add(q)
        self.note("rename_only", p, q)
        return True

    def op_chmod_only(self):
        p, st = self.pick()
        if not p:
            return False
        mode = stat.S_IMODE(st.st_mode) ^ self.rng.choice([0o100, 0o020, 0o004, 0o640])
        os.chmod(self.abs(p), mode)
        self.note("chmod_only", p, oct(mode))
        return True


def run(args):
    rng = random.Random(args.seed)
    log = open(args.log, "w") if args.log else None
    w = Workload(args.root, rng, log, distinct=(args.profile == "bench"))
    if args.profile == "bench":
        n = args.ops if args.ops else max(1, math.ceil(args.fraction * len(w.files)))
        kinds, weights = zip(*BENCH_WEIGHTS.items())
        plan = [rng.choices(kinds, weights)[0] for _ in range(n)]
    else:
        n = args.ops if args.ops else 200
        plan = list(KINDS) if n >= len(KINDS) else []
        plan += [rng.choice(KINDS) for _ in range(n - len(plan))]
        rng.shuffle(plan)
    done = {}
    for kind in plan:
        if getattr(w, "op_" + kind)():
            done[kind] = done.get(kind, 0) + 1
    os.sync()
    if log:
        log.close()
    print(json.dumps({"ops": sum(done.values()), "by_kind": done,
                      "files_before": len(w.files)}), file=sys.stderr)
    if args.profile == "recall" and n >= len(KINDS):
        missing = [k for k in KINDS if k not in done]
        if missing:
            sys.exit("workload: operation kinds not performed (no suitable file?): %s" % missing)


def populate(args):
    rng = random.Random(args.seed)
    root = args.root
    os.makedirs(root, exist_ok=True)
    dirs = [""]
    for i in range(max(1, args.files // 20)):
        d = os.path.join(rng.choice(dirs), "dir%04d" % i)
        os.makedirs(os.path.join(root, d), exist_ok=True)
        dirs.append(d)
    sizes = [0, 1, 17, 512, 4095, 4096, 4097, 10000, 65536, 150000]
    made = []
    for i in range(args.files):
        p = os.path.join(rng.choice(dirs), "f%05d.bin" % i)
        with open(os.path.join(root, p), "wb") as f:
            kind = i % 25
            if kind == 0:                      # large
                f.write(rng.randbytes(LARGE + rng.randrange(LARGE)))
            elif kind == 1:                    # sparse: data, hole, data
                f.write(rng.randbytes(3000))
                f.seek(LARGE)
                f.write(rng.randbytes(8192))
            else:
                f.write(rng.randbytes(rng.choice(sizes)))
        made.append(p)
    for i in range(max(1, args.files // 30)):  # hard-link pairs
        src = rng.choice(made)
        dst = os.path.join(rng.choice(dirs), "hl%04d" % i)
        if not os.path.exists(os.path.join(root, dst)):
            os.link(os.path.join(root, src), os.path.join(root, dst))

# ---------------------------------------------------------------- check


def load_polls(path, vm):
    text = open(path).read()
    try:
        doc = json.loads(text)
        objs = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError:
        objs = [json.loads(line) for line in text.splitlines() if line.strip()]
    # `poll --json` also prints detection and skipped-disk objects.
    objs = [o for o in objs if o.get("type", "poll") == "poll"]
    if vm is not None:
        objs = [o for o in objs if o.get("vm") == vm]
    if len(objs) != 1:
        sys.exit("check: expected exactly one poll object%s in %s, found %d"
                 % (" for vm " + vm if vm else "", path, len(objs)))
    return objs[0]


def check(args):
    truth = json.load(open(args.truth))
    poll = load_polls(args.poll, args.vm)
    for key in ("vm", "poll", "tracker", "mode", "dirty_bytes", "duration_s", "files"):
        if key not in poll:
            sys.exit("check: poll output lacks '%s'" % key)
    pre = args.prefix
    listed = poll["files"]
    by_path = {}
    by_ino = {}
    for e in listed:
        by_path.setdefault(e["path"], []).append(e)
        by_ino.setdefault(e.get("inode"), []).append(e)

    def rescanned(e):
        return e.get("change") in ("new", "modified", "renamed") and \
            (args.ignore_verdict or e.get("verdict") not in (None, "none"))

    must = truth["new"] + truth["modified"]
    missed, by_other_name = [], 0
    for t in must:
        if any(rescanned(e) for e in by_path.get(pre + t["path"], [])):
            continue
        if any(rescanned(e) for e in by_ino.get(t["inode"], [])):
            by_other_name += 1                 # hard link: scanned under another name
            continue
        missed.append(t)
    changed_paths = {pre + t["path"] for t in must}
    changed_inos = {t["inode"] for t in must}
    content = [e for e in listed if e.get("change") in ("new", "modified")]
    true_pos = [e for e in content
                if e["path"] in changed_paths or e.get("inode") in changed_inos]
    recall = 1.0 if not must else (len(must) - len(missed)) / len(must)
    precision = 1.0 if not content else len(true_pos) / len(content)
    deleted_paths = {e["path"] for e in listed if e.get("change") == "deleted"}
    deleted_seen = sum(1 for t in truth["deleted"] if pre + t["path"] in deleted_paths)
    report = {
        "vm": poll.get("vm"), "poll": poll.get("poll"), "mode": poll.get("mode"),
        "dirty_bytes": poll.get("dirty_bytes"), "duration_s": poll.get("duration_s"),
        "truth_changed": len(must), "missed": len(missed),
        "recalled_under_other_name": by_other_name,
        "recall": recall, "listed_new_or_modified": len(content),
        "precision": precision,
        "truth_deleted": len(truth["deleted"]), "deleted_listed": deleted_seen,
        "truth_renamed": len(truth["renamed"]), "truth_metadata": len(truth["metadata"]),
    }
    print(json.dumps(report, indent=1))
    for t in missed:
        print("MISSED: %s (inode %s)%s" % (pre + t["path"], t["inode"],
              " was " + t["old_path"] if "old_path" in t else ""), file=sys.stderr)
    if missed:
        sys.exit(1)
    if args.min_precision is not None and precision < args.min_precision:
        print("precision %.3f < %.3f" % (precision, args.min_precision), file=sys.stderr)
        sys.exit(1)

# ---------------------------------------------------------------- main


def main(argv):
    p = argparse.ArgumentParser(prog="workload.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd")
    r = sub.add_parser("run")
    r.add_argument("--seed", type=int, required=True)
    r.add_argument("--root", required=True)
    r.add_argument("--ops", type=int, default=0)
    r.add_argument("--profile", choices=["recall", "bench"], default="recall")
    r.add_argument("--fraction", type=float, default=0.01)
    r.add_argument("--log")
    po = sub.add_parser("populate")
    po.add_argument("--seed", type=int, required=True)
    po.add_argument("--root", required=True)
    po.add_argument("--files", type=int, default=200)
    s = sub.add_parser("snapshot")
    s.add_argument("--root", required=True)
    s.add_argument("--out", required=True)
    d = sub.add_parser("diff")
    d.add_argument("before")
    d.add_argument("after")
    d.add_argument("--out")
    c = sub.add_parser("check")
    c.add_argument("--truth", required=True)
    c.add_argument("--poll", required=True)
    c.add_argument("--vm")
    c.add_argument("--prefix", default="")
    c.add_argument("--min-precision", type=float)
    c.add_argument("--ignore-verdict", action="store_true")
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["run"] + argv
    args = p.parse_args(argv)
    if args.cmd == "run":
        run(args)
    elif args.cmd == "populate":
        populate(args)
    elif args.cmd == "snapshot":
        with open(args.out, "w") as f:
            json.dump(snapshot(args.root), f, indent=0, sort_keys=True)
    elif args.cmd == "diff":
        out = diff(json.load(open(args.before)), json.load(open(args.after)))
        text = json.dumps(out, indent=1)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text + "\n")
        else:
            print(text)
        print("truth: " + ", ".join("%s %d" % (k, len(v)) for k, v in out.items()),
              file=sys.stderr)
    elif args.cmd == "check":
        check(args)
    else:
        p.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
