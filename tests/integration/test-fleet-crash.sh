#!/bin/bash
# Layer rotation and merge-down under SIGKILL (OVSCAN_FAULT, common/fault.h).
# One overlay on a base, --max-chain 2 (a merge at every poll from the
# second on).  For each kill point a seeded round of kernel writes, a poll
# killed there, then:
#   - the chain is valid: qemu-img info --backing-chain opens it, every
#     layer passes qemu-img check, the path the VM names is still its top,
#     and the guest's files hash as it wrote them;
#   - not committed (after-prepare, rotate-after-link, rotate-before-rename,
#     after-arm, during-scan, before-commit): the next poll lists every
#     change of the round (recall 100% against content-hash ground truth);
#   - committed (after-commit, merge-after-commit, merge-after-rebase): the
#     killed poll's record lists every change, and the next round's poll
#     does too; the chain is merged back to the limit.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/fleet.sh"
requires_root
requires qemu-storage-daemon --version
requires nbdfuse --version
requires python3 --version
O=("$OVSCAN" --state "$T/state.db")
mkdir -p "$T/mnt"
fleet_base "$T" 150
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/vm.qcow2"
"${O[@]}" add vm --image "$T/vm.qcow2" --tracker layers --max-chain 2 || fail "add"
"${O[@]}" poll vm --json --test-signatures > /dev/null || fail "first poll"

chain_ok () {    # TAG
  local f
  qemu-img info --backing-chain "$T/vm.qcow2" > "$T/chain-$1.txt" || fail "$1: chain does not open"
  grep -q "^image: .*base.qcow2$" "$T/chain-$1.txt" || fail "$1: chain lost its base"
  for f in "$T/vm.qcow2" $(ls "$T"/vm.qcow2.layer-* 2>/dev/null); do
    qemu-img check -q "$f" || fail "$1: qemu-img check $f"
  done
  [ ! -e "$T/vm.qcow2.ovscan-new" ] || [ "$2" = killed ] || fail "$1: temporary top left"
}

content_ok () {  # TAG: the guest sees what it last wrote
  guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "$1: guest_start"
  python3 "$FLEET_WORKLOAD" snapshot --root "$T/mnt" --out "$T/now-$1.json"
  guest_stop "$T/mnt" || fail "$1: guest_stop"
  python3 - "$T/after-$1.json" "$T/now-$1.json" <<'PY' || fail "$1: content changed"
import json, sys
a, b = (json.load(open(x))["files"] for x in sys.argv[1:3])
assert {k: v["sha256"] for k, v in a.items()} == {k: v["sha256"] for k, v in b.items()}
PY
}

killed_poll () { # POINT
  set +e
  OVSCAN_FAULT=$1 "${O[@]}" poll vm --json --test-signatures > /dev/null 2>&1
  local st=$?
  set -e
  expect_eq "$st" 137 "$1: poll killed"
}

seed=100
for point in after-prepare rotate-after-link rotate-before-rename after-arm during-scan before-commit; do
  seed=$((seed + 1))
  fleet_change "$T/vm.qcow2" "$T/mnt" $seed 40 "$point" || fail "$point: writes"
  polls_before=$(fleet_db "select count(*) from polls")
  killed_poll "$point"
  expect_eq "$(fleet_db "select count(*) from polls")" "$polls_before" "$point: nothing committed"
  chain_ok "$point" killed
  content_ok "$point"
  "${O[@]}" poll vm --json --test-signatures > "$T/poll-$point.json" || fail "$point: next poll"
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-$point.json" --poll "$T/poll-$point.json" >/dev/null ||
    fail "$point: the next poll missed writes"
  chain_ok "$point-next"
  echo "ok: $point"
done

for point in after-commit merge-after-commit merge-after-rebase; do
  seed=$((seed + 1))
  fleet_change "$T/vm.qcow2" "$T/mnt" $seed 40 "$point" || fail "$point: writes"
  polls_before=$(fleet_db "select count(*) from polls")
  killed_poll "$point"
  expect_eq "$(fleet_db "select count(*) from polls")" "$((polls_before + 1))" "$point: the poll committed"
  "${O[@]}" report dirty vm --json > "$T/report-$point.json" || fail "$point: report"
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-$point.json" --poll "$T/report-$point.json" >/dev/null ||
    fail "$point: the committed poll missed writes"
  chain_ok "$point"
  content_ok "$point"
  fleet_change "$T/vm.qcow2" "$T/mnt" $((seed + 50)) 30 "$point-2" || fail "$point: writes 2"
  "${O[@]}" poll vm --json --test-signatures > "$T/poll-$point-2.json" || fail "$point: next poll"
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-$point-2.json" --poll "$T/poll-$point-2.json" >/dev/null ||
    fail "$point: the next poll missed writes"
  chain_ok "$point-next"
  expect_eq "$(ls "$T" | grep -c '^vm.qcow2.layer-')" 1 "$point: merged back to --max-chain 2"
  echo "ok: $point"
done
echo PASS
