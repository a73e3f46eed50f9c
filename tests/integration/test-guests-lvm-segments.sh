#!/bin/bash
# An LVM2 LV stored in two runs on the disk (lvcreate, another LV after it,
# lvextend), built by the real lvm2 tools (tests/lib/lvm.sh), with ext4
# copied in through the segment map (tests/lib/lvm_segments.py: no
# device-mapper here).  Checks (fsmap/lvm_image.c):
#   - a file's data lies in the second run (debugfs bmap), and the EICAR
#     file too; the scan finds EICAR at vg0/data:/…;
#   - every file read by fsmap (fsmap-dump --extract) equals the source, and
#     some file has a DATA run at a disk offset inside the second run;
#   - incremental: kernel ext4 writes on a copy of the LV, written back
#     through the segment map into the guest disk served by
#     qemu-storage-daemon (so they land in the dirty bitmap), with blocks in
#     the second run, are listed with 100% recall (tests/lib/workload.py),
#     and the poll says it walked the metadata because the LV is in runs;
#   - bad input: an LV whose second run lies past the end of the disk is
#     refused with a clear error.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/lvm.sh"
source "$(dirname "$0")/../lib/images.sh"
lvm_test_requires
requires debugfs -V
: "${FSMAP_DUMP:?FSMAP_DUMP must point at fsmap-dump (ctest sets it)}"

WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"
SEGS="$OVSCAN_SOURCE_DIR/tests/lib/lvm_segments.py"
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
O=("$OVSCAN" --state "$T/state.db")
p1=$((1 << 20))

# --- the disk: GPT p1 = PV of vg0; LV data = 8 MiB + 40 MiB in two runs ---
truncate -s 128M "$T/vm.raw"
sgdisk -o -n1:2048:0 -t1:8e00 "$T/vm.raw" >/dev/null || fail sgdisk
loop=$(lvm_pv_on "$T/vm.raw" $p1 $(( (128 - 2) << 20 ))) || fail "PV loop"
cleanup_fn "losetup -d $loop 2>/dev/null"
LVM_DEVS=$loop
{ lvm_cmd pvcreate -q "$loop" && lvm_cmd vgcreate -q vg0 "$loop" &&
  lvm_split_lv vg0 data 8M 40M; } >/dev/null || fail "lvm2 commands"
pe_start=$(lvm_cmd pvs -o pe_start --units b --nosuffix --noheadings | tr -d ' ')
ext=$(lvm_cmd vgs -o vg_extent_size --units b --nosuffix --noheadings vg0 | tr -d ' ')
lvm_cmd lvs --segments -o seg_start,seg_size,seg_pe_ranges --units b --nosuffix \
  --noheadings vg0/data | while read -r start size ranges; do
    pe=$(sed -E 's/.*:([0-9]+)-.*/\1/' <<< "$ranges")
    echo "$start $((p1 + pe_start + pe * ext)) $size"
  done > "$T/segs"
cat "$T/segs"
expect_eq "$(wc -l < "$T/segs")" 2 "segments of vg0/data"
seg2_lv=$(awk 'NR==2{print $1}' "$T/segs"); seg2_disk=$(awk 'NR==2{print $2}' "$T/segs")
seg2_len=$(awk 'NR==2{print $3}' "$T/segs")
[ "$seg2_disk" -gt $(( $(awk 'NR==1{print $2+$3}' "$T/segs") )) ] ||
  fail "the second run must not follow the first on the disk"

# --- ext4 (4 KiB blocks): a filler, a tree, then EICAR written by debugfs
# into the first free blocks, which lie past the first run ---
mkdir -p "$T/src/etc" "$T/src/srv"
head -c $((10 << 20)) /dev/urandom > "$T/src/filler.bin"
echo guest1 > "$T/src/etc/hostname"
python3 "$WORKLOAD" populate --seed 5 --root "$T/src/srv" --files 60
truncate -s 48M "$T/lv.img"
mkfs.ext4 -q -F -b 4096 -d "$T/src" "$T/lv.img" || fail mkfs.ext4
printf '%s' "$eicar" > "$T/eicar.txt"
debugfs -w -R "write $T/eicar.txt evil.txt" "$T/lv.img" >/dev/null 2>&1 || fail "debugfs write"
cp "$T/eicar.txt" "$T/src/evil.txt"
block=$(debugfs -R "bmap /evil.txt 0" "$T/lv.img" 2>/dev/null)
echo "evil.txt at LV block $block (second run starts at LV byte $seg2_lv)"
[ $((block * 4096)) -ge "$seg2_lv" ] || fail "EICAR is not in the second run"
python3 "$SEGS" put "$T/segs" "$T/lv.img" "$T/vm.raw" || fail "copy through the segment map"
losetup -d "$loop"

