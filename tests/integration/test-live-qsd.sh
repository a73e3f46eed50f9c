#!/bin/bash
# Live polls of a running VM's disk over QMP (qemu-storage-daemon: the same
# block layer and QMP as a VM), while a guest-like writer keeps writing
# self-checking files through the kernel (tests/lib/live_writer.py):
#   - `add --qmp` refuses a socket that is not QMP and a node that is not there
#   - first poll full, then incremental polls DURING the writes: every live
#     file scanned is a complete version of its own id (the view is
#     point-in-time: no torn read), and every version written during or
#     between polls is listed by that poll or the next one
#   - after each poll nothing of ovscan's is left in the VM (exports, nodes,
#     jobs) or on the host (fleece file, NBD socket), and the node has exactly
#     one ovscan bitmap, recording
#   - with the writer stopped: a quiet poll that arms nothing (same bitmap)
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/live.sh"
live_setup
W="$OVSCAN_SOURCE_DIR/tests/lib/live_writer.py"
IDS=40

python3 "$W" sigs --out "$T/live.hdb" --ids $IDS --versions 300
mkdir -p "$T/src/etc" "$T/mnt"
echo "seed file" > "$T/src/etc/motd"
guest_mkfs "$T/vm.qcow2" 256M ext4 "$T/src" -E lazy_itable_init=0,lazy_journal_init=0 ||
  fail "guest_mkfs"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
[ -n "${LIVE_DEBUG:-}" ] && cleanup_fn "cp -a $T /tmp/live-debug"
D=$(_guest_dir_of "$T/mnt")
P=(poll vm --json --test-signatures -d "$T/live.hdb" -j 2)

# ---- add: wrong socket, wrong node ----
if "${O[@]}" add vm --qmp "$D/nbd.sock" --node fmt0 2> "$T/err"; then
  fail "add accepted an NBD socket as QMP"
fi
grep -q "not a QMP monitor" "$T/err" || fail "NBD socket: $(cat "$T/err")"
if "${O[@]}" add vm --qmp "$D/qmp.sock" --node nosuch 2> "$T/err"; then
  fail "add accepted a missing node"
fi
grep -q "no block node named nosuch.*fmt0" "$T/err" || fail "missing node: $(cat "$T/err")"
if "${O[@]}" add vm --qmp "$D/qmp.sock" --node file0 2> "$T/err"; then
  fail "add accepted a protocol (file) node"
fi
grep -q "need a writable qcow2 node" "$T/err" || fail "file node: $(cat "$T/err")"
"${O[@]}" add vm --qmp "$D/qmp.sock" --node fmt0 --nbd-socket "$D/nbd.sock" ||
  fail "add --qmp"
"${O[@]}" list | grep -q "^vm  *live  *qcow2 .*qmp:$D/qmp.sock" || fail "list: $("${O[@]}" list)"

# ---- polls while the writer writes ----
: > "$T/times"
python3 "$W" run --root "$T/mnt" --ids $IDS --versions 300 --seed 7 \
  --log "$T/writes.log" --stop "$T/stop" --delay 0.005 &
writer=$!
cleanup_fn "touch '$T/stop'; wait $writer 2>/dev/null"
sleep 1
for k in 0 1 2 3 4; do
  start=$(date +%s.%N)
  "${O[@]}" "${P[@]}" > "$T/poll$k.json" 2> "$T/poll$k.err"
  status=$?
  end=$(date +%s.%N)
  [ $status = 1 ] || { cat "$T/poll$k.json" | head -c 1500; fail "poll $k: status $status: $(cat "$T/poll$k.err")"; }
  echo "$start $end" >> "$T/times"
  live_assert_clean "$T/mnt" "$OVSCAN_LIVE_DIR" "after poll $k"
  sleep 0.7
done
touch "$T/stop"
wait $writer || fail "writer failed"
sync
"${O[@]}" "${P[@]}" > "$T/poll5.json" 2> "$T/poll5.err"
echo "$(date +%s.%N) $(date +%s.%N)" >> "$T/times"

python3 - "$T"/poll{0,1,2,3,4,5}.json <<'PY' || fail "poll modes"
import json, sys
polls = [json.loads(open(p).readline()) for p in sys.argv[1:]]
assert polls[0]["mode"] == "full" and polls[0]["reason"] == "first poll", polls[0]["mode"]
assert polls[0]["tracker"] == "live", polls[0]["tracker"]
for p in polls[1:]:
    assert p["mode"] == "incremental", (p["mode"], p.get("reason"))
    assert p["tracker"] == "live"
PY
python3 "$W" check --log "$T/writes.log" --times "$T/times" \
  --polls "$T"/poll{0,1,2,3,4,5}.json || fail "what the polls saw"
# The writer really wrote during the polls.
during=$(python3 - "$T/writes.log" "$T/times" <<'PY'
import sys
w = [float(l.split()[0]) for l in open(sys.argv[1])]
t = [tuple(map(float, l.split())) for l in open(sys.argv[2])][:5]
print(sum(1 for x in w for (s, e) in t if s <= x < e))
PY
)
[ "$during" -ge 5 ] || fail "only $during writes happened during the polls"
echo "writes during polls: $during"

# ---- quiet poll: nothing written, nothing armed ----
sleep 1
"${O[@]}" "${P[@]}" > "$T/settle.json" 2>&1   # whatever ext4 wrote at sync
bitmap_before=$(sqlite3 "$T/state.db" "SELECT bitmap FROM disks WHERE name = 'vm'")
"${O[@]}" "${P[@]}" > "$T/quiet.json" 2> "$T/quiet.err" || true
python3 - "$T/quiet.json" <<'PY' || fail "quiet poll: $(cat "$T/quiet.json")"
import json, sys
p = json.loads(open(sys.argv[1]).readline())
assert p["mode"] == "incremental" and p["dirty_bytes"] == 0 and not p["files"], p
PY
bitmap_after=$(sqlite3 "$T/state.db" "SELECT bitmap FROM disks WHERE name = 'vm'")
expect_eq "$bitmap_after" "$bitmap_before" "a quiet poll arms no successor"
live_assert_clean "$T/mnt" "$OVSCAN_LIVE_DIR" "after the quiet poll"

# ---- remove: ovscan's bitmap leaves the VM ----
"${O[@]}" remove vm > /dev/null || fail "remove"
left=$(live_node_bitmaps "$T/mnt" fmt0)
[ -z "$left" ] || fail "bitmaps left after remove: $left"
guest_stop "$T/mnt" || fail "guest_stop"
echo PASS
