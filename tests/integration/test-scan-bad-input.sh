#!/bin/bash
# ovscan scan on hostile or broken input: each case gives a clear error that
# names the image (and the filesystem/offset where there is one), exit status
# 2, no crash or hang, and whatever can still be scanned is scanned.
source "$(dirname "$0")/../functions.sh"
requires qemu-img --version
requires mkfs.ext4 -V
requires debugfs -V
requires sfdisk --version

# run_scan NAME ARGS... : runs ovscan (timeout 120 s), sets $status, output in $T/NAME.{out,err}
run_scan () {
  local name=$1; shift
  set +e
  timeout 120 "$OVSCAN" scan "$@" > "$T/$name.out" 2> "$T/$name.err"
  status=$?
  set -e
  echo "--- $name: exit $status"; cat "$T/$name.err"
  [ "$status" -ne 124 ] || fail "$name: ovscan hung"
  [ "$status" -lt 128 ] || fail "$name: ovscan crashed (status $status)"
}
expect_error () {   # NAME PATTERN : exit 2 and PATTERN (ERE) on stderr
  expect_eq "$status" 2 "$1: exit status"
  grep -Eq "$2" "$T/$1.err" || fail "$1: stderr lacks /$2/"
}

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

# 1. A missing file.
run_scan missing "$T/nope.qcow2" --test-signatures
expect_error missing "nope\.qcow2.*(No such file|not found)"

# 2. Not a disk image at all: probed as raw, no filesystem on it.
head -c 100000 /etc/services > "$T/text.img" 2>/dev/null || cp /etc/services "$T/text.img"
run_scan text "$T/text.img" --test-signatures
expect_error text "text\.img.*no (partition table or )?filesystem"

# 3. A truncated qcow2 and 4. one with a broken header.
mkdir -p "$T/root/etc"; echo hello > "$T/root/etc/hostname"
mkfs.ext4 -q -F -d "$T/root" "$T/small.raw" 64M >/dev/null
qemu-img convert -f raw -O qcow2 "$T/small.raw" "$T/small.qcow2"
head -c 300000 "$T/small.qcow2" > "$T/truncated.qcow2"
run_scan truncated "$T/truncated.qcow2" --test-signatures
expect_error truncated "truncated\.qcow2"
cp "$T/small.qcow2" "$T/badheader.qcow2"
printf '\x00\x00\x00\x63' | dd of="$T/badheader.qcow2" bs=1 seek=4 conv=notrunc status=none  # version 99
run_scan badheader "$T/badheader.qcow2" --format qcow2 --test-signatures
expect_error badheader "badheader\.qcow2"

# 5. A qcow2 whose backing file is missing.
qemu-img create -q -f qcow2 -b "$T/base-gone.qcow2" -F qcow2 -o size=64M "$T/orphan-overlay.qcow2" 2>/dev/null ||
  qemu-img create -q -f qcow2 -u -b "$T/base-gone.qcow2" -F qcow2 "$T/orphan-overlay.qcow2" 64M
run_scan nobacking "$T/orphan-overlay.qcow2" --test-signatures
expect_error nobacking "base-gone\.qcow2"

# 6. An MBR whose second partition points past the end of the disk: the first
#    partition is still scanned (its EICAR found), the second is an error.
mkdir -p "$T/p1root/x"; printf '%s' "$eicar" > "$T/p1root/x/eicar.txt"
mkfs.ext4 -q -F -d "$T/p1root" "$T/p1.img" 32M >/dev/null
truncate -s 64M "$T/mbr.raw"
printf 'label: dos\nstart=2048, size=65536, type=83\nstart=67584, size=60000, type=83\n' |
  sfdisk -q "$T/mbr.raw" >/dev/null
dd if="$T/p1.img" of="$T/mbr.raw" bs=512 seek=2048 conv=notrunc status=none
# Make p2 reach far past the 64 MiB disk: size field of entry 2 = 0x10000000 sectors.
printf '\x00\x00\x00\x10' | dd of="$T/mbr.raw" bs=1 seek=$((446 + 16 + 12)) conv=notrunc status=none
run_scan pastend "$T/mbr.raw" --format raw --test-signatures --json
expect_eq "$status" 1 "pastend: exit status (detection in p1 wins over the p2 error)"
grep -q '"path":"p1:/x/eicar.txt".*"verdict":"infected"' "$T/pastend.out" || fail "pastend: p1 not scanned"
grep -Eq '(p2|partition 2).*(past|beyond)' "$T/pastend.err" || fail "pastend: no error naming p2"

# 7. Garbage where the superblock should be.
head -c 8M /dev/urandom > "$T/garbage.raw"
run_scan garbage "$T/garbage.raw" --format raw --test-signatures
expect_error garbage "garbage\.raw.*no (partition table or )?filesystem"

# 8. Hostile names and broken metadata in ext4: a name with a newline, one
#    with invalid UTF-8 and a terminal escape, a path of > 4000 bytes; an inode
#    whose extent tree is corrupt; a directory loop.
r=$T/hostile
mkdir -p "$r/names" "$r/loop/a/b" "$r/victim"
printf '%s' "$eicar" > "$r/names/$(printf 'evil\nname')"
printf '%s' "$eicar" > "$r/names/$(printf 'bad\xff\xfe\x1b[2Jutf8')"
# The guest path of deep.txt is 4100 bytes: longer than PATH_MAX and TSK's
# own path buffer, so it is created with relative paths.
( cd "$r/names"
  for i in $(seq 1 17); do d=$(printf 'd%.0s' $(seq 1 240)); mkdir "$d"; cd "$d"; done
  printf '%s' "$eicar" > deep.txt )
head -c 100000 /dev/urandom > "$r/victim/corrupt-extents.bin"
echo clean > "$r/victim/fine.txt"
mkfs.ext4 -q -F -d "$r" "$T/hostile.raw" 64M >/dev/null
debugfs -w -R "sif /victim/corrupt-extents.bin block[0] 0x41414141" "$T/hostile.raw" >/dev/null 2>&1
debugfs -w -R "ln /loop /loop/a/b/back-to-top" "$T/hostile.raw" >/dev/null 2>&1
run_scan hostile "$T/hostile.raw" --format raw --test-signatures
expect_eq "$status" 1 "hostile: exit status"
grep -qF '/names/evil\nname: Ovscan.Test.EICAR' "$T/hostile.out" || fail "hostile: newline name not quoted/found"
grep -qF '/names/bad\xff\xfe\x1b[2Jutf8: Ovscan.Test.EICAR' "$T/hostile.out" || fail "hostile: invalid UTF-8 name not quoted/found"
grep -q '/deep.txt: Ovscan.Test.EICAR' "$T/hostile.out" || fail "hostile: 4000-byte path not found"
[ "$(grep -c $'\x1b' "$T/hostile.out")" -eq 0 ] || fail "hostile: raw escape byte reached the output"
grep -q 'corrupt-extents.bin' "$T/hostile.err" || fail "hostile: corrupt extent tree not reported"

# 9. No signatures at all, and bad options.
mkdir -p "$T/emptydb"
run_scan nosigs "$T/small.qcow2" --database "$T/emptydb"
expect_error nosigs "no signatures"
run_scan badopt "$T/small.qcow2" --max-filesize 12Q --test-signatures
expect_error badopt "invalid size '12Q'"
run_scan noarg --test-signatures
expect_error noarg "expected exactly one TARGET"
echo PASS
