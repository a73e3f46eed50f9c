#!/bin/bash
# ovscan bench — a copy-on-write fleet (issue 5), side by side in one run:
#   N VM overlays (default 20) on the full-scan benchmark image (>= 2 GiB,
#   76,675 files; bench/make-image.sh), each with FRACTION (1%) of its files
#   changed by its own seeded workload through the kernel plus one shared
#   update (the same UPDATE_FILES files, same bytes, written into every VM).
#   1. the fleet's first poll: `ovscan poll --all` (the base scanned once,
#      then each VM's own layers), cold cache;
#   2. clamscan -r of mounted VMs: CLAM_VMS of them measured (default 1: the
#      VMs differ by ~1%, so a VM's clamscan -r costs the same as any other's),
#      the fleet figure is N x their median — said so in the table;
#   3. the oracle: clamscan -r of the base once + for each VM clamscan
#      --file-list of exactly the files its workload and the update wrote
#      (from the workload log), all measured;
#   4. another FRACTION per VM, then the incremental fleet poll (rotation +
#      merge-down);
#   5. the extra disk space of the layers (du of every VM's own layer files)
#      against the base's size.
# Usage (as root):  bench/run-fleet.sh
# Environment: BENCH_DIR (default /var/tmp/ovscan-bench: fullscan.qcow2 and
#   sigs/ are made there when missing), OVSCAN (default build-bench/ovscan,
#   else build/ovscan; copied into the run directory), N, FRACTION, CLAM_VMS,
#   UPDATE_FILES (default 40), MAX_CHAIN (default 2), THREADS (default: CPUs),
#   BASE (another ext4 qcow2 instead of the benchmark image: a quick trial).
# Results: BENCH_DIR/runs/fleet-DATE/ (raw outputs) and the summary table
#   bench/out/fleet-DATE.md (+ .json).
# Cost with N=20: ~35 min (base scan ~2 min, each clamscan -r ~3.5 min).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/ovscan-bench}
N=${N:-20}
FRACTION=${FRACTION:-0.01}
CLAM_VMS=${CLAM_VMS:-1}
UPDATE_FILES=${UPDATE_FILES:-40}
MAX_CHAIN=${MAX_CHAIN:-2}
MAX_FILESIZE=${MAX_FILESIZE:-100M}
MAX_SCANSIZE=${MAX_SCANSIZE:-400M}
if [ -z "${OVSCAN:-}" ]; then
  OVSCAN=$SRC/build-bench/ovscan
  [ -x "$OVSCAN" ] || OVSCAN=$SRC/build/ovscan
fi
WORKLOAD=$SRC/tests/lib/workload.py
MEASURE=(python3 "$HERE/fullscan.py" measure)
die () { echo "run-fleet: $*" >&2; exit 1; }
say () { echo "run-fleet: $(date -u +%T) $*" >&2; }
[ "$(id -u)" -eq 0 ] || die "run as root (loop mounts, drop_caches)"
for t in clamscan qemu-img qemu-storage-daemon nbdfuse python3 /usr/bin/time; do
  command -v "$t" >/dev/null || die "$t not found"
done
. "$SRC/tests/lib/guest.sh"
if [ -z "${BASE:-}" ]; then     # BASE: another ext4 qcow2, for a quick trial
  # Never rebuild a cached image under another benchmark's feet (it would
  # be deleted while other runs read it).
  REUSE_IMAGE=${REUSE_IMAGE:-1} "$HERE/make-image.sh" "$BENCH_DIR" >/dev/null
  BASE=$BENCH_DIR/fullscan.qcow2
fi
SIGS=$BENCH_DIR/sigs
python3 "$HERE/make-sigs.py" "$SIGS" >/dev/null
LIM_C=(--max-filesize="$MAX_FILESIZE" --max-scansize="$MAX_SCANSIZE")
LIM_O=(--max-filesize "$MAX_FILESIZE" --max-scansize "$MAX_SCANSIZE")
[ -n "${THREADS:-}" ] && LIM_O+=(-j "$THREADS")

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
R=$BENCH_DIR/runs/fleet-$STAMP
mkdir -p "$R/gmnt" "$R/ro" "$HERE/out"
cp "$OVSCAN" "$R/ovscan"
# The VMs' base is a hard link in the run directory: a rebuild of the
# cached image (make-image.sh removes it first) cannot change this run's base.
ln "$BASE" "$R/base.qcow2" 2>/dev/null || cp "$BASE" "$R/base.qcow2"
BASE=$R/base.qcow2
O=("$R/ovscan" --state "$R/state.db")
drop_caches () { sync; echo 3 > /proc/sys/vm/drop_caches; }

. "$SRC/bench/ro_mount.sh"

# The shared update: UPDATE_FILES files, the same bytes in every VM.
mkdir -p "$R/update"
python3 - "$R/update" "$UPDATE_FILES" <<'PY'
import os, random, sys
rng = random.Random(4242)
for i in range(int(sys.argv[2])):
    size = rng.choice([2000, 30000, 200000, 1500000])
    with open(os.path.join(sys.argv[1], "lib%03d.so" % i), "wb") as f:
        f.write(bytes(rng.getrandbits(8) for _ in range(size)))
