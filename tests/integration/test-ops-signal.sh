#!/bin/bash
# SIGTERM in the middle of `poll --all`: the poll in progress finishes and
# is committed, no new disk starts, the run names the disks it left and
# exits 2; the next run finds everything written before.  Then two SIGTERMs
# in the middle of a poll: it is aborted, nothing is committed, the image
# keeps one bitmap and passes qemu-img check, and the next poll finds
# everything.  "In the middle": the successor bitmap is armed and the poll
# is loading a 400k-signature database (~4 s), after the tracker hand-over
# began and before the commit.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/ops.sh"
ops_requires_guest

SIGS="$T/sigs"
python3 "$OVSCAN_SOURCE_DIR/bench/make-sigs.py" "$SIGS" --hashes 1000 --bodies 400000 \
  >/dev/null 2>&1 || fail "make-sigs"
[ -f "$SIGS/ovscan-test.ndb" ] || fail "make-sigs: no test signatures"

ops_fleet d1 d2 d3
ops_write d2 tmp/eicar.com "$EICAR"

# Wait until poll $1 of image $2 is armed (two ovscan bitmaps), at most 30 s.
wait_armed () {
  local i
  for (( i=0; i<300; i++ )); do
    kill -0 "$1" 2>/dev/null || fail "ovscan ended before the poll was armed: $(cat "$T"/run*.err)"
    [ "$(guest_bitmaps "$2" | wc -l)" = 2 ] && return 0
    sleep 0.1
  done
  fail "the poll was never armed"
}

# ---- one SIGTERM: finish d1, leave d2 and d3
"${O[@]}" poll --all -d "$SIGS" --json > "$T/run1.out" 2> "$T/run1.err" &
pid=$!
wait_armed $pid "$T/d1.qcow2"
kill -TERM $pid
set +e; wait $pid; status=$?; set -e
cat "$T/run1.err" >&2
expect_eq "$status" 2 "SIGTERM: exit status (disks left)"
grep -q "SIGTERM: finishing the current poll" "$T/run1.err" || fail "SIGTERM not acknowledged"
grep -q "left dirty for the next run: d2, d3" "$T/run1.err" || fail "left disks not named"
expect_eq "$(ops_polls d1)" 2 "d1: the poll in progress was committed"
expect_eq "$(ops_polls d2)/$(ops_polls d3)" 1/1 "d2, d3: not started"
grep -q '"vm":"d1".*"path":"/home/d1.txt"' "$T/run1.out" || fail "d1's poll lacks its file"
expect_eq "$(grep -c '"type":"skipped","vm":"d[23]","reason":"signal"' "$T/run1.out")" 2 \
  "JSON: one skipped object per left disk"
expect_eq "$(guest_bitmaps "$T/d1.qcow2" | wc -l)" 1 "d1: one bitmap after the finished poll"

set +e
"${O[@]}" poll --all --test-signatures --json > "$T/run2.out"
status=$?
set -e
expect_eq "$status" 1 "next run: EICAR written before the signal found"
grep -q '"type":"detection","vm":"d2",.*"path":"/tmp/eicar.com"' "$T/run2.out" ||
  fail "next run: d2's EICAR not reported"
grep -q '"vm":"d3".*"path":"/home/d3.txt"' "$T/run2.out" || fail "next run: d3's file lost"
grep -q '"vm":"d1".*"mode":"incremental".*"files":\[\]' "$T/run2.out" ||
  fail "next run: d1 should be quiet"

# ---- two SIGTERMs: abort d1's poll, nothing committed, nothing lost
ops_write d1 home/again.txt "after the first signal test"
ops_write d1 tmp/eicar2.com "$EICAR"
before=$(ops_polls d1)
"${O[@]}" poll d1 -d "$SIGS" > "$T/run3.out" 2> "$T/run3.err" &
pid=$!
wait_armed $pid "$T/d1.qcow2"
kill -TERM $pid
sleep 0.3
kill -TERM $pid
set +e; wait $pid; status=$?; set -e
cat "$T/run3.err" >&2
expect_eq "$status" 2 "two SIGTERMs: exit status"
grep -q "SIGTERM again: aborting the poll of d1" "$T/run3.err" || fail "abort not said"
expect_eq "$(ops_polls d1)" "$before" "aborted poll not committed"
[ ! -s "$T/run3.out" ] || fail "aborted poll printed a result: $(cat "$T/run3.out")"
# Our qemu-nbd exits when its client is gone; wait for the image's lock.
for (( i=0; i<50; i++ )); do qemu-img check -q "$T/d1.qcow2" 2>/dev/null && break; sleep 0.1; done
qemu-img check -q "$T/d1.qcow2" || fail "qemu-img check after the abort"

set +e
"${O[@]}" poll d1 --test-signatures --json > "$T/run4.out" 2> "$T/run4.err"
status=$?
set -e
cat "$T/run4.err" >&2
expect_eq "$status" 1 "poll after the abort: EICAR found"
grep -q '"path":"/home/again.txt"' "$T/run4.out" || fail "poll after the abort: a write was lost"
grep -q '"type":"detection","vm":"d1",.*"path":"/tmp/eicar2.com"' "$T/run4.out" ||
  fail "poll after the abort: detection lost"
expect_eq "$(guest_bitmaps "$T/d1.qcow2" | wc -l)" 1 "one bitmap left after the next poll"
echo PASS
