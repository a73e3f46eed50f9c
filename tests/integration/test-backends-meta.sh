#!/bin/bash
# backends: NBD meta contexts through ov_disk_block_status: a persistent
# dirty bitmap shows exactly the written ranges, allocation depth tells the
# layers of an overlay apart, base:allocation; for a local image and for an
# NBD URI of a qemu-nbd we start.
source "$OVSCAN_SOURCE_DIR/tests/functions.sh"
requires qemu-img --version
requires qemu-io --version
requires qemu-nbd --version
: "${DISK_READ:?DISK_READ must point at the disk-read tool (ctest sets it)}"
cd "$T"

# Dirty bitmap: 64 KiB at 1 MiB and 4 KiB at 100 MiB + 4 KiB, granularity 4 KiB.
qemu-img create -q -f qcow2 vm.qcow2 1G
qemu-img bitmap --add --granularity 4096 vm.qcow2 poll0
qemu-io -f qcow2 -c 'write -P 0xab 1M 64k' -c 'write -P 0xcd 100M 4k' \
  -c 'write -P 0xef 104861696 4k' vm.qcow2 > /dev/null
# (104861696 = 100 MiB + 4 KiB: adjacent to the previous write.)
"$DISK_READ" --bitmap poll0 vm.qcow2 map qemu:dirty-bitmap:poll0 \
  | awk '$3 == 1 { print $1, $2 }' > dirty
printf '%s\n' "1048576 65536" "104857600 8192" | cmp - dirty \
  || fail "dirty bitmap: got $(cat dirty)"
# The whole map covers the disk, contiguous, nothing else dirty.
"$DISK_READ" --bitmap poll0 vm.qcow2 map qemu:dirty-bitmap:poll0 > map
awk '{ if ($1 != pos) exit 1; pos = $1 + $2 } END { if (pos != 1073741824) exit 1 }' map \
  || fail "dirty bitmap map is not contiguous over the disk: $(cat map)"
expect_eq "$(wc -l < map)" 5 "dirty bitmap: extents (clean, dirty, clean, dirty, clean)"
# A sub-range starting inside a dirty run is clipped to the range.
expect_eq "$("$DISK_READ" --bitmap poll0 vm.qcow2 map qemu:dirty-bitmap:poll0 1097728 32768)" \
  "1097728 16384 1
1114112 16384 0" "dirty bitmap: clipped sub-range"
# On a second handle too, and base:allocation there.
"$DISK_READ" --reopen --bitmap poll0 vm.qcow2 map qemu:dirty-bitmap:poll0 | cmp - map \
  || fail "dirty bitmap via reopen differs"
"$DISK_READ" --bitmap poll0 vm.qcow2 map base:allocation 0 2M > alloc
expect_eq "$(awk '$3 == 0 { print $1, $2 }' alloc)" "1048576 65536" "base:allocation data extent"

# Allocation depth: base has 0-1M, overlay has 512k-1.5M.
qemu-img create -q -f qcow2 base.qcow2 64M
qemu-io -f qcow2 -c 'write -P 1 0 1M' base.qcow2 > /dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -f qcow2 -c 'write -P 2 512k 1M' top.qcow2 > /dev/null
expect_eq "$("$DISK_READ" --allocation-depth top.qcow2 map qemu:allocation-depth 0 4M)" \
"0 524288 2
524288 1048576 1
1572864 2621440 0" "allocation depth of the overlay"

# The same over an NBD URI (as for a running VM's export).
qemu-nbd -r -t -f qcow2 -B poll0 -A --shared=4 -k "$T/nbd.sock" vm.qcow2 2> qemu-nbd.err &
qpid=$!
cleanup_fn "kill $qpid 2> /dev/null"
for i in $(seq 100); do [ -S nbd.sock ] && break; sleep 0.1; done
uri="nbd+unix:///?socket=$T/nbd.sock"
expect_eq "$("$DISK_READ" "$uri" size)" 1073741824 "URI: size"
"$DISK_READ" "$uri" raw 1M 64k | cmp - <(head -c 65536 /dev/zero | tr '\0' '\253') \
  || fail "URI: data"
"$DISK_READ" --bitmap poll0 "$uri" map qemu:dirty-bitmap:poll0 | cmp - map \
  || fail "URI: dirty bitmap differs from the local image's"
"$DISK_READ" --allocation-depth --reopen "$uri" map qemu:allocation-depth 0 2M > depth
expect_eq "$(cat depth)" "0 1048576 0
1048576 65536 1
1114112 983040 0" "URI: allocation depth"
# Not asked for at open: refused with a clear message.
if "$DISK_READ" "$uri" map qemu:dirty-bitmap:poll0 2> err; then
  fail "URI: block status of a context not negotiated succeeded"
fi
grep -q "^disk-read: $uri: block status of qemu:dirty-bitmap:poll0 over 1073741824 bytes at offset 0: the NBD server did not agree to meta context qemu:dirty-bitmap:poll0$" err \
  || fail "URI: not-negotiated message: $(cat err)"
echo OK
