#!/bin/bash
# backends: the offline dirty-bitmap tracker (backends/tracker.h) driven
# step by step through tracker-step on real qcow2 images: first poll, writes
# landing in the frozen bitmap and, after arm, only in the successor;
# kill -9 between arm and release (before and after the db commit) loses
# nothing; an inconsistent bitmap (qemu-storage-daemon killed -9 while
# writing), a granularity mismatch, a missing or disabled bitmap -> full
# poll with its reason; an image held by a running qemu-storage-daemon ->
# the in-use error; a raw image -> the qcow2-only error.
source "$OVSCAN_SOURCE_DIR/tests/functions.sh"
requires qemu-img --version
requires qemu-io --version
requires qemu-nbd --version
requires qemu-storage-daemon --version
: "${TRACKER_STEP:?TRACKER_STEP must point at the tracker-step tool (ctest sets it)}"
cd "$T"
step () { "$TRACKER_STEP" "$@"; }
# The bitmaps of vm.qcow2 as "NAME GRANULARITY FLAGS" lines.
bitmaps () { step vm.qcow2 info | sed -n 's/^bitmap //p'; }
write () { qemu-io -f qcow2 -c "write -P 0x5a $1 $2" vm.qcow2 > /dev/null; }

qemu-img create -q -f qcow2 vm.qcow2 1G
# A bitmap that is not ovscan's (a backup tool's): never touched.
qemu-img bitmap --add --granularity 65536 vm.qcow2 backup0

# 1. First poll: full, arms ovscan-1.
expect_eq "$(step vm.qcow2 poll - 0 4096 < /dev/null)" "full first poll
successor ovscan-1 1
armed" "first poll"
expect_eq "$(bitmaps)" "backup0 65536 enabled
ovscan-1 4096 enabled" "bitmaps after the first poll"

# 2. Writes before arm land in frozen; after arm in both, and the successor
#    has only those.
write 1M 64k
expect_eq "$(step vm.qcow2 prepare ovscan-1 1 4096)" "frozen ovscan-1" "incremental"
expect_eq "$(step vm.qcow2 read ovscan-1)" "1048576 65536" "frozen before arm"
expect_eq "$(step vm.qcow2 arm 1 4096)" "successor ovscan-2 2" "arm"
write 10M 4k
expect_eq "$(step vm.qcow2 read ovscan-1)" "1048576 65536
10485760 4096" "frozen after arm (still enabled)"
expect_eq "$(step vm.qcow2 read ovscan-2)" "10485760 4096" "successor: only writes after arm"
step vm.qcow2 release ovscan-1
expect_eq "$(bitmaps)" "backup0 65536 enabled
ovscan-2 4096 enabled" "bitmaps after release"

# 3. kill -9 between arm and release, before the db commit (state stays
#    ovscan-2): the stale successor goes, ovscan-2 still has every write.
write 20M 8k
mkfifo hold
"$TRACKER_STEP" vm.qcow2 poll ovscan-2 2 4096 < hold > poll.out 2> poll.err &
pid=$!
exec 3> hold
for i in $(seq 300); do grep -q '^armed$' poll.out && break; sleep 0.1; done
grep -q '^armed$' poll.out || fail "poll did not arm: $(cat poll.out poll.err)"
expect_eq "$(grep '^dirty' poll.out)" "dirty 10485760 4096
dirty 20971520 8192" "poll read frozen's extents"
write 30M 4k                      # after arm: in ovscan-2 and ovscan-3
kill -9 $pid; wait $pid 2> /dev/null; exec 3>&-
expect_eq "$(bitmaps)" "backup0 65536 enabled
ovscan-2 4096 enabled
ovscan-3 4096 enabled" "bitmaps left by the killed poll"
expect_eq "$(step vm.qcow2 prepare ovscan-2 2 4096)" "frozen ovscan-2" "prepare after kill"
expect_eq "$(bitmaps)" "backup0 65536 enabled
ovscan-2 4096 enabled" "stale successor removed"
expect_eq "$(step vm.qcow2 read ovscan-2)" "10485760 4096
20971520 8192
31457280 4096" "nothing lost after kill -9 before the commit"

# 4. kill -9 after the commit, before release (state became ovscan-3): the
#    old frozen ovscan-2 goes, ovscan-3 has every write since the arm.
"$TRACKER_STEP" vm.qcow2 poll ovscan-2 2 4096 < hold > poll.out 2> poll.err &
pid=$!
exec 3> hold
for i in $(seq 300); do grep -q '^armed$' poll.out && break; sleep 0.1; done
grep -q '^armed$' poll.out || fail "second poll did not arm: $(cat poll.out poll.err)"
write 40M 4k
kill -9 $pid; wait $pid 2> /dev/null; exec 3>&-
expect_eq "$(step vm.qcow2 prepare ovscan-3 3 4096)" "frozen ovscan-3" "prepare after commit+kill"
expect_eq "$(bitmaps)" "backup0 65536 enabled
ovscan-3 4096 enabled" "old frozen removed"
expect_eq "$(step vm.qcow2 read ovscan-3)" "41943040 4096" "successor after commit+kill"

# 5. Granularity mismatch -> full, the bitmap removed; then missing.
expect_eq "$(step vm.qcow2 prepare ovscan-3 3 65536)" \
  "full dirty bitmap ovscan-3 has granularity 4096, recorded 65536" "granularity mismatch"
