#!/bin/bash
# ovscan — proves the recall test machinery itself, without ovscan:
# tests/lib/guest.sh (qemu-storage-daemon + nbdfuse + loop mount) really
# records every guest write in the qcow2's persistent dirty bitmap, and
# tests/lib/workload.py's ground truth agrees with what the kernel wrote.
#
# ext4 (4 KiB blocks, bitmap granularity 4 KiB):
#   1. a seeded workload of every operation kind runs through the kernel;
#   2. before umount, the physical extents (FIEMAP via filefrag) of every
#      file the ground truth lists as new or modified, and the inode-table
#      block of each of them (debugfs imap), are recorded;
#   3. after a clean stop the bitmap is not "in-use"; comparing the raw disk
#      before and after, every 4 KiB block whose bytes changed is inside the
#      dirty extents that qemu-nbd reports, every changed file's inode-table
#      block is dirty, and every changed file with data has a block that
#      both changed and is dirty (the kernel wrote where the truth says);
#   4. the check can fail: the data of unchanged files is clean, and less
#      than half of the disk is dirty;
#   5. kill -9 of qemu-storage-daemon leaves the bitmap in-use, and qemu-nbd
#      then refuses it as inconsistent.
# workload.py check accepts a complete synthetic poll and rejects one that
# misses a file or did not scan it.
# ntfs (ntfs-3g on the same kind of setup): the workload runs, the bitmap
# records writes, a clean stop leaves it consistent, and the ground truth
# sees every operation kind's effect.
# shellcheck source=../functions.sh
source "$(dirname "$0")/../functions.sh"
source "$OVSCAN_SOURCE_DIR/tests/lib/guest.sh"
WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"

requires_root
requires qemu-storage-daemon --version
requires nbdfuse --version
requires fusermount3 --version
requires qemu-nbd --version
requires nbdinfo --version
requires python3 --version
requires filefrag -V
requires debugfs -V

SEED=${SEED:-$RANDOM}
echo "seed $SEED (rerun with SEED=$SEED)"

# dirty_map IMG BITMAP OUT: dirty extents "offset length" of BITMAP in IMG
dirty_map () {
  local sock="$T/ro.sock" pid i
  rm -f "$sock"
  qemu-nbd -r -f qcow2 -B "$2" -k "$sock" "$1" 2>"$T/qemu-nbd.err" &
  pid=$!
  for (( i=0; i<100; i++ )); do [ -S "$sock" ] && break; sleep 0.05; done
  if ! nbdinfo --map="qemu:dirty-bitmap:$2" "nbd+unix:///?socket=$sock" > "$T/map.txt"; then
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    return 1
  fi
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  awk '$3 == 1 { print $1, $2 }' "$T/map.txt" > "$3"
}

# ------------------------------------------------------------------ ext4
mkdir -p "$T/src" "$T/mnt"
python3 "$WORKLOAD" populate --seed "$SEED" --root "$T/src" --files 150 ||
  fail "populate"
t0=$(date +%s.%N)
guest_mkfs "$T/vm.qcow2" 64M ext4 "$T/src" -b 4096 || fail "guest_mkfs ext4"
qemu-img bitmap --add --granularity 4096 "$T/vm.qcow2" ovscan-1 || fail "bitmap add"
qemu-img convert -f qcow2 -O raw "$T/vm.qcow2" "$T/before.raw" || fail "convert before"
expect_eq "$(guest_bitmaps "$T/vm.qcow2")" ovscan-1 "guest_bitmaps"

guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start ext4"
mountpoint -q "$T/mnt" || fail "nothing mounted at $T/mnt"
expect_eq "$(guest_bitmap_flags "$T/vm.qcow2" ovscan-1)" "in-use auto" \
  "flags of the bitmap while qsd has it"
# qsd holds the image's write lock, as a running VM would.
qemu-img info "$T/vm.qcow2" >/dev/null 2>&1 && fail "image not locked while the guest runs"

python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/before.json" || fail "snapshot"
python3 "$WORKLOAD" --seed "$SEED" --root "$T/mnt" --ops 300 --log "$T/ops.log" ||
  fail "workload"
python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/after.json" || fail "snapshot"
python3 "$WORKLOAD" diff "$T/before.json" "$T/after.json" --out "$T/truth.json" ||
  fail "diff"
