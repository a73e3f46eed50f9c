#!/bin/bash
# ovscan bench — what a live poll costs the running VM (issue 4), side by
# side in one run, on the block layer a VM uses (qemu-storage-daemon: the
# "guest" writes through its writable NBD export, as a virtio disk's
# requests reach the same node):
#   none     the disk's node has no dirty bitmap at all
#   bitmap   ovscan's dirty bitmap records (the state between polls)
#   view     during a live poll: the successor bitmap records, and the
#            point-in-time view is exported (backup job sync=none: the first
#            write to each 64 KiB cluster first copies the old cluster into
#            the fleece file)
# Workloads (qemu-img bench over NBD, queue depth 8, on data written
# beforehand so that every cluster is allocated; each on its own region, so
# that in a "view" round each cluster's first write pays its copy once):
#   sparse4k  4 KiB writes 64 KiB apart over 1 GiB (every write is a
#             cluster's first: the worst case for the view)
#   seq64k    sequential 64 KiB writes over 512 MiB at offset 1 GiB
# Rounds alternate the three states in rotating order (ROUNDS each: the
# shared 2-core machines are noisy); medians and ratios to
# "none" are reported.  "view" rounds: `OVSCAN_FAULT=after-arm ovscan poll`
# exits right after the view is exported (bitmap switch + view up), the
# workload runs against it, then a normal poll removes the view.  The wall
# time of that killed poll is "poll start to view exported" (process start,
# QMP connect, queries, qemu-img create, blockdev-add, transaction,
# block-export-add), the time during which the guest first feels the poll.
#
# Usage (as root):  bench/run-live.sh
# Environment: BENCH_DIR (default /var/tmp/ovscan-bench-live), OVSCAN
# (default build-bench/ovscan, else build/ovscan), ROUNDS (default 9).  Output: a Markdown table on stdout and
# bench/out/live-<time>.json.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OVSCAN=${OVSCAN:-}
if [ -z "$OVSCAN" ]; then
  for b in "$SRC/build-bench/ovscan" "$SRC/build/ovscan"; do
    [ -x "$b" ] && { OVSCAN=$b; break; }
  done
fi
[ -x "${OVSCAN:-}" ] || { echo "no ovscan binary (set OVSCAN)" >&2; exit 2; }
ROUNDS=${ROUNDS:-9}
DISK_MB=2048          # the workloads use its first 1.5 GiB
B=${BENCH_DIR:-/var/tmp/ovscan-bench-live}
rm -rf "$B"; mkdir -p "$B"
export OVSCAN_LIVE_DIR="$B/live"
O=("$OVSCAN" --state "$B/state.db")

qemu-img create -q -f qcow2 "$B/vm.qcow2" "${DISK_MB}M"
for (( off=0; off<DISK_MB; off+=512 )); do
  len=$(( DISK_MB - off < 512 ? DISK_MB - off : 512 ))
  qemu-io -f qcow2 -c "write -q -P 0x5a ${off}M ${len}M" "$B/vm.qcow2"
done
qemu-storage-daemon \
  --blockdev "driver=file,node-name=file0,filename=$B/vm.qcow2" \
  --blockdev driver=qcow2,node-name=fmt0,file=file0 \
  --nbd-server "addr.type=unix,addr.path=$B/nbd.sock" \
  --export '{"type":"nbd","id":"nbd0","node-name":"fmt0","name":"vm","writable":true}' \
  --chardev "socket,id=qmp0,path=$B/qmp.sock,server=on,wait=off" --monitor chardev=qmp0 \
  --daemonize --pidfile "$B/qsd.pid"
trap 'kill "$(cat "$B/qsd.pid")" 2>/dev/null || true' EXIT
QMP=(python3 "$SRC/bench/live_bench.py" qmp "$B/qmp.sock")
URI="nbd+unix:///vm?socket=$B/nbd.sock"

# ovscan's bitmap exists from its first poll on.
"${O[@]}" add vm --qmp "$B/qmp.sock" --node fmt0 --nbd-socket "$B/nbd.sock" >/dev/null
"${O[@]}" poll vm --test-signatures >/dev/null 2>&1 || true

workload () {    # NAME: prints seconds
  case $1 in
    sparse4k) qemu-img bench -w -f raw -c 16384 -s 4096 -S 65536 -d 8 "$URI" ;;
    seq64k)   qemu-img bench -w -f raw -c 8192 -s 65536 -S 65536 -d 8 -o 1G "$URI" ;;
  esac | sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p'
}

results="$B/results.txt"; : > "$results"
workload sparse4k >/dev/null; workload seq64k >/dev/null    # warm-up
orders=("none bitmap view" "bitmap view none" "view none bitmap")
for (( r=1; r<=ROUNDS; r++ )); do
  for state in ${orders[$(( r % 3 ))]}; do     # no state always first
    case $state in
      none)   "${QMP[@]}" disable-all fmt0 ;;   # no recording bitmap
      bitmap) "${QMP[@]}" enable-all fmt0 ;;
      view)
        t0=$(date +%s.%N)
        OVSCAN_FAULT=after-arm "${O[@]}" poll vm --test-signatures >/dev/null 2>"$B/arm.err" || true
        t1=$(date +%s.%N)
        echo "arm $r $(echo "$t1 - $t0" | bc)" >> "$results"
        [ -n "$("${QMP[@]}" exports)" ] || { echo "no view after arm: $(cat "$B/arm.err")" >&2; exit 1; } ;;
    esac
    for w in sparse4k seq64k; do
      echo "$w $state $r $(workload $w)" >> "$results"
    done
    if [ $state = view ]; then       # the next poll removes the view
      "${O[@]}" poll vm --test-signatures >/dev/null 2>&1 || true
      [ -z "$("${QMP[@]}" exports)" ] || { echo "view left" >&2; exit 1; }
    fi
  done
done
"${QMP[@]}" enable-all fmt0
mkdir -p "$SRC/bench/out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
python3 "$SRC/bench/live_bench.py" report "$results" \
  --commit "$(git -C "$SRC" rev-parse --short HEAD)" --disk-mb "$DISK_MB" \
  --json "$SRC/bench/out/live-$stamp.json"
