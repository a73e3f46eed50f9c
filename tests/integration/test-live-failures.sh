#!/bin/bash
# Live polls when the VM misbehaves (qemu-storage-daemon as the VM, with no
# NBD server of its own: ovscan starts one on its private socket):
#   - the VM is killed mid-poll: the poll fails naming the cause, nothing is
#     committed; the next poll (VM restarted, bitmaps inconsistent) is full
#     with the reason, and nothing of ovscan's is left
#   - the VM is not running: a clear error
#   - the VM quits cleanly mid-poll (bitmaps saved: frozen disabled +
#     successor): after the restart the successor is merged back and the poll
#     is incremental and lists every file written before it
#   - the node is missing after a restart with another config: clear error
#     listing the nodes; back with the right config: a quiet poll
#   - an ovscan-N bitmap taken by someone else (busy in a foreign export):
#     clear error, nothing changed; once released, the poll goes on
#   - someone else's NBD server already runs in the VM: clear error naming
#     --nbd-socket; once it stops, the poll goes on
#   - no room on the host for the fleece file: refused, nothing changed
#   - a read-only node: refused with the reason
# After every poll, successful or not, the VM holds no ovscan export, node or
# job once the next poll has run, and exactly one ovscan bitmap.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/live.sh"
live_setup
WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"
P=(poll vm --json --test-signatures -j 1)
Q="$T/q"
polls () { sqlite3 "$T/state.db" 'SELECT count(*) FROM polls'; }
first_line () { head -n 1 "$1"; }
field () { first_line "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }

# Kill (or quit) the VM as soon as ovscan's view exists (its fleece file).
during_view () {
  local action=$1 i
  for (( i=0; i<3000; i++ )); do
    if compgen -G "$OVSCAN_LIVE_DIR/ovscan-*.qcow2" >/dev/null; then
      "$action" "$Q"; return 0
    fi
    sleep 0.01
  done
  return 1
}

assert_tidy () {
  local what=$1 s b f
  s=$(live_qsd_strays "$Q")
  [ -z "$s" ] || fail "$what: left in the VM: $s"
  b=$(live_qsd_bitmaps "$Q")
  [ "$(echo "$b" | grep -c .)" = 1 ] || fail "$what: bitmaps: $b"
  f=$(ls -A "$OVSCAN_LIVE_DIR" | grep -v '\.lock$' || true)
  [ -z "$f" ] || fail "$what: left on the host: $f"
}

mkdir -p "$T/src" "$T/mnt"
python3 "$WORKLOAD" populate --seed 5 --root "$T/src" --files 1500 >/dev/null
guest_mkfs "$T/vm.qcow2" 512M ext4 "$T/src" -E lazy_itable_init=0,lazy_journal_init=0 ||
  fail "guest_mkfs"
live_qsd_start "$T/vm.qcow2" "$Q" || fail "qsd"
[ -n "${LIVE_DEBUG:-}" ] && cleanup_fn "rm -rf /tmp/live-debug; cp -a $T /tmp/live-debug"
"${O[@]}" add vm --qmp "$Q/qmp.sock" --node fmt0 >/dev/null || fail "add"

# ---- 1. the VM is killed during the first poll ----
"${O[@]}" "${P[@]}" > "$T/p1.json" 2> "$T/p1.err" &
poll_pid=$!
during_view live_qsd_kill || fail "the view never appeared"
wait $poll_pid && fail "a poll of a killed VM succeeded"
cat "$T/p1.err"
grep -q "poll failed, nothing recorded" "$T/p1.err" || fail "killed VM: $(cat "$T/p1.err")"
expect_eq "$(polls)" 0 "no poll committed"

# ---- 2. the VM is not running ----
"${O[@]}" "${P[@]}" > /dev/null 2> "$T/p2.err" && fail "poll of a stopped VM succeeded"
grep -q "cannot connect.*is the VM running" "$T/p2.err" || fail "stopped VM: $(cat "$T/p2.err")"

# ---- restarted after the crash: full poll, the killed run's leftovers gone ----
live_qsd_start "$T/vm.qcow2" "$Q" || fail "qsd restart"
"${O[@]}" "${P[@]}" > "$T/p3.json" 2> "$T/p3.err" || fail "poll after restart: $(cat "$T/p3.err")"
expect_eq "$(field "$T/p3.json" mode)" full "poll after the crash"
assert_tidy "after the crash"
[ -n "${LIVE_DEBUG:-}" ] && { live_qsd_bitmaps "$Q"; sqlite3 "$T/state.db" "SELECT bitmap, generation FROM disks"; }
# A bitmap made over QMP reaches the image only when QEMU closes it: stop
# cleanly once (stored), then kill -9 (left "in-use": inconsistent).
live_qsd_stop "$Q"
live_qsd_start "$T/vm.qcow2" "$Q" || fail "qsd restart 2"
[ -n "${LIVE_DEBUG:-}" ] && { live_qsd_bitmaps "$Q"; qemu-img info -U "$T/vm.qcow2" | grep -A8 bitmaps; }
live_qsd_kill "$Q"
live_qsd_start "$T/vm.qcow2" "$Q" || fail "qsd restart 3"
live_qsd_bitmaps "$Q" | grep -q inconsistent || fail "kill -9 left no inconsistent bitmap"
"${O[@]}" "${P[@]}" > "$T/p4.json" 2> "$T/p4.err" || fail "poll after kill: $(cat "$T/p4.err")"
expect_eq "$(field "$T/p4.json" mode)" full "poll of a VM restarted after a crash"
field "$T/p4.json" reason | grep -q "inconsistent" || fail "reason: $(field "$T/p4.json" reason)"
assert_tidy "after the inconsistent bitmap"
echo "crash, stopped VM, inconsistent bitmap: ok"

# ---- 3. a clean quit mid-poll; writes before it are not lost ----
live_qsd_stop "$Q" || fail "quit"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
mkdir "$T/mnt/round3"
for i in 1 2 3 4 5; do echo "written before the poll $i" > "$T/mnt/round3/f$i"; done
guest_stop "$T/mnt" || fail "guest_stop"
live_qsd_start "$T/vm.qcow2" "$Q" || fail "qsd restart 3b"
# Make the incremental poll long enough to be interrupted: a big new file.
live_qsd_stop "$Q"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start 2"
head -c 60M /dev/urandom > "$T/mnt/round3/big.bin"
guest_stop "$T/mnt" || fail "guest_stop 2"
live_qsd_start "$T/vm.qcow2" "$Q" || fail "qsd restart 4"
before=$(polls)
"${O[@]}" "${P[@]}" > "$T/p5.json" 2> "$T/p5.err" &
poll_pid=$!
during_view live_qsd_stop || fail "the view never appeared (3)"
# Usually the quit lands while big.bin is read: the poll fails (nothing
# recorded).  If it landed after the commit, the poll's own list counts.
wait $poll_pid && quit_after_commit=1 || quit_after_commit=0
expect_eq "$(polls)" "$((before + quit_after_commit))" \
  "polls recorded by the poll the quit interrupted (committed: $quit_after_commit)"
cat "$T/p5.err"
live_qsd_start "$T/vm.qcow2" "$Q" || fail "qsd restart 5"
saved=$(live_qsd_bitmaps "$Q" | tr '\n' ' ')
echo "bitmaps saved at the quit: $saved (committed before the quit: $quit_after_commit)"
"${O[@]}" "${P[@]}" > "$T/p6.json" 2> "$T/p6.err" || fail "poll after quit: $(cat "$T/p6.err")"
expect_eq "$(field "$T/p6.json" mode)" incremental "poll after a clean quit (merge-back)"
if [ $quit_after_commit = 0 ]; then
  grep -q "poll failed, nothing recorded" "$T/p5.err" || fail "quit mid-poll: $(cat "$T/p5.err")"
  grep -q '"errors":0' "$T/p6.json" || fail "errors after the merge-back: $(head -c 600 "$T/p6.json")"
  for f in f1 f2 f3 f4 f5 big.bin; do
    grep -q "\"path\":\"/round3/$f\"" "$T/p6.json" || fail "round3/$f lost"
  done
else
  for f in f1 f2 f3 f4 f5 big.bin; do
    grep -q "\"path\":\"/round3/$f\"" "$T/p5.json" || fail "round3/$f lost"
  done
fi
assert_tidy "after the merge-back"
echo "clean quit mid-poll: ok ($saved)"

# ---- 4. the node is missing ----
live_qsd_stop "$Q"
live_qsd_start "$T/vm.qcow2" "$Q" other || fail "qsd as 'other'"
"${O[@]}" "${P[@]}" > /dev/null 2> "$T/p7.err" && fail "poll of a missing node succeeded"
grep -q "no block node named fmt0.*other" "$T/p7.err" || fail "missing node: $(cat "$T/p7.err")"
live_qsd_stop "$Q"
live_qsd_start "$T/vm.qcow2" "$Q" || fail "qsd back"
"${O[@]}" "${P[@]}" > "$T/p8.json" 2> "$T/p8.err" || fail "poll back: $(cat "$T/p8.err")"
expect_eq "$(field "$T/p8.json" dirty_bytes)" 0 "quiet poll after the node came back"
echo "missing node: ok"

# ---- 5. an ovscan-N bitmap taken by someone else ----
gen=$(sqlite3 "$T/state.db" "SELECT generation FROM disks")
taken="ovscan-$((gen + 1))"
live_qsd_qmp "$Q" '{"execute":"nbd-server-start","arguments":{"addr":{"type":"unix","data":{"path":"'"$Q"'/foreign.sock"}}}}' >/dev/null
live_qsd_qmp "$Q" '{"execute":"block-dirty-bitmap-add","arguments":{"node":"fmt0","name":"'"$taken"'","disabled":true}}' >/dev/null
live_qsd_qmp "$Q" '{"execute":"block-export-add","arguments":{"type":"nbd","id":"foreign","node-name":"fmt0","name":"foreign","bitmaps":["'"$taken"'"]}}' >/dev/null
# Something to poll, so that the poll goes past the quiet check.
live_qsd_qmp "$Q" '{"execute":"block-dirty-bitmap-clear","arguments":{"node":"fmt0","name":"'"$taken"'"}}' >/dev/null 2>&1 || true
before=$(polls)
"${O[@]}" "${P[@]}" > /dev/null 2> "$T/p9.err" && fail "poll with a busy $taken succeeded"
grep -q "$taken" "$T/p9.err" || fail "taken bitmap: $(cat "$T/p9.err")"
expect_eq "$(polls)" "$before" "nothing committed (taken bitmap)"
live_qsd_qmp "$Q" '{"execute":"block-export-del","arguments":{"id":"foreign"}}' >/dev/null
sleep 0.3
# ---- 6. someone else's NBD server ----
"${O[@]}" poll vm --full --json --test-signatures > /dev/null 2> "$T/p10.err" &&
  fail "poll with a foreign NBD server succeeded"
grep -q "already runs an NBD server.*--nbd-socket" "$T/p10.err" || fail "foreign server: $(cat "$T/p10.err")"
expect_eq "$(polls)" "$before" "nothing committed (foreign server)"
s=$(live_qsd_strays "$Q")
[ -z "$s" ] || fail "left after the refused poll: $s"
live_qsd_qmp "$Q" '{"execute":"nbd-server-stop"}' >/dev/null
"${O[@]}" poll vm --full --json --test-signatures > "$T/p11.json" 2> "$T/p11.err" ||
  fail "poll after the foreign server left: $(cat "$T/p11.err")"
assert_tidy "after the foreign objects"
echo "taken bitmap, foreign NBD server: ok"

# ---- 7. no room for the fleece file: refused before anything changes ----
before=$(polls)
OVSCAN_LIVE_RESERVE=1000000T "${O[@]}" poll vm --full --json --test-signatures > /dev/null \
  2> "$T/p12.err" && fail "poll without room for the fleece file succeeded"
grep -q "bytes free, the fleece file may need" "$T/p12.err" || fail "no room: $(cat "$T/p12.err")"
expect_eq "$(polls)" "$before" "nothing committed (no room)"
assert_tidy "after the refused poll (no room)"
echo "no room for the fleece file: ok"
live_qsd_stop "$Q"

# ---- 8. a read-only node (a CD-ROM, a read-only disk) ----
R="$T/ro"; mkdir -p "$R"
qemu-storage-daemon \
  --blockdev "driver=file,node-name=rofile,filename=$T/vm.qcow2,read-only=on" \
  --blockdev driver=qcow2,node-name=ro0,file=rofile,read-only=on \
  --chardev "socket,id=qmp0,path=$R/qmp.sock,server=on,wait=off" --monitor chardev=qmp0 \
  --daemonize --pidfile "$R/qsd.pid" || fail "read-only qsd"
cleanup_fn "live_qsd_kill '$R'"
"${O[@]}" add ro --qmp "$R/qmp.sock" --node ro0 2> "$T/p13.err" && fail "add of a read-only node succeeded"
grep -q "node ro0 is read-only" "$T/p13.err" || fail "read-only add: $(cat "$T/p13.err")"
# Added while writable, read-only at the poll (the VM restarted so).
sqlite3 "$T/state.db" "INSERT INTO disks (name, image, format, tracker, granularity, created, qmp_socket, qmp_node) VALUES ('ro', 'qmp:$R/qmp.sock', 'qcow2', 'bitmap', 4096, 0, '$R/qmp.sock', 'ro0')"
"${O[@]}" poll ro --test-signatures > /dev/null 2> "$T/p13.err" && fail "poll of a read-only node succeeded"
grep -q "node ro0 is read-only" "$T/p13.err" || fail "read-only poll: $(cat "$T/p13.err")"
[ -z "$(live_qsd_strays "$R")" ] || fail "left on the read-only VM: $(live_qsd_strays "$R")"
live_qsd_stop "$R"
echo "read-only node: ok"
echo PASS
