#!/bin/bash
# kill -9 of ovscan at every step of a LIVE poll (after prepare, after the
# bitmap switch + view export, during the scan, before and after the db
# commit) while the VM keeps running, then another poll: every file changed
# since the last committed poll is listed (recall 100% against the
# kernel-written ground truth, tests/lib/workload.py), the database holds no
# half poll, and the next poll removes everything the killed one left in the
# VM (export, backup job, fleece node) and on the host (fleece file): after
# it the VM holds exactly one ovscan bitmap, recording.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/live.sh"
live_setup
WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"

mkdir -p "$T/src" "$T/mnt"
python3 "$WORKLOAD" populate --seed 3 --root "$T/src" --files 80 >/dev/null
guest_mkfs "$T/vm.qcow2" 128M ext4 "$T/src" -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 ||
  fail "guest_mkfs"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
D=$(_guest_dir_of "$T/mnt")
"${O[@]}" add vm --qmp "$D/qmp.sock" --node fmt0 --nbd-socket "$D/nbd.sock" >/dev/null ||
  fail "add"
"${O[@]}" poll vm --test-signatures >/dev/null || fail "first poll"
polls_committed () { sqlite3 "$T/state.db" 'SELECT count(*) FROM polls'; }

seed=200
for point in after-prepare after-arm during-scan before-commit after-commit; do
  seed=$((seed + 1))
  python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/before.json"
  python3 "$WORKLOAD" run --seed $seed --root "$T/mnt" --ops 120 >/dev/null
  sync                     # metadata to its home blocks (no journal replay)
  python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/after.json"
  python3 "$WORKLOAD" diff "$T/before.json" "$T/after.json" --out "$T/truth.json"

  before=$(polls_committed)
  set +e
  OVSCAN_FAULT=$point "${O[@]}" poll vm --test-signatures > "$T/killed.out" 2>&1
  status=$?
  set -e
  expect_eq "$status" 137 "$point: ovscan was killed (status)"
  after=$(polls_committed)
  if [ "$point" = after-commit ]; then
    expect_eq "$after" $((before + 1)) "$point: the poll was committed"
  else
    expect_eq "$after" "$before" "$point: no half poll in the database"
  fi
  left=$(live_strays "$T/mnt" | tr '\n' ' ')
  echo "$point: left by the killed poll: ${left:-nothing}; bitmaps: $(live_node_bitmaps "$T/mnt" fmt0 | tr '\n' ' ')"

  "${O[@]}" poll vm --json --test-signatures > "$T/poll.json" 2> "$T/poll.err" ||
    fail "$point: poll after the kill: $(cat "$T/poll.err")"
  if [ "$point" = after-commit ]; then
    "${O[@]}" report dirty vm --poll "$(sqlite3 "$T/state.db" 'SELECT max(id) - 1 FROM polls')" \
      --json > "$T/poll.json"
  fi
  python3 "$WORKLOAD" check --truth "$T/truth.json" --poll "$T/poll.json" >/dev/null ||
    fail "$point: a change was lost"
  live_assert_clean "$T/mnt" "$OVSCAN_LIVE_DIR" "$point: after the next poll"
  echo "$point: ok"
done
guest_stop "$T/mnt" || fail "guest_stop"
echo PASS
