#!/bin/bash
# kill -9 of ovscan at every step of a poll's tracker hand-over (after
# prepare, after arming the successor bitmap, during the scan, before and
# after the database commit), then another poll: every file changed since
# the last *committed* poll is still listed (recall = 100% against the
# kernel-written ground truth), the image keeps exactly one ovscan bitmap and
# stays openable by QEMU, and the database holds no half poll.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
requires_root
requires qemu-storage-daemon --version
requires nbdfuse --version
requires python3 --version
WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"
O=("$OVSCAN" --state "$T/state.db")

mkdir -p "$T/src" "$T/mnt"
python3 "$WORKLOAD" populate --seed 3 --root "$T/src" --files 80
guest_mkfs "$T/vm.qcow2" 96M ext4 "$T/src" -b 4096 || fail "guest_mkfs"
"${O[@]}" add vm --image "$T/vm.qcow2" >/dev/null
"${O[@]}" poll vm --test-signatures >/dev/null || fail "first poll"

polls_committed () { sqlite3 "$T/state.db" 'SELECT count(*) FROM polls'; }

seed=100
for point in after-prepare after-arm during-scan before-commit after-commit; do
  seed=$((seed + 1))
  guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start ($point)"
  python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/before.json"
  python3 "$WORKLOAD" run --seed $seed --root "$T/mnt" --ops 120 >/dev/null
  python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/after.json"
  guest_stop "$T/mnt" || fail "guest_stop ($point)"
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
  # QEMU can still open the image (no lock or corruption left behind).
  qemu-img check -q "$T/vm.qcow2" || fail "$point: qemu-img check"

  "${O[@]}" poll vm --json --test-signatures > "$T/poll.json" || fail "$point: poll after the kill"
  if [ "$point" = after-commit ]; then
    # The killed poll committed the changes; this one may list nothing, but
    # the killed poll's list must hold them.
    "${O[@]}" report dirty vm --poll "$(sqlite3 "$T/state.db" 'SELECT max(id) - 1 FROM polls')" \
      --json > "$T/poll.json"
  fi
  python3 "$WORKLOAD" check --truth "$T/truth.json" --poll "$T/poll.json" >/dev/null ||
    fail "$point: a change was lost"
  bitmaps=$(guest_bitmaps "$T/vm.qcow2" | tr '\n' ' ')
  [ "$(echo $bitmaps | wc -w)" = 1 ] || fail "$point: bitmaps left: $bitmaps"
  echo "$point: ok (bitmaps: $bitmaps)"
done
echo PASS