dev=$(guest_dev "$T/mnt")

# Byte ranges the kernel wrote for changed files, and byte ranges of
# unchanged files' data, while the filesystem is mounted.
python3 - "$T/mnt" "$T/truth.json" "$T/after.json" "$dev" "$T/ranges" <<'EOF' || fail "ranges"
import json, re, subprocess, sys
mnt, truth, after, dev, out = sys.argv[1:]
truth = json.load(open(truth)); after = json.load(open(after))["files"]
def unquote(p):       # workload paths here are plain ASCII except "\\"
    return p.replace("\\\\", "\\")
def extents(path):
    o = subprocess.run(["filefrag", "-v", "-b4096", mnt + unquote(path)],
                       capture_output=True, text=True, check=True).stdout
    for m in re.finditer(r"^\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+\d+:.*?$", o, re.M):
        if "unwritten" in m.group(0):
            continue
        yield int(m.group(1)) * 4096, (int(m.group(2)) - int(m.group(1)) + 1) * 4096
changed = truth["new"] + truth["modified"]
changed_inos = {t["inode"] for t in changed}
cmds = "".join("imap <%d>\n" % t["inode"] for t in changed)
o = subprocess.run(["debugfs", "-f", "-", dev], input=cmds, capture_output=True,
                   text=True, check=True).stdout
itable = [int(b) * 4096 + int(off, 16) for b, off in
          re.findall(r"located at block (\d+), offset (0x[0-9a-f]+)", o)]
if len(itable) != len(changed):
    sys.exit("debugfs imap: %d answers for %d inodes" % (len(itable), len(changed)))
with open(out + ".changed", "w") as f:
    for t in changed:
        for off, n in extents(t["path"]):
            f.write("%d %d data %s\n" % (off, n, t["path"]))
    for t, off in zip(changed, itable):
        f.write("%d 256 inode %s\n" % (off, t["path"]))
with open(out + ".unchanged", "w") as f:
    for p, a in after.items():
        if a["ino"] not in changed_inos:
            for off, n in extents(p):
                f.write("%d %d data %s\n" % (off, n, p))
EOF
[ -s "$T/ranges.changed" ] || fail "no changed file has blocks"
[ -s "$T/ranges.unchanged" ] || fail "no unchanged file has blocks"
t1=$(date +%s.%N)
guest_stop "$T/mnt" || fail "guest_stop ext4"
t2=$(date +%s.%N)
mountpoint -q "$T/mnt" && fail "still mounted after guest_stop"
expect_eq "$(guest_bitmap_flags "$T/vm.qcow2" ovscan-1)" "auto" \
  "flags of the bitmap after a clean stop"

dirty_map "$T/vm.qcow2" ovscan-1 "$T/dirty" || fail "reading the dirty bitmap"
qemu-img convert -U -f qcow2 -O raw "$T/vm.qcow2" "$T/after.raw" || fail "convert after"
python3 - "$T/dirty" "$T/ranges" "$T/before.raw" "$T/after.raw" <<'EOF' || fail "QEMU's bitmap disagrees with the kernel's writes"
import bisect, sys
dirty_path, ranges, before_raw, after_raw = sys.argv[1:]
B = 4096
dirty = [tuple(map(int, l.split())) for l in open(dirty_path)]
starts = [s for s, _ in dirty]
def is_dirty(off):
    i = bisect.bisect_right(starts, off) - 1
    return i >= 0 and off < dirty[i][0] + dirty[i][1]
def touches(off, n):
    i = bisect.bisect_right(starts, off + n - 1) - 1
    return i >= 0 and dirty[i][0] + dirty[i][1] > off
# 1. every 4 KiB block whose bytes differ between before and after is dirty
differ = set()
with open(before_raw, "rb") as fb, open(after_raw, "rb") as fa:
    off = 0
    while True:
        a, b = fa.read(B), fb.read(B)
        if not a and not b:
            break
        if a != b:
            differ.add(off)
        off += B
