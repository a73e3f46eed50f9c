#!/bin/bash
# A real running VM's copy-on-write layers polled live: qemu-system-x86_64
# -accel tcg (tests/lib/live_vm.sh) boots a busybox initramfs that mounts
# its virtio disk — a qcow2 overlay over an ext4 base — and keeps writing
# files, an EICAR among them, while ovscan rotates and merges the overlay's
# layers over QMP (`add --image TOP --tracker layers --qmp SOCKET --drive
# vd0`, the -drive/-device path).  Checks: the EICAR is found; every file
# the guest wrote is listed by some poll; after each poll TOP is the top of
# a valid chain within --max-chain (+1 while the VM's original node is the
# lowest layer, see ovscan(1)) and the VM holds no unused ovscan node or
# job; one poll killed between blockdev-snapshot and the rename (the
# device already writes the new top) is finished by the next; after the VM
# quits, its disk read from the files on disk holds every file with the
# content the guest wrote.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/live.sh"
source "$(dirname "$0")/../lib/live_vm.sh"
source "$(dirname "$0")/../lib/fleet.sh"
source "$(dirname "$0")/../lib/fleet_live.sh"
live_vm_requires
requires qemu-storage-daemon --version
requires nbdfuse --version
export OVSCAN_LIVE_DIR="$T/live"
O=("$OVSCAN" --state "$T/state.db")
V="$T/vm"
FILES=30
MAX=3

# Each file's content is a function of its number: checked after the VM quits.
{ live_vm_init_head; cat <<'EOF'; } > "$T/init.sh"
n=0
while [ $n -lt __FILES__ ]; do
  seq 1 $((2000 + n * 300)) | sed "s/^/file $n line /" > /mnt/data/f$n
  if [ $n = 7 ]; then
    printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > /mnt/data/eicar.com
  fi
  sync
  echo "GUEST-WROTE $n"
  n=$((n + 1))
  sleep 0.3
done
sync
echo GUEST-DONE
while true; do sleep 1; done
EOF
sed -i "s/__FILES__/$FILES/" "$T/init.sh"
live_vm_initramfs "$T/initrd.gz" "$T/init.sh" || fail "initramfs"
mkdir -p "$T/src/etc" "$T/mnt"
echo "golden image" > "$T/src/etc/motd"
guest_mkfs "$T/base.qcow2" 64M ext4 "$T/src" -E lazy_itable_init=0,lazy_journal_init=0 ||
  fail "guest_mkfs"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/vm.qcow2"
live_vm_start "$V" "$T/vm.qcow2" "$T/initrd.gz" || fail "qemu-system-x86_64"
live_vm_wait "$V" GUEST-READY 240 || fail "the guest did not come up: $(tail -5 "$V/console.log")"
"${O[@]}" add vm --image "$T/vm.qcow2" --tracker layers --max-chain $MAX \
  --qmp "$V/qmp.sock" --drive vd0 || fail "add"

P=(poll vm --json --test-signatures)
k=0
while :; do
  done_before=$(grep -c GUEST-DONE "$V/console.log")
  if [ $k = 2 ]; then
    # ovscan killed between blockdev-snapshot and the rename: the device
    # already writes the new top; the next poll finishes the rotation.
    OVSCAN_FAULT=live-rotate-after-snapshot "${O[@]}" "${P[@]}" > /dev/null 2>&1
    st=$?
    expect_eq "$st" 137 "killed poll"
    [ -e "$T/vm.qcow2.ovscan-new" ] || fail "the killed rotation left no new top"
  fi
  "${O[@]}" "${P[@]}" > "$T/poll$k.json" 2> "$T/poll$k.err"
  st=$?
  [ $st = 0 ] || [ $st = 1 ] || fail "poll $k: status $st: $(cat "$T/poll$k.err")"
  fleet_live_chain_ok "$T/vm.qcow2" $((MAX + 1)) "poll $k"
  fleet_live_no_strays_sock "$V/qmp.sock" "poll $k"
  echo "poll $k: own layers $(fleet_live_own_layers "$T/vm.qcow2"), $(grep -c GUEST-WROTE "$V/console.log") files written"
  k=$((k + 1))
  [ "$done_before" = 0 ] || break
  [ $k -lt 60 ] || fail "the guest did not finish writing"
  sleep 1
done
[ $k -ge 3 ] || fail "only $k polls ran while the guest wrote"

python3 - "$FILES" "$T"/poll*.json <<'PY' || fail "what the polls listed"
import json, sys
files = int(sys.argv[1])
listed, eicar = set(), False
for p in sys.argv[2:]:
    for line in open(p):
        o = json.loads(line)
        if o.get("type", "poll") != "poll":
            continue
        for f in o.get("files", []):
            if f.get("change") in ("new", "modified"):
                listed.add(f["path"])
            if f["path"] == "/data/eicar.com" and f.get("verdict") == "infected":
                eicar = True
missing = ["/data/f%d" % n for n in range(files) if "/data/f%d" % n not in listed]
assert not missing, "never listed: %s" % missing
assert eicar, "the EICAR was not found"
PY

live_vm_quit "$V" || fail "the VM did not quit"
fleet_live_chain_ok "$T/vm.qcow2" $((MAX + 1)) "after the VM quit"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "the chain on disk does not mount"
for (( n=0; n<FILES; n++ )); do
  seq 1 $((2000 + n * 300)) | sed "s/^/file $n line /" | cmp -s - "$T/mnt/data/f$n" ||
    fail "data/f$n differs from what the guest wrote"
done
guest_stop "$T/mnt" || fail "guest_stop"
echo PASS
