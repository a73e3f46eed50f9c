#!/bin/bash
# Bad copy-on-write chains: clear errors naming the images, nothing lost.
#   add: not an overlay, a base whose size differs from the overlay's, a
#        backing chain loop, a missing base
#        (qemu 7.2 no longer writes a backing file without its format)
#   poll: the base moved away (error, the VM's db state and layers intact,
#        the next poll after putting it back covers the writes), the overlay
#        rebased onto an unregistered image (error), a base replaced under
#        the same path by other content (a new base, scanned once, the VM's
#        layers read again), the VM running (image locked: refused, no
#        rotation).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/fleet.sh"
fleet_setup

expect_fail () {  # PATTERN CMD…: CMD must fail with PATTERN on stderr
  local pattern=$1; shift
  set +e
  "$@" > "$T/out" 2> "$T/err"
  local st=$?
  set -e
  [ "$st" != 0 ] || fail "should have failed: $*"
  grep -q -- "$pattern" "$T/err" || { cat "$T/err" >&2; fail "error lacks '$pattern': $*"; }
  sed 's/^/  refused: /' "$T/err"
}

fleet_base "$T" 60
cd "$T"
# Not an overlay.
expect_fail "no base image" "${O[@]}" add plain --image base.qcow2 --tracker layers
# Size mismatch.
qemu-img create -q -f qcow2 small.qcow2 64M
qemu-img create -q -f qcow2 -b small.qcow2 -F qcow2 big.qcow2 128M
expect_fail "size mismatch" "${O[@]}" add big --image big.qcow2 --tracker layers
# Loop: a -> b -> a.
qemu-img create -q -f qcow2 loop-a.qcow2 16M
qemu-img create -q -f qcow2 -b loop-a.qcow2 -F qcow2 loop-b.qcow2
qemu-img rebase -u -f qcow2 -b loop-b.qcow2 -F qcow2 loop-a.qcow2
expect_fail "loop" "${O[@]}" add loop --image loop-b.qcow2 --tracker layers
# Missing base.
qemu-img create -q -f qcow2 gone.qcow2 16M
qemu-img create -q -f qcow2 -b gone.qcow2 -F qcow2 orphan.qcow2
rm gone.qcow2
expect_fail "missing" "${O[@]}" add orphan --image orphan.qcow2 --tracker layers
expect_eq "$(fleet_db "select count(*) from disks")" 0 "nothing registered by refused adds"

# A good VM, then its base moves away and comes back.
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 vm.qcow2
"${O[@]}" add vm --image vm.qcow2 --tracker layers || fail "add vm"
fleet_change "$T/vm.qcow2" "$T/mnt" 3 30 moved || fail "writes"
mv base.qcow2 base-moved.qcow2
expect_fail "missing (moved or deleted" "${O[@]}" poll vm --test-signatures
expect_eq "$(fleet_db "select count(*) from polls")" 0 "nothing polled without the base"
[ ! -e vm.qcow2.layer-1 ] || fail "rotated although the poll was refused"
mv base-moved.qcow2 base.qcow2
"${O[@]}" poll vm --json --test-signatures > "$T/p-moved.json" 2>/dev/null || fail "poll after the base came back"
python3 "$FLEET_WORKLOAD" check --truth "$T/truth-moved.json" --poll "$T/p-moved.json" >/dev/null ||
  fail "writes missed after the base came back"

# The overlay rebased onto an unregistered copy of the base.
cp base.qcow2 other-base.qcow2
qemu-img rebase -u -f qcow2 -b other-base.qcow2 -F qcow2 vm.qcow2.layer-1
expect_fail "unregistered base" "${O[@]}" poll vm --test-signatures
qemu-img rebase -u -f qcow2 -b base.qcow2 -F qcow2 vm.qcow2.layer-1

# The VM running: its top is locked.
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
expect_fail "lock\|in use" "${O[@]}" poll vm --test-signatures
guest_stop "$T/mnt" || fail "guest_stop"
[ ! -e vm.qcow2.layer-2 ] || fail "rotated while the VM ran"

# The base replaced under the same path by other content: a new base,
# scanned once; the VM's own layers are read again.
guest_start "$T/base.qcow2" "$T/mnt" ext4 || fail "guest_start base"
echo "new base content" > "$T/mnt/new-in-base.txt"
guest_stop "$T/mnt" || fail "guest_stop base"
"${O[@]}" poll vm --json --test-signatures > "$T/p-newbase.json" 2> "$T/p-newbase.err" || fail "poll on the new base"
grep -q "changed under the same path" "$T/p-newbase.err" || fail "base change not said"
expect_eq "$(fleet_db "select count(*) from bases")" 2 "a second base registered"
expect_eq "$(fleet_db "select count(*) from polls p join disks d on d.id = p.disk_id where d.tracker = 'base'")" 2 \
  "each base scanned once"
python3 - "$T/p-newbase.json" <<'PY' || fail "VM poll after the base change"
import json, sys
p = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][0]
assert p["mode"] == "incremental" and p["dirty_bytes"] > 0, p
print("after the base change:", p["files_scanned"], "scanned")
PY
"${O[@]}" list

# A base's disk row goes only after the last VM on it; an unused one at once.
old_base=$(fleet_db "select d.name from bases b join disks d on d.id = b.disk_id order by b.id limit 1")
new_base=$(fleet_db "select d.name from bases b join disks d on d.id = b.disk_id order by b.id desc limit 1")
expect_fail "$new_base is the shared base of 1 VM (vm): remove it first" "${O[@]}" remove "$new_base"
expect_eq "$(fleet_db "select count(*) from disks where name = '$new_base'")" 1 "the used base is kept"
"${O[@]}" remove "$old_base" > /dev/null || fail "remove the unused old base"
"${O[@]}" remove vm > /dev/null || fail "remove vm"
"${O[@]}" remove "$new_base" > /dev/null || fail "remove the base after its last VM"
expect_eq "$(fleet_db "select count(*) from disks") $(fleet_db "select count(*) from bases")" "0 0" \
  "nothing left registered"
echo PASS