# --- content through fsmap ---
mkdir "$T/x"
"$FSMAP_DUMP" --format raw --extract "$T/x" "$T/vm.raw" > "$T/dump" || fail "fsmap-dump exit $?"
grep '^fs' "$T/dump"
grep -q $'^fs\t[0-9]*\tvg0/data\text4\t' "$T/dump" || fail "vg0/data not opened as ext4"
grep '^error' "$T/dump" | grep -v 'LVM2 physical volume' && fail "unexpected errors"
images_expect_tree "$T/dump" "$T/x" "$T/src" "vg0/data:" || fail "content differs"
python3 - "$T/dump" "$seg2_disk" "$seg2_len" <<'PY' || fail "no DATA run inside the second run"
import sys
lo, n = int(sys.argv[2]), int(sys.argv[3])
hits = 0
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if f[0] != "file" or f[2] != "vg0/data":
        continue
    for run in filter(None, f[6].split(",")):
        kind, rest = run.split("@")
        foff_len, disk = rest.split("=")
        length = int(foff_len.split("+")[1]); disk = int(disk)
        if kind == "data":
            assert disk >= 0 and disk + length <= 128 << 20, run
            if lo <= disk < lo + n:
                hits += 1
print(hits, "DATA runs in the second run")
assert hits > 0
PY

# --- full scan ---
set +e
"$OVSCAN" scan "$T/vm.raw" --format raw --test-signatures > "$T/scan.out" 2> "$T/scan.err"
status=$?
set -e
cat "$T/scan.out" "$T/scan.err"
expect_eq "$status" 1 "scan exit status"
grep -q '^vg0/data:/evil.txt: Ovscan.Test.EICAR' "$T/scan.out" || fail "EICAR not found at vg0/data:/evil.txt"
grep -q '^Filesystems: 1 scanned (vg0/data ext4)' "$T/scan.out" || fail "summary"

# --- incremental polls ---
rm -f "$T/src/evil.txt"
qemu-img convert -f raw -O qcow2 "$T/vm.raw" "$T/vm.qcow2"
"${O[@]}" add vm --image "$T/vm.qcow2" || fail add
set +e
"${O[@]}" poll vm --json --test-signatures > "$T/poll0.json" 2> "$T/poll0.err"
set -e
python3 - "$T/poll0.json" <<'PY' || fail "first poll"
import json, sys
p = [o for o in map(json.loads, open(sys.argv[1])) if "mode" in o][0]
assert p["mode"] == "full", p
assert "vg0/data:/etc/hostname" in {f["path"] for f in p["files"]}
PY
mkdir -p "$T/mnt" "$T/lv"
for round in 1 2; do
  guest_start "$T/vm.qcow2" "$T/mnt" none || fail "guest_start"
  dev=$(guest_dev "$T/mnt")
  python3 "$SEGS" get "$T/segs" "$dev" "$T/old.img"
  cp "$T/old.img" "$T/new.img"
  mount -o loop -t ext4 "$T/new.img" "$T/lv" || fail mount
  cleanup_fn "umount -q '$T/lv' 2>/dev/null"
  python3 "$WORKLOAD" snapshot --root "$T/lv" --out "$T/before$round.json"
  python3 "$WORKLOAD" run --seed $((round * 31)) --root "$T/lv" --ops 80 >/dev/null
  if [ "$round" = 2 ]; then mkdir -p "$T/lv/tmp"; printf '%s' "$eicar" > "$T/lv/tmp/payload.sh"; fi
  python3 "$WORKLOAD" snapshot --root "$T/lv" --out "$T/after$round.json"
  umount "$T/lv"
  python3 "$SEGS" sync "$T/segs" "$T/old.img" "$T/new.img" "$dev" > "$T/sync$round" || fail sync
  cat "$T/sync$round"
  awk '$1=="seg1" && $2>0 {ok=1} END {exit !ok}' "$T/sync$round" || fail "no write in the second run"
  guest_stop "$T/mnt" || fail guest_stop
  python3 "$WORKLOAD" diff "$T/before$round.json" "$T/after$round.json" --out "$T/truth$round.json"
  lvm_poll_round "$round" vg0/data:
  python3 - "$T/poll$round.json" "$round" <<'PY' || fail "round $round poll record"
import json, sys
p = [o for o in map(json.loads, open(sys.argv[1])) if "mode" in o][0]
assert p["mode"] == "incremental", p["mode"]
assert "several runs" in (p["metadata_walk"] or ""), p["metadata_walk"]
if sys.argv[2] == "2":
    hits = [f for f in p["files"] if f["path"] == "vg0/data:/tmp/payload.sh"]
    assert hits and hits[0]["verdict"] == "infected", hits
print("round", sys.argv[2], ":", len(p["files"]), "listed; walked:", p["metadata_walk"])
PY
  if [ "$round" = 2 ]; then expect_eq "$status" 1 "round 2 exit (EICAR planted)"; fi
done

# --- bad input: a partitionless PV whose LV's second run lies past the end
# of the disk (the image cut after lvm2 wrote it) ---
truncate -s 64M "$T/bad.raw"
loop=$(lvm_pv_on "$T/bad.raw" 0 $((64 << 20))) || fail "PV loop"
LVM_DEVS=$loop
{ lvm_cmd pvcreate -q "$loop" && lvm_cmd vgcreate -q vg1 "$loop" &&
  lvm_split_lv vg1 cut 8M 8M; } >/dev/null || fail "lvm2 commands (bad)"
losetup -d "$loop"
truncate -s 12M "$T/bad.raw"
set +e
"$OVSCAN" scan "$T/bad.raw" --format raw --test-signatures > "$T/bad.out" 2> "$T/bad.err"
set -e
cat "$T/bad.out" "$T/bad.err"
grep -q 'not scanned: LV vg1/cut: .*past' "$T/bad.err" || fail "a segment past the disk must be refused"
echo PASS