PY

# Changed files of a round from the workload log (last quoted path of every
# op that writes content) + the update, as paths under $R/ro.
changed_list () {   # LOG OUT [update]
  python3 - "$1" "$2" "$R/ro" "${3:-}" "$UPDATE_FILES" <<'PY'
import shlex, sys
log, out, mnt, upd, nupd = sys.argv[1:6]
skip = {"delete", "rename_only", "chmod_only"}
paths = []
for line in open(log, encoding="utf-8", errors="surrogateescape"):
    parts = shlex.split(line)
    if not parts or parts[0] in skip or parts[0].startswith("fill_hole(no"):
        continue
    quoted = [p for p in parts[1:] if not p.lstrip("-").isdigit() and p != "None"]
    if quoted:
        paths.append(quoted[-1])
if upd:
    paths += ["opt/update/lib%03d.so" % i for i in range(int(nupd))]
with open(out, "w", encoding="utf-8", errors="surrogateescape") as f:
    for p in dict.fromkeys(paths):
        f.write(mnt + "/" + p + "\n")
print(len(paths))
PY
}

write_round () {    # VM ROUND: FRACTION of the files + (round 1) the update
  local i=$1 r=$2
  guest_start "$R/vm$i.qcow2" "$R/gmnt" ext4
  python3 "$WORKLOAD" run --profile bench --fraction "$FRACTION" --seed $((r * 1000 + i)) \
    --root "$R/gmnt" --log "$R/workload-$r-vm$i.log" > /dev/null 2> "$R/workload-$r-vm$i.err"
  if [ "$r" = 1 ]; then
    mkdir -p "$R/gmnt/opt/update" && cp "$R/update"/* "$R/gmnt/opt/update/"
  fi
  guest_stop "$R/gmnt"
}

say "run directory $R; $N overlays on $BASE"
for i in $(seq "$N"); do
  qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k -b "$BASE" -F qcow2 "$R/vm$i.qcow2"
  "${O[@]}" add "vm$i" --image "$R/vm$i.qcow2" --tracker layers --max-chain "$MAX_CHAIN" >/dev/null
  write_round "$i" 1
done
say "round 1 written"

say "1. the fleet's first poll (base once + every VM's own layers), cold"
drop_caches
"${MEASURE[@]}" "$R/fleet-poll-1" -- "${O[@]}" poll --all --json -d "$SIGS" "${LIM_O[@]}" || true

say "2. clamscan -r of $CLAM_VMS mounted VM(s)"
for i in $(seq "$CLAM_VMS"); do
  ro_mount "$R/vm$i.qcow2" "$R/ro"; drop_caches
  "${MEASURE[@]}" "$R/clamscan-r-vm$i" -- clamscan -r -d "$SIGS" "${LIM_C[@]}" "$R/ro" || true
  ro_umount
done

say "3. oracle: clamscan -r of the base once + clamscan --file-list per VM"
ro_mount "$BASE" "$R/ro"; drop_caches
"${MEASURE[@]}" "$R/oracle-base" -- clamscan -r -d "$SIGS" "${LIM_C[@]}" "$R/ro" || true
ro_umount
for i in $(seq "$N"); do
  changed_list "$R/workload-1-vm$i.log" "$R/changed-1-vm$i.list" update > /dev/null
  ro_mount "$R/vm$i.qcow2" "$R/ro"; drop_caches
  "${MEASURE[@]}" "$R/oracle-1-vm$i" -- clamscan -d "$SIGS" "${LIM_C[@]}" --file-list="$R/changed-1-vm$i.list" || true
  ro_umount
done

say "4. another $FRACTION per VM, then the incremental fleet poll"
for i in $(seq "$N"); do write_round "$i" 2; done
drop_caches
"${MEASURE[@]}" "$R/fleet-poll-2" -- "${O[@]}" poll --all --json -d "$SIGS" "${LIM_O[@]}" || true
for i in $(seq "$N"); do
  changed_list "$R/workload-2-vm$i.log" "$R/changed-2-vm$i.list" > /dev/null
  ro_mount "$R/vm$i.qcow2" "$R/ro"; drop_caches
  "${MEASURE[@]}" "$R/oracle-2-vm$i" -- clamscan -d "$SIGS" "${LIM_C[@]}" --file-list="$R/changed-2-vm$i.list" || true
  ro_umount
done

say "5. disk space"
du -B1 -c "$R"/vm*.qcow2* | tail -1 | cut -f1 > "$R/layers-bytes.txt"
du -B1 "$BASE" | cut -f1 > "$R/base-bytes.txt"
"${O[@]}" list > "$R/list.txt"

python3 "$HERE/fleet.py" "$R" "$N" "$CLAM_VMS" "$(git -C "$SRC" rev-parse --short HEAD)" \
  "$HERE/out/fleet-$STAMP"
cat "$HERE/out/fleet-$STAMP.md"
