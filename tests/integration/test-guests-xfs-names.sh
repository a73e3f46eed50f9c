#!/bin/bash
# Hostile file names on a real XFS (read through the libguestfs appliance's
# ovscan-fs-walk listing, fsmap/xfs_walk.c): names with newlines, tabs,
# spaces, backslashes, invalid UTF-8 and names that spell the listing's own
# records ("F …", "Z 0 0", hex digits) are each listed exactly once with
# exactly their bytes (fsmap-dump --extract: path and content), none is
# hidden and none is invented; EICAR in such names is found by `scan`.
# Guest-reachable oddities that used to fail the whole XFS walk now touch
# only their own file: a pre-1970 mtime (listed, scanned) and a 5 EiB sparse
# file (reported not scanned, every other file still scanned).
# Modes: a 0644 and a 0755 file come out as 0644 and 0755 (the listing's
# st_mode is octal), with their uid/gid.
# The disk is a bare XFS (no partition table), made by mkfs.xfs and filled
# through a kernel loop mount.  One appliance launch for fsmap-dump, one for
# scan (TCG: about a minute each).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/lvm.sh"
requires_root
requires mkfs.xfs -V
requires python3 --version
grep -qw xfs /proc/filesystems ||
  { echo "SKIP: the kernel cannot mount XFS (needed to write the guest)" >&2; exit 77; }
lvm_appliance_env

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
truncate -s 320M "$T/vm.raw"
mkfs.xfs -q -f "$T/vm.raw" || fail "mkfs.xfs"
mkdir "$T/mnt"
mount -o loop -t xfs "$T/vm.raw" "$T/mnt" || fail "mounting the XFS"
# expected.tsv: quoted path (ov_quote_path rules) TAB content file.
EICAR="$eicar" python3 - "$T/mnt" "$T/expected.tsv" "$T/want" <<'PY' || { umount "$T/mnt"; fail "populating"; }
import os, sys
root, tsv, want = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
os.mkdir(want)
eicar = os.environ["EICAR"].encode()
names = [b"new\nline.exe", b"tab\there", b"sp ace ", b"back\\slash\\n",
         b"\xff\xfe bad utf8 \xc3(", b"F 99 4096 100644 0 0 0 0 0 0 1 1 2f61",
         b"x\nZ 0 0\nF 1 2", b"2f6576696c", b"X 2 2f", b"-", b"..."]
def quote(b):
    out, i = "", 0
    while i < len(b):
        c = b[i]
        if c == 0x5c: out += "\\\\"; i += 1; continue
        if c in (10, 9, 13): out += {10: "\\n", 9: "\\t", 13: "\\r"}[c]; i += 1; continue
        if c < 0x20 or c == 0x7f: out += "\\x%02x" % c; i += 1; continue
        if c < 0x80: out += chr(c); i += 1; continue
        for n in (4, 3, 2):
            try:
                out += b[i:i + n].decode("utf-8"); i += n; break
            except UnicodeDecodeError:
                pass
        else:
            out += "\\x%02x" % c; i += 1
    return out
rows = []
def plant(rel, content):
    with open(root + b"/" + rel, "wb") as f:
        f.write(content)
    k = len(rows)
    with open(os.path.join(want, str(k)), "wb") as f:
        f.write(content)
    rows.append((quote(b"/" + rel), k))
os.mkdir(root + b"/d\nir \\ F")
for i, n in enumerate(names):
    plant(n, b"content %d\n" % i)
    plant(b"d\nir \\ F/" + n, b"inner %d\n" % i)
plant(b"d\nir \\ F/evil\nname.exe", eicar)
plant(b"old", b"from 1960\n")
plant(b"mode644", b"rw-r--r--\n")
plant(b"mode755", b"rwxr-xr-x\n")
os.chmod(root + b"/mode644", 0o644)
os.chmod(root + b"/mode755", 0o755)
os.chown(root + b"/mode755", 1234, 5678)
os.utime(root + b"/old", (-315619200, -315619200))
with open(tsv, "w") as f:
    for q, k in rows:
        f.write("%s\t%d\n" % (q, k))
# Not a regular-file content check: 5 EiB sparse, must be reported.
with open(root + b"/huge", "wb") as f:
    os.truncate(f.fileno(), 5 << 60)
PY
umount "$T/mnt" || fail "umount"

mkdir "$T/got"
"$FSMAP_DUMP" --format raw --extract "$T/got" "$T/vm.raw" > "$T/dump" 2> "$T/dump.err" ||
  { cat "$T/dump.err"; fail "fsmap-dump"; }
# The only error is the 5 EiB file's (checked below).
errors=$(grep -P '^error\t' "$T/dump" || :)
expect_eq "$(grep -c . <<< "$errors")" 1 "error lines in the listing: $errors"
mode_of () {   # PATH -> "MODE UID GID" from the dump's meta record
  awk -F'\t' -v p="$1" '$1=="meta" {m[$2]=$3" "$4" "$5} $1=="path" && $3==p {n=$2}
    END {if (n != "") print m[n]}' "$T/dump"
}
expect_eq "$(mode_of /mode644)" "0644 0 0" "mode of a 0644 file"
expect_eq "$(mode_of /mode755)" "0755 1234 5678" "mode of a 0755 file"
# Every expected path exactly once, with its content; no other path.
python3 - "$T/dump" "$T/expected.tsv" "$T/want" "$T/got" <<'PY' || fail "XFS names not listed exactly"
import sys
dump, tsv, want, got = sys.argv[1:]
paths = {}
for line in open(dump, encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    if f[0] == "path":
        paths.setdefault(f[2], []).append(f[1])
expected = dict(l.rstrip("\n").split("\t") for l in open(tsv, encoding="utf-8"))
bad = []
for q, k in expected.items():
    ns = paths.get(q, [])
    if len(ns) != 1:
        bad.append("%r listed %d times" % (q, len(ns)))
    elif open("%s/%s" % (got, ns[0]), "rb").read() != open("%s/%s" % (want, k), "rb").read():
        bad.append("%r content differs" % q)
extra = set(paths) - set(expected)
if extra:
    bad.append("unexpected paths: %r" % sorted(extra))
print("\n".join(bad) or "all %d names exact" % len(expected))
sys.exit(1 if bad else 0)
PY
grep -P '^error\t.*/huge.*larger than' "$T/dump" > /dev/null || fail "the 5 EiB file is not reported"

set +e
"$OVSCAN" scan "$T/vm.raw" --format raw --test-signatures > "$T/scan.out" 2> "$T/scan.err"
status=$?
set -e
cat "$T/scan.out" "$T/scan.err"
expect_eq "$status" 1 "scan exit status"
diff <(grep ' FOUND$' "$T/scan.out" | sed -E 's/\.UNOFFICIAL FOUND$/ FOUND/' | sort) - <<'LIST' || fail "detections differ"
/d\nir \\ F/evil\nname.exe: Ovscan.Test.EICAR FOUND
LIST
echo PASS