disk_size = off
missing = sorted(o for o in differ if not is_dirty(o))
total = sum(n for _, n in dirty)
print("dirty: %d extents, %d KiB of %d KiB; %d blocks differ, %d of them not dirty"
      % (len(dirty), total // 1024, disk_size // 1024, len(differ), len(missing)))
for o in missing[:20]:
    print("CHANGED BUT NOT DIRTY: block at byte %d" % o, file=sys.stderr)
# 2. every new/modified file with data has a block that differs (the kernel
#    wrote where the ground truth says) and is dirty; its inode is dirty
files = {}
for line in open(ranges + ".changed"):
    off, n, what, path = line.rstrip("\n").split(" ", 3)
    f = files.setdefault(path, {"data": [], "inode": None})
    if what == "inode":
        f["inode"] = int(off)
    else:
        f["data"] += range(int(off), int(off) + int(n), B)
bad = 0
for path, f in sorted(files.items()):
    if not is_dirty(f["inode"] // B * B):
        bad += 1; print("INODE NOT DIRTY: %s" % path, file=sys.stderr)
    if f["data"] and not any(o in differ and is_dirty(o) for o in f["data"]):
        bad += 1; print("NO CHANGED DIRTY DATA BLOCK: %s" % path, file=sys.stderr)
with_data = sum(1 for f in files.values() if f["data"])
# 3. the check can fail: unchanged files' data is clean, most of the disk too
clean_ok = unchanged = 0
for line in open(ranges + ".unchanged"):
    off, n, what, path = line.rstrip("\n").split(" ", 3)
    unchanged += 1
    if touches(int(off), int(n)):
        print("unchanged data dirty: %s at %s (+%s)" % (path, off, n), file=sys.stderr)
    else:
        clean_ok += 1
print("changed files: %d (%d with data blocks), inode+data dirty for %d; "
      "unchanged data extents clean: %d/%d"
      % (len(files), with_data, len(files) - bad, clean_ok, unchanged))
if missing or bad:
    sys.exit(1)
if clean_ok != unchanged:
    sys.exit("data of unchanged files is dirty: the bitmap over-reports")
if total * 2 > disk_size:
    sys.exit("more than half of the disk is dirty: the check proves nothing")
EOF
echo "ext4: truth $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join("%s %d" % (k, len(v)) for k, v in d.items()))' "$T/truth.json")"
printf 'ext4: start+workload+ranges %.2f s, stop %.2f s\n' "$(awk "BEGIN { print $t1 - $t0 }")" "$(awk "BEGIN { print $t2 - $t1 }")"

# Every operation kind left its trace in the ground truth.
python3 - "$T/truth.json" <<'EOF' || fail "ground truth lacks a kind of change"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("new", "modified", "deleted", "renamed", "metadata"):
    if not d[k]:
        sys.exit("no '%s' entry in the ground truth" % k)
EOF

# workload.py check: a poll listing every changed file passes; one that
# misses a single changed file fails and names it; a wrong verdict fails.
python3 - "$T/truth.json" "$T" <<'EOF' || fail "building synthetic polls"
import json, sys
truth = json.load(open(sys.argv[1])); t = sys.argv[2]
def poll(files):
    return {"vm": "g", "poll": 2, "tracker": "bitmap", "mode": "incremental",
            "dirty_bytes": 1, "duration_s": 0.1, "files": files}
full = [{"path": e["path"], "inode": e["inode"], "change": c, "verdict": "clean",
         "signature": None} for c in ("new", "modified") for e in truth[c]]
full += [{"path": e["path"], "inode": e["inode"], "change": "deleted",
          "verdict": "none", "signature": None} for e in truth["deleted"]]
json.dump([poll(full)], open(t + "/poll-ok.json", "w"))
json.dump(poll(full[1:]), open(t + "/poll-miss.json", "w"))
unscanned = [dict(e, verdict="none") if i == 0 else e for i, e in enumerate(full)]
json.dump(poll(unscanned), open(t + "/poll-unscanned.json", "w"))
EOF
python3 "$WORKLOAD" check --truth "$T/truth.json" --poll "$T/poll-ok.json" > "$T/check.out" ||
  fail "check rejects a complete poll: $(cat "$T/check.out")"
grep -q '"recall": 1.0' "$T/check.out" || fail "check: recall not 1.0 for a complete poll"
first=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print((t["new"]+t["modified"])[0]["path"])' "$T/truth.json")
python3 "$WORKLOAD" check --truth "$T/truth.json" --poll "$T/poll-miss.json" > "$T/check.out" 2> "$T/check.err" &&
  fail "check accepts a poll that misses a file"
grep -qF "MISSED: $first " "$T/check.err" || fail "check does not name the missed file: $(cat "$T/check.err")"
python3 "$WORKLOAD" check --truth "$T/truth.json" --poll "$T/poll-unscanned.json" >/dev/null 2>&1 &&
  fail "check accepts a changed file that was not scanned (verdict none)"

# ------------------------------------------------------ kill -9 of qsd
guest_start "$T/vm.qcow2" "$T/mnt" || fail "guest_start after a clean stop"
echo "after the stop" > "$T/mnt/late-file" && sync
guest_kill "$T/mnt" || fail "guest_kill"
mountpoint -q "$T/mnt" && fail "still mounted after guest_kill"
case " $(guest_bitmap_flags "$T/vm.qcow2" ovscan-1) " in
  *" in-use "*) ;;
  *) fail "bitmap not left in-use by kill -9 of qemu-storage-daemon" ;;
esac
dirty_map "$T/vm.qcow2" ovscan-1 "$T/dirty2" 2>/dev/null &&
  fail "qemu-nbd served an inconsistent bitmap"
grep -q -i inconsistent "$T/qemu-nbd.err" ||
  fail "qemu-nbd's refusal does not say inconsistent: $(cat "$T/qemu-nbd.err")"
# The image itself still opens for a guest (QEMU keeps running a VM whose
# bitmap is inconsistent; only the bitmap is unusable).
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start with an inconsistent bitmap"
[ "$(cat "$T/mnt/late-file")" = "after the stop" ] || fail "late-file lost"
echo "expected below: the bitmap stays in-use (inconsistent)"
guest_stop "$T/mnt" || true
case " $(guest_bitmap_flags "$T/vm.qcow2" ovscan-1) " in
  *" in-use "*) ;;
  *) fail "an inconsistent bitmap became consistent again" ;;
