#!/bin/bash
# Hostile or broken LVM2 layouts, built by the real lvm2 tools
# (tests/lib/lvm.sh), each reported with a clear reason while the rest of
# the disk is still scanned:
#   p1       ext4 with EICAR: still found.
#   p2       PV of VG vg1 written on a 300 MiB range although the partition
#            is 100 MiB: LV "ok" (inside, ext4 with EICAR) is scanned; LVs
#            "filler" and "far" lie past the partition; LV "span" sits on a
#            second PV that is on another disk (missing here).
#   p3       PV of VG vg2 whose metadata text was changed after lvm2 wrote it
#            (checksum mismatch): reported as corrupt, nothing of vg2 read.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/lvm.sh"
requires_root
requires sgdisk --version
requires pvcreate --version
requires python3 --version

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
mkdir -p "$T/p1" "$T/ok"
printf '%s' "$eicar" > "$T/p1/evil.txt"
printf '%s' "$eicar" > "$T/ok/evil.txt"
img=$T/bad.raw
truncate -s 340M "$img"
sgdisk -o -n1:2048:+32M -t1:8300 -n2:67584:+100M -t2:8e00 -n3:286720:+50M -t3:8e00 "$img" >/dev/null
lvm_fs_image "$T/p1.img" 32M ext4 "$T/p1" || fail "p1"
dd if="$T/p1.img" of="$img" bs=1M seek=1 conv=notrunc status=none

truncate -s 64M "$T/other.raw"
a=$(lvm_pv_on "$img" $((33 << 20)) $((300 << 20))); cleanup_fn "losetup -d $a"
b=$(losetup -f --show "$T/other.raw"); cleanup_fn "losetup -d $b"
c=$(lvm_pv_on "$img" $((140 << 20)) $((50 << 20))); cleanup_fn "losetup -d $c"
LVM_DEVS="$a $b $c"
{
  lvm_cmd pvcreate -q "$a" "$b" "$c"
  lvm_cmd vgcreate -q vg1 "$a" "$b"
  lvm_cmd lvcreate -q -an -Zn -L 16M -n ok vg1 "$a"
  lvm_cmd lvcreate -q -an -Zn -L 150M -n filler vg1 "$a"
  lvm_cmd lvcreate -q -an -Zn -L 8M -n far vg1 "$a"
  lvm_cmd lvcreate -q -an -Zn -L 8M -n span vg1 "$b"
  lvm_cmd vgcreate -q vg2 "$c"
  lvm_cmd lvcreate -q -an -Zn -L 8M -n lost vg2
} >/dev/null || fail "lvm2"
ok_off=$(( (33 << 20) + $(lvm_lv_offset vg1 ok) ))
lvm_fs_image "$T/ok.img" 16M ext4 "$T/ok" || fail "ok LV fs"
dd if="$T/ok.img" of="$img" bs=1M seek=$((ok_off >> 20)) conv=notrunc status=none
# Corrupt vg2's metadata text: one byte of the LV's name, checksum kept.
python3 - "$img" $((140 << 20)) <<'PY'
import sys
path, pv = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(pv); area = f.read(1 << 20)
    i = area.find(b"lost {")
    assert i > 0, "vg2 metadata text not found"
    f.seek(pv + i); f.write(b"l0st {")
PY
truncate -s 200M "$img"

set +e
"$OVSCAN" scan "$img" --format raw --test-signatures > "$T/out" 2> "$T/err"
status=$?
set -e
cat "$T/out" "$T/err"
expect_eq "$status" 1 "exit status"
diff <(grep ' FOUND$' "$T/out" | sed -E 's/\.UNOFFICIAL FOUND$/ FOUND/' | sort) <(sort <<'LIST'
p1:/evil.txt: Ovscan.Test.EICAR FOUND
vg1/ok:/evil.txt: Ovscan.Test.EICAR FOUND
LIST
) || fail "detections differ"
grep -Eq 'not scanned: LV vg1/span: VG vg1: physical volume pv1 \(UUID [A-Za-z0-9-]+\) is missing: not found on this disk' "$T/err" ||
  fail "missing PV"
grep -Eq 'not scanned: LV vg1/far: segment1: extents [0-9]+\+2 of PV pv0 lie past the physical volume' "$T/err" ||
  fail "LV past the disk"
grep -Eq 'not scanned: LV vg1/filler: segment1: extents' "$T/err" || fail "LV partly past the disk"
grep -Eq 'not scanned: p3: LVM2 physical volume [A-Za-z0-9]+: metadata area at PV byte 4096: text checksum mismatch \(corrupt metadata\)' "$T/err" ||
  fail "corrupt metadata"
grep -q 'vg2' "$T/out" "$T/err" && fail "nothing of vg2 may be read"
echo PASS
