#!/bin/bash
# A real running VM polled live: qemu-system-x86_64 -accel tcg with the
# Debian kernel from /boot and a busybox initramfs that mounts its virtio
# disk (ext4) and keeps writing files, an EICAR among them, while ovscan
# polls it over QMP (`add --qmp SOCKET --drive vd0`, ovscan's own NBD
# server).  Checks: first poll full, later ones incremental; the EICAR is
# found; every file the guest wrote is listed by some poll; after each poll
# the VM holds no ovscan export, node or job and one ovscan bitmap; nothing
# is left on the host.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/live.sh"
source "$(dirname "$0")/../lib/live_vm.sh"
live_vm_requires
export OVSCAN_LIVE_DIR="$T/live"
O=("$OVSCAN" --state "$T/state.db")
V="$T/vm"
FILES=40

{ live_vm_init_head; cat <<'EOF'; } > "$T/init.sh"
n=0
while [ $n -lt __FILES__ ]; do
  dd if=/dev/urandom of=/mnt/data/f$n bs=4k count=16 2>/dev/null
  if [ $n = 10 ]; then
    printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > /mnt/data/eicar.com
  fi
  sync
  echo "GUEST-WROTE $n"
  n=$((n + 1))
  sleep 0.2
done
sync
echo GUEST-DONE
while true; do sleep 1; done
EOF
sed -i "s/__FILES__/$FILES/" "$T/init.sh"
live_vm_initramfs "$T/initrd.gz" "$T/init.sh" || fail "initramfs"
guest_mkfs "$T/vm.qcow2" 64M ext4 "" -E lazy_itable_init=0,lazy_journal_init=0 || fail "guest_mkfs"
boot_start=$(date +%s)
live_vm_start "$V" "$T/vm.qcow2" "$T/initrd.gz" || fail "qemu-system-x86_64"
live_vm_wait "$V" GUEST-READY 240 || fail "the guest did not come up: $(tail -5 "$V/console.log")"
echo "guest up in $(( $(date +%s) - boot_start )) s"

"${O[@]}" add vm --qmp "$V/qmp.sock" --drive vd0 || fail "add --drive"
k=0
while :; do
  done_before=0
  grep -q GUEST-DONE "$V/console.log" && done_before=1
  "${O[@]}" poll vm --json --test-signatures > "$T/poll$k.json" 2> "$T/poll$k.err"
  status=$?
  [ $status -le 1 ] || fail "poll $k: status $status: $(cat "$T/poll$k.err")"
  s=$(live_qsd_strays "$V")
  [ -z "$s" ] || fail "poll $k left in the VM: $s"
  b=$(live_qsd_bitmaps "$V" disk0)
  [ "$(echo "$b" | grep -c ':rec:')" = 1 ] || fail "poll $k: bitmaps: $b"
  f=$(ls -A "$OVSCAN_LIVE_DIR" | grep -v '\.lock$' || true)
  [ -z "$f" ] || fail "poll $k left on the host: $f"
  echo "poll $k: $(head -n 1 "$T/poll$k.json" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["mode"], p["dirty_bytes"], "bytes dirty,", len(p["files"]), "files,", p["infected"], "infected,", p["duration_s"], "s")') (guest: $(grep -c GUEST-WROTE "$V/console.log") files written)"
  k=$((k + 1))
  [ $done_before = 1 ] && break
  [ $k -lt 60 ] || fail "the guest never finished writing"
  sleep 1
done

python3 - $FILES "$T"/poll*.json <<'PY' || fail "what the polls saw"
import json, sys
n = int(sys.argv[1])
polls = [json.loads(open(p).readline()) for p in sorted(sys.argv[2:], key=lambda p: int(p.split("poll")[-1][:-5]))]
assert polls[0]["mode"] == "full" and polls[0]["tracker"] == "live", polls[0]
assert all(p["mode"] == "incremental" for p in polls[1:]), [p["mode"] for p in polls]
listed = set()
eicar = False
for p in polls:
    for f in p["files"]:
        if f["change"] in ("new", "modified"):
            listed.add(f["path"])
        if f["path"] == "/data/eicar.com" and f["verdict"] == "infected":
            eicar = True
missing = ["/data/f%d" % i for i in range(n) if "/data/f%d" % i not in listed]
assert not missing, "never listed: %s" % missing
assert eicar, "EICAR not found"
print("polls %d, files listed %d, EICAR found" % (len(polls), len(listed)))
PY
live_vm_quit "$V" || fail "quit"
echo PASS