esac

# ------------------------------------------------------------------ ntfs
if ! command -v mkntfs >/dev/null || ! command -v ntfs-3g >/dev/null; then
  echo "ntfs part skipped: mkntfs/ntfs-3g absent"
  exit 0
fi
rm -rf "$T/src"; mkdir "$T/src"
python3 "$WORKLOAD" populate --seed "$SEED" --root "$T/src" --files 60 || fail "populate ntfs"
t0=$(date +%s.%N)
guest_mkfs "$T/nt.qcow2" 48M ntfs "$T/src" || fail "guest_mkfs ntfs"
qemu-img bitmap --add --granularity 4096 "$T/nt.qcow2" ovscan-1 || fail "bitmap add ntfs"
guest_start "$T/nt.qcow2" "$T/mnt" || fail "guest_start ntfs (auto)"
[ "$(stat -f -c %T "$T/mnt")" = fuseblk ] || fail "ntfs is not mounted through ntfs-3g"
python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/nbefore.json" || fail "snapshot ntfs"
python3 "$WORKLOAD" --seed "$SEED" --root "$T/mnt" --ops 150 || fail "workload ntfs"
python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/nafter.json" || fail "snapshot ntfs"
python3 "$WORKLOAD" diff "$T/nbefore.json" "$T/nafter.json" --out "$T/ntruth.json" ||
  fail "diff ntfs"
guest_stop "$T/mnt" || fail "guest_stop ntfs"
t1=$(date +%s.%N)
expect_eq "$(guest_bitmap_flags "$T/nt.qcow2" ovscan-1)" "auto" "ntfs bitmap after a clean stop"
dirty_map "$T/nt.qcow2" ovscan-1 "$T/ndirty" || fail "reading the ntfs dirty bitmap"
[ -s "$T/ndirty" ] || fail "ntfs workload left no dirty block"
python3 - "$T/ntruth.json" <<'EOF' || fail "ntfs ground truth lacks a kind of change"
import json, sys
d = json.load(open(sys.argv[1]))
print("ntfs: truth " + ", ".join("%s %d" % (k, len(v)) for k, v in d.items()))
for k in ("new", "modified", "deleted", "renamed"):
    if not d[k]:
        sys.exit("no '%s' entry in the ntfs ground truth" % k)
EOF
printf 'ntfs: mkfs+start+workload+stop %.2f s, dirty %d KiB\n' "$(awk "BEGIN { print $t1 - $t0 }")" \
  "$(awk '{ s += $2 } END { print int(s / 1024) }' "$T/ndirty")"
