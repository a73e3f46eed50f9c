#!/bin/bash
# ovscan bench — XFS on LVM through the libguestfs appliance (issue 7).
#
# Guest: a qcow2 disk, GPT with p1 ext4 (/boot, small) and p2 an LVM2 PV of
# VG "bench" holding LV "home" (LV_SIZE, XFS) filled with FILES files by
# tests/lib/workload.py populate (its size mix: 0 B .. 150 KB plus some
# 1-2 MiB files) and EICAR_COUNT EICAR files.  The LVM metadata is written by
# lvm2 itself, XFS by the kernel (tests/lib/lvm.sh).  Files with more than
# 1 MiB allocated are cut to 64 KiB after populate (see below).
#
# Measured, cold cache (sync + drop_caches before each timed command):
#   1. full scan: the first `ovscan poll` (walk through the appliance +
#      scan of every file) and its appliance share (JSON line "appliance":
#      launch and busy seconds);
#   2. `clamscan -r` over the same XFS mounted read-only by the host kernel;
#   3. a 1%-change poll: workload.py --profile bench --fraction FRACTION
#      written through the kernel into the LV (qemu-storage-daemon records the
#      writes in ovscan's dirty bitmap), then `ovscan poll`: its time, its
#      appliance share, and recall against content-hash snapshots;
#   4. quiet polls (nothing written): time, and that no appliance started.
# Same signatures for both tools: BENCH_SIGS (default: the sigs of
# bench/make-sigs.py in /var/tmp/ovscan-bench/sigs, copied) — else ovscan's
# test signatures file.
#
# Usage (as root):  bench/run-guests.sh
# Environment: BENCH_DIR (default /var/tmp/ovscan-bench-guests), FILES
#   (55000), LV_SIZE (6G: populate writes ~4.5 GB before the cut), FRACTION (0.01), EICAR_COUNT (10), OVSCAN
#   (default build-guests/ovscan, else build/ovscan), QUIET_ROUNDS (3),
#   LIBGUESTFS_BACKEND_SETTINGS (default force_tcg: no working KVM here).
# Results: BENCH_DIR/run-DATE/ (raw outputs) and bench/out/guests-DATE.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/ovscan-bench-guests}
FILES=${FILES:-55000}
LV_SIZE=${LV_SIZE:-6G}
FRACTION=${FRACTION:-0.01}
EICAR_COUNT=${EICAR_COUNT:-10}
QUIET_ROUNDS=${QUIET_ROUNDS:-3}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}
if [ -z "${OVSCAN:-}" ]; then
  OVSCAN=$SRC/build-guests/ovscan
  [ -x "$OVSCAN" ] || OVSCAN=$SRC/build/ovscan
fi
export OVSCAN_FS_WALK=${OVSCAN_FS_WALK:-$(dirname "$OVSCAN")/ovscan-fs-walk}
WORKLOAD=$SRC/tests/lib/workload.py
source "$SRC/tests/lib/guest.sh"
source "$SRC/tests/lib/lvm.sh"

