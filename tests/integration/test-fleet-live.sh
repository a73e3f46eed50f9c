#!/bin/bash
# Copy-on-write layers of a RUNNING VM (issue 5): qemu-storage-daemon (the
# block layer and QMP of a VM) runs the overlay over a real base, exported
# to the kernel, which mounts it; ovscan rotates and merges its layers over
# QMP while it runs:
#   - add --tracker layers --qmp refuses an image the VM does not run on,
#     and no image at all
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
#   - killed between blockdev-snapshot and the rename, then the VM killed
#     and restarted from TOP: the new top's writes are kept as
#     TOP.ovscan-orphan-TIME (the poll's reason says so), the next poll
#     reads every write of the round
#   - a quiet poll (nothing written) rotates nothing; remove works
#   - a second VM on the same base with --max-chain 2: the base is still
#     scanned once; while the VM's original node is its lowest layer the
#     chain keeps 3 own layers and the poll says why; after the VM's
#     restart the layers merge down to 2
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
if "${O[@]}" add vm --tracker layers --qmp "$D/qmp.sock" --node fmt0 2> "$T/err"; then
  fail "add --tracker layers --qmp accepted without --image"
fi
grep -q "both with --tracker layers" "$T/err" || fail "no image: $(cat "$T/err")"
"${O[@]}" add vm --image "$T/vm.qcow2" --tracker layers --max-chain $MAX \
  --qmp "$D/qmp.sock" --node fmt0 || fail "add"

