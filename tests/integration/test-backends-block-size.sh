#!/bin/bash
# backends: a server with block size constraints (nbdkit's blocksize-policy
# filter: minimum 4 KiB, maximum 64 KiB, unaligned requests answered with
# EINVAL).  qemu-nbd always advertises a minimum of 1, so only this server
# exercises the aligned-request / bounce-buffer path of disk_nbd.c.
source "$OVSCAN_SOURCE_DIR/tests/functions.sh"
requires nbdkit --filter=blocksize-policy null --run true
: "${DISK_READ:?DISK_READ must point at the disk-read tool (ctest sets it)}"
cd "$T"

head -c $((1 << 20)) /dev/urandom > disk.raw
nbdkit -f -U "$T/k.sock" --filter=blocksize-policy file disk.raw \
  blocksize-minimum=4096 blocksize-maximum=65536 blocksize-error-policy=error &
kpid=$!
cleanup_fn "kill $kpid 2> /dev/null"
for i in $(seq 100); do [ -S k.sock ] && break; sleep 0.1; done
uri="nbd+unix:///?socket=$T/k.sock"
part () { dd if=disk.raw bs=1 skip="$1" count="$2" status=none; }

"$DISK_READ" "$uri" raw 1000 10 | cmp - <(part 1000 10) || fail "small unaligned read"
"$DISK_READ" "$uri" raw 4096 4096 | cmp - <(part 4096 4096) || fail "aligned read"
"$DISK_READ" --request 1M "$uri" raw 777 1000000 | cmp - <(part 777 1000000) \
  || fail "large unaligned read over many 64 KiB requests"
"$DISK_READ" "$uri" raw $(((1 << 20) - 6)) 6 | cmp - <(tail -c 6 disk.raw) || fail "last bytes"
"$DISK_READ" --request 1M "$uri" raw 0 1M | cmp - disk.raw || fail "whole disk"
echo OK