RUN=$BENCH_DIR/run-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RUN/mnt" "$RUN/lv" "$RUN/sigs"
if [ -n "${BENCH_SIGS:-}" ]; then cp "$BENCH_SIGS"/* "$RUN/sigs/"
elif [ -d /var/tmp/ovscan-bench/sigs ]; then cp /var/tmp/ovscan-bench/sigs/* "$RUN/sigs/"
else cp "$SRC/signatures/ovscan-test.ndb" "$RUN/sigs/"; fi
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
cold () { sync; echo 3 > /proc/sys/vm/drop_caches; }
log () { echo "bench: $*" >&2; }
timed () {   # NAME CMD...: wall seconds into $RUN/NAME.time, output NAME.out/.err
  local name=$1 t0 t1 rc
  shift
  cold
  t0=$(date +%s.%N)
  set +e
  "$@" > "$RUN/$name.out" 2> "$RUN/$name.err"
  rc=$?
  set -e
  t1=$(date +%s.%N)
  python3 -c "print(round($t1 - $t0, 2))" > "$RUN/$name.time"
  log "$name: $(cat "$RUN/$name.time") s (exit $rc)"
}

# --- the guest ---
raw=$RUN/guest.raw
lv_bytes=$(numfmt --from=iec "$LV_SIZE")
disk_bytes=$(( lv_bytes + (100 << 20) ))
truncate -s "$disk_bytes" "$raw"
sgdisk -o -n1:2048:+32M -t1:8300 -n2:67584:0 -t2:8e00 "$raw" >/dev/null
lvm_fs_image "$RUN/boot.img" 32M ext4 "$SRC/tests" >/dev/null
dd if="$RUN/boot.img" of="$raw" bs=1M seek=1 conv=notrunc status=none
rm -f "$RUN/boot.img"
pv=$(lvm_pv_on "$raw" $((33 << 20)) $(( disk_bytes - (34 << 20) )))
LVM_DEVS=$pv
lvm_cmd pvcreate -q "$pv" >/dev/null
lvm_cmd vgcreate -q bench "$pv" >/dev/null
lvm_cmd lvcreate -q -an -Zn -L "$LV_SIZE" -n home bench >/dev/null
home_off=$(( (33 << 20) + $(lvm_lv_offset bench home) ))
losetup -d "$pv"
lvloop=$(losetup -f --show -o "$home_off" --sizelimit "$lv_bytes" "$raw")
mkfs.xfs -q -f "$lvloop"
mount -t xfs "$lvloop" "$RUN/lv"
t0=$(date +%s)
python3 "$WORKLOAD" populate --seed 1 --root "$RUN/lv/data" --files "$FILES" > /dev/null
# populate makes 1 file in 25 of 1-2 MiB (~3 of its ~4.5 GB): those with
# more than 1 MiB allocated are cut to 64 KiB (shorter runs), fstrim frees them.
python3 - "$RUN/lv/data" <<'PY'
import os, sys
for d, _, names in os.walk(sys.argv[1]):
    for n in names:
        p = os.path.join(d, n)
        if os.lstat(p).st_blocks * 512 > (1 << 20):
            os.truncate(p, 65536)
PY
fstrim "$RUN/lv"
for i in $(seq 1 "$EICAR_COUNT"); do
  mkdir -p "$RUN/lv/data/drop$i"; printf '%s' "$eicar" > "$RUN/lv/data/drop$i/payload$i.sh"
done
nfiles=$(find "$RUN/lv" -type f | wc -l)
used=$(df -B1 --output=used "$RUN/lv" | tail -1)
umount "$RUN/lv"
losetup -d "$lvloop"
qemu-img convert -f raw -O qcow2 "$raw" "$RUN/guest.qcow2"
log "guest built in $(( $(date +%s) - t0 )) s: $nfiles files, $used bytes used in XFS, LV $LV_SIZE"

S=("$OVSCAN" --state "$RUN/state.db")
"${S[@]}" add vm --image "$RUN/guest.qcow2" >/dev/null

# 1. full scan (first poll)
timed full "${S[@]}" poll vm --json --database "$RUN/sigs"
# 2. clamscan -r over the host-mounted XFS (read-only, from the raw copy)
lvloop=$(losetup -f --show -r -o "$home_off" --sizelimit "$lv_bytes" "$raw")
mount -t xfs -o ro,norecovery "$lvloop" "$RUN/lv"
timed clamscan clamscan -r --no-summary -i -d "$RUN/sigs" "$RUN/lv"
umount "$RUN/lv"
losetup -d "$lvloop"
rm -f "$raw"

# 3. 1% change, written through the kernel into the LV
guest_start "$RUN/guest.qcow2" "$RUN/mnt" none
lvloop=$(losetup -f --show -o "$home_off" --sizelimit "$lv_bytes" "$(guest_dev "$RUN/mnt")")
mount -t xfs "$lvloop" "$RUN/lv"
python3 "$WORKLOAD" snapshot --root "$RUN/lv" --out "$RUN/before.json"
python3 "$WORKLOAD" run --seed 7 --root "$RUN/lv" --profile bench --fraction "$FRACTION" > "$RUN/workload.json"
python3 "$WORKLOAD" snapshot --root "$RUN/lv" --out "$RUN/after.json"
umount "$RUN/lv"
losetup -d "$lvloop"
guest_stop "$RUN/mnt"
python3 "$WORKLOAD" diff "$RUN/before.json" "$RUN/after.json" --out "$RUN/truth.json" > /dev/null
timed incr "${S[@]}" poll vm --json --database "$RUN/sigs"
python3 "$WORKLOAD" check --truth "$RUN/truth.json" --poll "$RUN/incr.out" --prefix bench/home: > "$RUN/recall.json"

# 4. quiet polls
for i in $(seq 1 "$QUIET_ROUNDS"); do
  timed "quiet$i" "${S[@]}" poll vm --json --database "$RUN/sigs"
done

python3 - "$RUN" "$QUIET_ROUNDS" "$nfiles" "$used" "$LV_SIZE" "$(git -C "$SRC" rev-parse --short HEAD)" <<'PY' | tee "$SRC/bench/out/guests-$(basename "$RUN").md"
import json, sys, statistics
run, quiet, nfiles, used, lv, commit = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
t = lambda n: float(open(f"{run}/{n}.time").read())
def lines(n):
    return [json.loads(l) for l in open(f"{run}/{n}.out") if l.startswith("{")]
def appl(n):
    a = [o for o in lines(n) if o.get("type") == "appliance"]
    return a[0] if a else {"launches": 0, "launch_seconds": 0, "busy_seconds": 0}
def poll(n):
    return [o for o in lines(n) if "mode" in o][0]
full, incr = poll("full"), poll("incr")
af, ai = appl("full"), appl("incr")
rec = json.load(open(f"{run}/recall.json"))
qs = [t(f"quiet{i}") for i in range(1, quiet + 1)]
qa = sum(appl(f"quiet{i}")["launches"] for i in range(1, quiet + 1))
clam_found = sum(1 for l in open(f"{run}/clamscan.out") if l.rstrip().endswith("FOUND"))
print(f"### XFS on LVM through the libguestfs appliance ({nfiles} files, {used/2**30:.2f} GiB used, LV {lv}; ovscan {commit})\n")
print("| measure | wall s | appliance start s | appliance busy s | files scanned | infected |")
print("|---|---|---|---|---|---|")
print(f"| ovscan full scan (first poll) | {t('full')} | {af['launch_seconds']:.1f} | {af['busy_seconds']:.1f} | {full['files_scanned']} | {full['infected']} |")
print(f"| clamscan -r (host-mounted XFS) | {t('clamscan')} | – | – | – | {clam_found} |")
print(f"| ovscan poll after {rec.get('truth_changed')} changed files (1%) | {t('incr')} | {ai['launch_seconds']:.1f} | {ai['busy_seconds']:.1f} | {incr['files_scanned']} | {incr['infected']} |")
print(f"| quiet poll (median of {quiet}) | {statistics.median(qs)} | {qa} launches | – | 0 | – |")
print()
print(f"1%-change poll: recall {rec['recall']}, precision {rec['precision']}; dirty bytes {incr['dirty_bytes']}; metadata walk: {incr['metadata_walk']}")
print(f"full scan: metadata walk {full['metadata_walk']}")
PY
