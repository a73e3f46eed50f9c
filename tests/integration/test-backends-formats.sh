#!/bin/bash
# backends: reading real images of every format through ov_disk_* (the
# disk-read tool): raw, qcow2, a qcow2 overlay over a base, vmdk, vhdx,
# format probed and given, a second handle (ov_disk_reopen: a second
# read-only qemu-nbd on the same image), odd file names.
source "$OVSCAN_SOURCE_DIR/tests/functions.sh"
requires qemu-img --version
requires qemu-io --version
requires qemu-nbd --version
: "${DISK_READ:?DISK_READ must point at the disk-read tool (ctest sets it)}"
cd "$T"

# Known data: 3 random chunks at known offsets of a 64 MiB raw disk.
head -c 65536 /dev/urandom > d1
head -c 1000000 /dev/urandom > d2
head -c 4096 /dev/urandom > d3
qemu-img create -q -f raw disk.raw 64M
dd if=d1 of=disk.raw bs=1 seek=$((1 << 20)) conv=notrunc status=none
dd if=d2 of=disk.raw bs=1 seek=$((10 << 20)) conv=notrunc status=none
dd if=d3 of=disk.raw bs=1 seek=$(((64 << 20) - 4096)) conv=notrunc status=none

check_image () {   # IMAGE [disk-read options...]
  local img=$1; shift
  expect_eq "$("$DISK_READ" "$@" "$img" size)" 67108864 "$img: size"
  "$DISK_READ" "$@" "$img" raw 1M 65536 | cmp - d1 || fail "$img: chunk 1"
  "$DISK_READ" "$@" "$img" raw 10M 1000000 | cmp - d2 || fail "$img: chunk 2"
  "$DISK_READ" "$@" "$img" raw $(((64 << 20) - 4096)) 4096 | cmp - d3 \
    || fail "$img: last 4 KiB"
  # Unaligned, crossing the start of chunk 1, and a 1-byte read.
  "$DISK_READ" "$@" "$img" raw $(((1 << 20) - 7)) 20 | cmp - \
    <(head -c 7 /dev/zero; head -c 13 d1) || fail "$img: unaligned read"
  "$DISK_READ" "$@" "$img" raw $(((10 << 20) + 999999)) 1 | cmp - \
    <(tail -c 1 d2) || fail "$img: 1-byte read"
  # A whole-disk read through the wrappers equals the raw image.
  "$DISK_READ" "$@" --request 3M "$img" raw 0 64M | cmp - disk.raw \
    || fail "$img: whole disk (3 MiB requests)"
  # Reading past the end is an error naming the image.
  if "$DISK_READ" "$@" "$img" raw 64M 1 > /dev/null 2> err; then
    fail "$img: read past the end succeeded"
  fi
  grep -q "^disk-read: $img: read of 1 bytes at offset 67108864 is beyond the end of the disk (size 67108864)$" err \
    || fail "$img: past-the-end message: $(cat err)"
}

check_image disk.raw --format raw
check_image disk.raw                       # probed as raw
qemu-img convert -f raw -O qcow2 disk.raw disk.qcow2
check_image disk.qcow2
check_image disk.qcow2 --format qcow2
check_image disk.qcow2 --reopen            # second qemu-nbd, both open
qemu-img convert -f raw -O vmdk disk.raw disk.vmdk
check_image disk.vmdk
qemu-img convert -f raw -O vhdx disk.raw disk.vhdx
check_image disk.vhdx --format vhdx
# Absolute path, and a relative name qemu would otherwise read as a protocol.
check_image "$T/disk.qcow2"
cp disk.qcow2 'nbd:x.qcow2'
check_image 'nbd:x.qcow2'

# Overlay: data from both layers, and the overlay wins where both wrote.
qemu-img create -q -f qcow2 base.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0xaa 0 1M' -c 'write -P 0xbb 4M 64k' base.qcow2 > /dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -f qcow2 -c 'write -P 0xcc 512k 1M' top.qcow2 > /dev/null
pattern () { head -c "$2" /dev/zero | tr '\0' "\\$(printf %o "$1")"; }
"$DISK_READ" top.qcow2 raw 0 512k | cmp - <(pattern 0xaa 524288) || fail "overlay: base data"
"$DISK_READ" top.qcow2 raw 512k 1M | cmp - <(pattern 0xcc 1048576) || fail "overlay: top data"
"$DISK_READ" top.qcow2 raw 4M 64k | cmp - <(pattern 0xbb 65536) || fail "overlay: base data 2"
"$DISK_READ" top.qcow2 raw 8M 4k | cmp - <(pattern 0 4096) || fail "overlay: hole"
# base:allocation: the hole reads as zeros (flag 2) and is not data (flag 1).
"$DISK_READ" top.qcow2 map base:allocation 0 8M > map
head -1 map | grep -q '^0 ' || fail "overlay map does not start at 0"
awk '{ if ($1 != pos) exit 1; pos = $1 + $2 } END { if (pos != 8388608) exit 1 }' map \
  || fail "overlay map is not contiguous over 0-8M: $(cat map)"
echo "OK"
