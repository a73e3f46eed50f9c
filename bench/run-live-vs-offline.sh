#!/bin/bash
# ovscan bench — the same ext4 disk polled live (over QMP, while mounted in
# the "VM") and offline (image, VM stopped), to show what the live path
# costs ovscan itself: the first (full) poll, and incremental polls after 10
# new files (issue 4).  One run, printed as lines
#   <live|off> <first|incr> <poll seconds> <metadata_walk> [files listed]
#
# Usage (as root):  bench/run-live-vs-offline.sh [FILES]     (default 20000)
# Environment: OVSCAN (default build-bench/ovscan, else build/ovscan).
# Cost: ~6 min on the shared 2-core machine with FILES=20000.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
FILES=${1:-20000}
if [ -z "${OVSCAN:-}" ]; then
  for b in "$SRC/build-bench/ovscan" "$SRC/build/ovscan"; do
    [ -x "$b" ] && { OVSCAN=$b; break; }
  done
fi
export OVSCAN OVSCAN_SOURCE_DIR=$SRC
source "$SRC/tests/functions.sh"
source "$SRC/tests/lib/guest.sh"
set +u
export OVSCAN_LIVE_DIR=$T/live
show () {   # MODE KIND: summarise the poll JSON on stdin
  head -n 1 | python3 -c 'import json,sys; p=json.load(sys.stdin)
print(sys.argv[1], sys.argv[2], p["duration_s"], "|", p["metadata_walk"], "|", len(p["files"]))' "$1" "$2"
}
mkdir -p "$T/src" "$T/mnt"
python3 "$SRC/tests/lib/workload.py" populate --seed 1 --root "$T/src" --files "$FILES" >/dev/null
guest_mkfs "$T/vm.qcow2" 2G ext4 "$T/src" -E lazy_itable_init=0,lazy_journal_init=0
cp "$T/vm.qcow2" "$T/off.qcow2"
O=("$OVSCAN" --state "$T/s.db")

guest_start "$T/vm.qcow2" "$T/mnt"
D=$(_guest_dir_of "$T/mnt")
"${O[@]}" add live --qmp "$D/qmp.sock" --node fmt0 --nbd-socket "$D/nbd.sock" >/dev/null
"${O[@]}" poll live --json --test-signatures | show live first
for i in 1 2 3; do
  for j in $(seq 10); do echo "x $i $j" > "$T/mnt/new-$i-$j"; done
  sync
  "${O[@]}" poll live --json --test-signatures | show live incr
done
guest_stop "$T/mnt"

"${O[@]}" add off --image "$T/off.qcow2" >/dev/null
"${O[@]}" poll off --json --test-signatures | show off first
for i in 1 2 3; do
  guest_start "$T/off.qcow2" "$T/mnt"
  for j in $(seq 10); do echo "x $i $j" > "$T/mnt/new-$i-$j"; done
  guest_stop "$T/mnt"
  "${O[@]}" poll off --json --test-signatures | show off incr
done