expect_eq "$(bitmaps)" "backup0 65536 enabled" "bad-granularity bitmap removed"
expect_eq "$(step vm.qcow2 prepare ovscan-3 3 4096)" \
  "full dirty bitmap ovscan-3 is missing" "missing bitmap"
expect_eq "$(step vm.qcow2 arm 3 4096)" "successor ovscan-4 4" "re-arm after full"

# 6. Disabled -> full.
qemu-img bitmap --disable vm.qcow2 ovscan-4
expect_eq "$(step vm.qcow2 prepare ovscan-4 4 4096)" \
  "full dirty bitmap ovscan-4 is disabled (it does not record writes)" "disabled bitmap"
step vm.qcow2 arm 4 4096 > /dev/null

# 7. Image open read-write by qemu-storage-daemon: the in-use error, for
#    prepare and arm alike; nothing changed.
start_qsd () {
  rm -f nbd.sock qsd.pid
  qemu-storage-daemon \
    --blockdev driver=file,node-name=file0,filename=vm.qcow2 \
    --blockdev driver=qcow2,node-name=fmt0,file=file0 \
    --nbd-server addr.type=unix,addr.path="$T/nbd.sock" \
    --export '{"type":"nbd","id":"nbd0","node-name":"fmt0","name":"vm","writable":true}' \
    --daemonize --pidfile "$T/qsd.pid" || fail "qemu-storage-daemon did not start"
  qsd=$(cat qsd.pid)
  cleanup_fn "kill -9 $qsd 2> /dev/null"
}
start_qsd
inuse="tracker-step: vm.qcow2 is in use by another process (a running VM?): ovscan cannot track it offline; poll it through its QMP socket (ovscan add NAME --qmp SOCKET, not yet available) or shut the VM down"
step vm.qcow2 prepare ovscan-5 5 4096 > out 2> err && fail "prepare of a locked image succeeded"
expect_eq "$(cat err)" "$inuse" "in-use error (prepare)"
step vm.qcow2 arm 5 4096 > out 2> err && fail "arm of a locked image succeeded"
expect_eq "$(cat err)" "$inuse" "in-use error (arm)"
# A clean shutdown leaves the bitmaps consistent.
kill "$qsd"
for i in $(seq 100); do kill -0 "$qsd" 2> /dev/null || break; sleep 0.1; done
expect_eq "$(step vm.qcow2 prepare ovscan-5 5 4096)" "frozen ovscan-5" "after a clean shutdown"

# 8. Written through qemu-storage-daemon, then it is killed -9: the bitmap
#    is inconsistent -> full, removed; backup0 (also inconsistent) stays.
start_qsd
qemu-io -f raw -c 'write -P 1 50M 64k' "nbd+unix:///vm?socket=$T/nbd.sock" > /dev/null
kill -9 "$qsd"
for i in $(seq 100); do kill -0 "$qsd" 2> /dev/null || break; sleep 0.1; done
expect_eq "$(step vm.qcow2 prepare ovscan-5 5 4096)" \
  "full dirty bitmap ovscan-5 is inconsistent (QEMU did not shut down cleanly)" "inconsistent bitmap"
expect_eq "$(bitmaps)" "backup0 65536 enabled,in-use" "inconsistent ovscan bitmap removed, foreign one kept"
expect_eq "$(step vm.qcow2 arm 5 4096)" "successor ovscan-6 6" "re-arm after inconsistent"

# 9. Raw image: the qcow2-only error, from qemu-img's own report of the format.
qemu-img create -q -f raw r.img 10M
step --format raw r.img prepare - 0 4096 > out 2> err && fail "prepare of a raw image succeeded"
expect_eq "$(cat err)" "tracker-step: r.img is raw: only qcow2 images hold dirty bitmaps; add it with --tracker full" "raw image"

# 10. A relative name qemu would read as a protocol is still a file; a
#     missing image names the command and quotes qemu-img's message.
cp vm.qcow2 "nbd:vm.qcow2"
expect_eq "$(step "nbd:vm.qcow2" info | head -1)" "format qcow2" "protocol-looking file name"
step missing.qcow2 prepare - 0 4096 > out 2> err && fail "prepare of a missing image succeeded"
grep -q "^tracker-step: missing.qcow2: qemu-img info -f qcow2 --output=json -- ./missing.qcow2 failed (exit status 1): qemu-img: Could not open './missing.qcow2': " err \
  || fail "missing image message: $(cat err)"

# 11. A qemu-img that hangs (opening a FIFO nobody writes) is killed at the
#     timeout.
mkfifo fifo
start=$(date +%s)
step run 1 info -f raw ./fifo > out 2> err && fail "a hanging qemu-img returned"
expect_eq "$(cat err)" "tracker-step: qemu-img info -f raw ./fifo: still running after 1 s: killed" "timeout"
[ $(( $(date +%s) - start )) -le 5 ] || fail "timeout took $(( $(date +%s) - start )) s"
expect_eq "$(step run 5 --version | head -1)" "status 0" "run: exit status"
expect_eq "$(step run 5 info -f raw ./nope | head -1)" "status 1" "run: failing status is returned"
echo OK
