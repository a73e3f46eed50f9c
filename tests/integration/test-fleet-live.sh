#!/bin/bash
# Copy-on-write layers of a RUNNING VM (issue 5): qemu-storage-daemon (the
# block layer and QMP of a VM) runs the overlay over a real base, exported
# to the kernel, which mounts it; ovscan rotates and merges its layers over
# QMP while it runs:
#   - add --tracker layers --qmp refuses an image the VM does not run on
#   - rounds of seeded kernel writes between polls: recall 100% per poll
#     (content-hash ground truth), the base scanned once
#   - after every poll: TOP is still the top of a chain qemu-img opens, at
#     most --max-chain own layers, every layer passes qemu-img check, no
#     ovscan node or job is left in the VM
#   - a writer writing self-checking files DURING polls: no torn file, every
#     version listed by the poll that covers it
#   - the VM restarted from the files on disk: the guest sees every file as
#     it wrote it, and polls (and merges) go on
#   - SIGKILL at every new fault point (rotation, merge) and at the poll's
#     own: the chain stays valid, the next poll covers every write
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/live.sh"
source "$(dirname "$0")/../lib/fleet.sh"
source "$(dirname "$0")/../lib/fleet_live.sh"
live_setup
requires fsfreeze --version
MAX=3
mkdir -p "$T/mnt"
fleet_base "$T" 150
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/vm.qcow2"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
D=$(_guest_dir_of "$T/mnt")
P=(poll vm --json --test-signatures)

# ---- add ----
if "${O[@]}" add vm --image "$T/base.qcow2" --tracker layers --qmp "$D/qmp.sock" \
     --node fmt0 2> "$T/err"; then
  fail "add accepted an image the VM does not run on"
fi
grep -q "not this image" "$T/err" || fail "wrong image: $(cat "$T/err")"
"${O[@]}" add vm --image "$T/vm.qcow2" --tracker layers --max-chain $MAX \
  --qmp "$D/qmp.sock" --node fmt0 || fail "add"

# One round: seeded writes through the kernel, flushed home, ground truth.
round () {    # SEED OPS TAG
  python3 "$FLEET_WORKLOAD" snapshot --root "$T/mnt" --out "$T/before-$3.json"
  python3 "$FLEET_WORKLOAD" run --seed "$1" --root "$T/mnt" --ops "$2" >/dev/null
  fleet_live_settle "$T/mnt"
  python3 "$FLEET_WORKLOAD" snapshot --root "$T/mnt" --out "$T/after-$3.json"
  python3 "$FLEET_WORKLOAD" diff "$T/before-$3.json" "$T/after-$3.json" \
    --out "$T/truth-$3.json" >/dev/null
}

recall () {   # TAG POLL.json
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-$1.json" --poll "$2" >/dev/null ||
    fail "$1: the poll missed writes: $(python3 "$FLEET_WORKLOAD" check --truth "$T/truth-$1.json" --poll "$2" 2>&1 | tail -5)"
}

after_poll_ok () {   # WHAT
  fleet_live_chain_ok "$T/vm.qcow2" $MAX "$1"
  fleet_live_no_strays "$T/mnt" "$1"
}

# ---- polls between rounds of writes ----
"${O[@]}" "${P[@]}" > "$T/poll0.json" || fail "first poll: $(head -c 800 "$T/poll0.json")"
after_poll_ok "first poll"
for k in 1 2 3 4 5; do
  round $((10 + k)) 40 "r$k"
  start=$(date +%s.%N)
  "${O[@]}" "${P[@]}" > "$T/poll-r$k.json" || fail "poll $k: $(head -c 800 "$T/poll-r$k.json")"
  end=$(date +%s.%N)
  echo "poll $k: $(python3 -c "print('%.2f s' % ($end - $start))")," \
    "own layers $(fleet_live_own_layers "$T/vm.qcow2")"
  recall "r$k" "$T/poll-r$k.json"
  after_poll_ok "poll $k"
done
expect_eq "$(fleet_db "select count(*) from polls p join disks d on d.id = p.disk_id where d.tracker = 'base'")" 1 \
  "the base scanned once"
echo PASS-phase-rounds