# One round: seeded writes through the kernel, flushed home, ground truth.
round () {    # SEED OPS TAG [MNT]
  local m=${4:-$T/mnt}
  python3 "$FLEET_WORKLOAD" snapshot --root "$m" --out "$T/before-$3.json"
  python3 "$FLEET_WORKLOAD" run --seed "$1" --root "$m" --ops "$2" >/dev/null
  fleet_live_settle "$m"
  python3 "$FLEET_WORKLOAD" snapshot --root "$m" --out "$T/after-$3.json"
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

# ---- a writer writing DURING the polls ----
W="$OVSCAN_SOURCE_DIR/tests/lib/live_writer.py"
IDS=30
python3 "$W" sigs --out "$T/live.hdb" --ids $IDS --versions 300
PW=(poll vm --json --test-signatures -d "$T/live.hdb" -j 2)
: > "$T/times"
python3 "$W" run --root "$T/mnt" --ids $IDS --versions 300 --seed 7 \
  --log "$T/writes.log" --stop "$T/stop" --delay 0.005 &
writer=$!
cleanup_fn "touch '$T/stop'; wait $writer 2>/dev/null"
sleep 1
for k in 0 1 2 3; do
  start=$(date +%s.%N)
  "${O[@]}" "${PW[@]}" > "$T/wpoll$k.json" 2> "$T/wpoll$k.err"
  status=$?
  end=$(date +%s.%N)
  [ $status = 1 ] || fail "writer poll $k: status $status: $(cat "$T/wpoll$k.err")"
  echo "$start $end" >> "$T/times"
  after_poll_ok "writer poll $k"
  sleep 0.7
done
touch "$T/stop"
wait $writer || fail "writer failed"
fleet_live_settle "$T/mnt"
"${O[@]}" "${PW[@]}" > "$T/wpoll4.json" 2> "$T/wpoll4.err"
echo "$(date +%s.%N) $(date +%s.%N)" >> "$T/times"
python3 "$W" check --log "$T/writes.log" --times "$T/times" \
  --polls "$T"/wpoll{0,1,2,3,4}.json || fail "what the polls saw of the writer"
during=$(python3 - "$T/writes.log" "$T/times" <<'PY'
import sys
w = [float(l.split()[0]) for l in open(sys.argv[1])]
t = [tuple(map(float, l.split())) for l in open(sys.argv[2])][:4]
print(sum(1 for x in w for (s, e) in t if s <= x < e))
PY
)
[ "$during" -ge 5 ] || fail "only $during writes happened during the polls"
echo "writes during polls: $during"

# ---- SIGKILL at each step ----
killed_poll () { # POINT
  local st
  set +e
  OVSCAN_FAULT=$1 "${O[@]}" "${P[@]}" > /dev/null 2>&1
  st=$?
  set -e
  expect_eq "$st" 137 "$1: poll killed"
}
set -e
seed=100
for point in live-rotate-after-link live-rotate-after-create live-rotate-after-add \
             live-rotate-after-snapshot after-arm before-commit; do
  seed=$((seed + 1))
  round $seed 30 "$point"
  polls_before=$(fleet_db "select count(*) from polls")
  killed_poll "$point"
  expect_eq "$(fleet_db "select count(*) from polls")" "$polls_before" "$point: nothing committed"
  qemu-img info -U --backing-chain "$T/vm.qcow2" > /dev/null || fail "$point: the chain does not open"
  "${O[@]}" "${P[@]}" > "$T/poll-$point.json" || fail "$point: next poll: $(head -c 600 "$T/poll-$point.json")"
  recall "$point" "$T/poll-$point.json"
  after_poll_ok "$point: next poll"
  echo "ok: $point"
done
for point in after-commit live-merge-during-job live-merge-after-commit; do
  seed=$((seed + 1))
  round $seed 30 "$point"
  polls_before=$(fleet_db "select count(*) from polls")
  killed_poll "$point"
  expect_eq "$(fleet_db "select count(*) from polls")" "$((polls_before + 1))" "$point: the poll committed"
  "${O[@]}" report dirty vm --json > "$T/report-$point.json" || fail "$point: report"
  recall "$point" "$T/report-$point.json"
  qemu-img info -U --backing-chain "$T/vm.qcow2" > /dev/null || fail "$point: the chain does not open"
  round $((seed + 50)) 20 "$point-2"
  "${O[@]}" "${P[@]}" > "$T/poll-$point-2.json" || fail "$point: next poll"
  recall "$point-2" "$T/poll-$point-2.json"
  after_poll_ok "$point: next poll"
  echo "ok: $point"
done
set +e

# ---- killed between the snapshot and the rename, VM killed too ----
# QEMU writes TOP.ovscan-new, TOP still names the frozen layer; the VM dies
# and is restarted from TOP before the next poll: its writes since the
# snapshot are not in TOP (documented limit).  The next poll must keep them
# as TOP.ovscan-orphan (never delete them), clean up, and read the round.
round 150 30 orphan
killed_poll live-rotate-after-snapshot
set +e
echo "written after the snapshot" > "$T/mnt/after-snapshot.txt"
fleet_live_settle "$T/mnt"
guest_kill "$T/mnt"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "restart after the kill"
D=$(_guest_dir_of "$T/mnt")
sqlite3 "$T/state.db" "update disks set qmp_socket = '$D/qmp.sock' where name = 'vm'"
"${O[@]}" "${P[@]}" > "$T/poll-orphan.json" 2> "$T/poll-orphan.err" ||
  fail "poll after the restart: $(cat "$T/poll-orphan.err")"
orphan=$(ls "$T"/vm.qcow2.ovscan-orphan-* 2>/dev/null)
[ -n "$orphan" ] && [ -s "$orphan" ] || fail "the unfinished top was not kept as an orphan"
fleet_poll_json "$T/poll-orphan.json" reason | grep -q "ovscan-orphan" ||
  fail "the poll did not say why: $(head -c 600 "$T/poll-orphan.json")"
recall orphan "$T/poll-orphan.json"
after_poll_ok "after the orphan"
rm -f "$orphan"

# ---- the VM restarted from the files on disk ----
python3 "$FLEET_WORKLOAD" snapshot --root "$T/mnt" --out "$T/before-restart.json"
guest_stop "$T/mnt" || fail "guest_stop"
fleet_live_chain_ok "$T/vm.qcow2" $MAX "stopped"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "restart from the chain on disk"
python3 "$FLEET_WORKLOAD" snapshot --root "$T/mnt" --out "$T/after-restart.json"
python3 - "$T/before-restart.json" "$T/after-restart.json" <<'PY' || fail "content after the restart"
import json, sys
a, b = (json.load(open(x))["files"] for x in sys.argv[1:3])
assert {k: v["sha256"] for k, v in a.items()} == {k: v["sha256"] for k, v in b.items()}
PY
D=$(_guest_dir_of "$T/mnt")
[ "$D/qmp.sock" = "$(fleet_db "select qmp_socket from disks where name = 'vm'")" ] ||
  sqlite3 "$T/state.db" "update disks set qmp_socket = '$D/qmp.sock' where name = 'vm'"
for k in 1 2 3 4; do
  round $((200 + k)) 30 "re$k"
  "${O[@]}" "${P[@]}" > "$T/poll-re$k.json" 2> "$T/poll-re$k.err" ||
    fail "poll $k after the restart: $(cat "$T/poll-re$k.err")"
  recall "re$k" "$T/poll-re$k.json"
  after_poll_ok "poll $k after the restart"
done
# Every layer is now known to QEMU by its own name: merged to the limit.
expect_eq "$(fleet_live_own_layers "$T/vm.qcow2")" $MAX "own layers after the restart"
grep -q "kept while the VM runs" "$T"/poll-re4.err && fail "merge still deferred after the restart"
# ---- quiet: nothing written since the last poll, nothing rotates ----
fleet_live_settle "$T/mnt"
"${O[@]}" "${P[@]}" > /dev/null 2>&1      # whatever the settle wrote
layers_before=$(ls "$T" | grep -c '^vm.qcow2.layer-')
gen_before=$(fleet_db "select generation from disks where name = 'vm'")
"${O[@]}" "${P[@]}" > "$T/quiet.json" || fail "quiet poll"
python3 - "$T/quiet.json" <<'PY' || fail "quiet poll: $(head -c 600 "$T/quiet.json")"
import json, sys
p = json.loads(open(sys.argv[1]).readline())
assert p["dirty_bytes"] == 0 and not p["files"], p
PY
expect_eq "$(fleet_db "select generation from disks where name = 'vm'")" "$gen_before" \
  "a quiet poll rotates nothing"
expect_eq "$(ls "$T" | grep -c '^vm.qcow2.layer-')" "$layers_before" "a quiet poll adds no layer"
"${O[@]}" remove vm > /dev/null 2> "$T/remove.err" || fail "remove: $(cat "$T/remove.err")"
[ ! -s "$T/remove.err" ] || fail "remove warned: $(cat "$T/remove.err")"
guest_stop "$T/mnt" || fail "final guest_stop"
fleet_live_chain_ok "$T/vm.qcow2" $MAX "final"

# ---- a second VM on the same base, --max-chain 2 ----
# Its original node is known to QEMU as TOP until it restarts, so the
# lowest pair cannot be merged while it runs: 3 own layers, said.
mkdir -p "$T/mnt2"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/vm2.qcow2"
guest_start "$T/vm2.qcow2" "$T/mnt2" ext4 || fail "guest_start vm2"
D2=$(_guest_dir_of "$T/mnt2")
"${O[@]}" add vm2 --image "$T/vm2.qcow2" --tracker layers --max-chain 2 \
  --qmp "$D2/qmp.sock" --node fmt0 > /dev/null || fail "add vm2"
P2=(poll vm2 --json --test-signatures)
for k in 1 2 3; do
  round $((300 + k)) 30 "vm2-$k" "$T/mnt2"
  "${O[@]}" "${P2[@]}" > "$T/poll-vm2-$k.json" 2> "$T/poll-vm2-$k.err" ||
    fail "vm2 poll $k: $(cat "$T/poll-vm2-$k.err")"
  recall "vm2-$k" "$T/poll-vm2-$k.json"
  fleet_live_chain_ok "$T/vm2.qcow2" 3 "vm2 poll $k"
  fleet_live_no_strays "$T/mnt2" "vm2 poll $k"
done
expect_eq "$(fleet_live_own_layers "$T/vm2.qcow2")" 3 "vm2: own layers while its original node is the lowest"
grep -q "kept while the VM runs" "$T/poll-vm2-3.err" || fail "vm2: the deferred merge was not said: $(cat "$T/poll-vm2-3.err")"
expect_eq "$(fleet_db "select count(*) from polls p join disks d on d.id = p.disk_id where d.tracker = 'base'")" 1 \
  "the base scanned once for both VMs"
guest_stop "$T/mnt2" || fail "guest_stop vm2"
guest_start "$T/vm2.qcow2" "$T/mnt2" ext4 || fail "restart vm2"
D2=$(_guest_dir_of "$T/mnt2")
sqlite3 "$T/state.db" "update disks set qmp_socket = '$D2/qmp.sock' where name = 'vm2'"
round 310 30 "vm2-re" "$T/mnt2"
"${O[@]}" "${P2[@]}" > "$T/poll-vm2-re.json" 2> "$T/poll-vm2-re.err" ||
  fail "vm2 poll after restart: $(cat "$T/poll-vm2-re.err")"
recall "vm2-re" "$T/poll-vm2-re.json"
expect_eq "$(fleet_live_own_layers "$T/vm2.qcow2")" 2 "vm2: merged to --max-chain 2 after its restart"
fleet_live_no_strays "$T/mnt2" "vm2 after restart"
guest_stop "$T/mnt2" || fail "final guest_stop vm2"
fleet_live_chain_ok "$T/vm2.qcow2" 2 "vm2 final"
echo PASS
