#!/bin/bash
# ovscan bench — incremental polls (issue 3), side by side in one run:
#   1. `ovscan poll` after 1% of the files changed through the kernel, against
#      the ORACLE: clamscan over exactly the changed files (new + modified,
#      from content-hash snapshots), their list handed to it (--file-list);
#   2. `clamscan -r` over the whole mounted filesystem (one round);
#   3. the mtime approach `find MNT -type f -newer STAMP | clamscan -f /dev/stdin`
#      (clamscan 1.4 does not take "-" for stdin):
#      its time and the changed files it misses;
#   4. quiet polls (nothing written since the last poll) on the big image and
#      on two small-file disks of 10,000 and 100,000 files;
#   5. peak RSS of the polls, the state database's size after the full poll.
#
# Usage (as root):  bench/run-poll.sh
# Environment:
#   BENCH_DIR    work dir (default /var/tmp/ovscan-bench): the full-scan image
#                fullscan.qcow2 (bench/make-image.sh) and signatures sigs/
#                (bench/make-sigs.py) are built there when missing or stale
#                (REUSE_IMAGE=1 keeps an existing image, see make-image.sh)
#   BASE         another qcow2 ext4 image to use instead (a quick trial of
#                this script; make-image.sh is then not run)
#   OVSCAN       ovscan binary (default build-bench/ovscan, else build/ovscan)
#   OVSCAN_COMMIT  the commit that binary was built from, for the report
#                (default: the repository's HEAD)
#   ROUNDS       workload + poll + oracle rounds (default 3; medians reported)
#   FRACTION     share of the files the workload changes per round (0.01)
#   SEED_BASE    workload seed of round r = r*1000 + SEED_BASE (default 7)
#   QUIET_ROUNDS quiet polls per disk (default 10)
#   SMALL_DISKS  file counts of the quiet-poll scaling disks ("10000 100000")
#   MAX_FILESIZE / MAX_SCANSIZE  limits for every tool (default 100M / 400M)
#
# The big image is never modified: the guest writes into a qcow2 overlay
# (backing file fullscan.qcow2) in the run directory.  Guest writes go
# through the kernel's ext4 and QEMU's block layer (tests/lib/guest.sh:
# qemu-storage-daemon + nbdfuse + loop mount), so the overlay's persistent
# dirty bitmap records them.  clamscan and find read a read-only mount of the
# overlay (qemu-storage-daemon FUSE export, read-only, + loop mount
# ro,noload), made only while no poll runs (a poll needs the image unused).
# Ground truth: tests/lib/workload.py snapshot/diff of that read-only mount
# (untimed).  Cache policy: cold — sync + drop_caches before every timed
# command of every tool (as bench/run-fullscan.sh does by default).
#
# Results: raw outputs in BENCH_DIR/runs/poll-DATE/, the tables in
# bench/out/poll-DATE.{json,md} and bench/out/poll-latest.json.
# Exit 4 when a target is missed, 1 on a failure.
# Cost: ~15 min (full poll ~2 min, clamscan -r ~3-4 min, a 3 GB snapshot per round).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/ovscan-bench}
ROUNDS=${ROUNDS:-3}
FRACTION=${FRACTION:-0.01}
SEED_BASE=${SEED_BASE:-7}
QUIET_ROUNDS=${QUIET_ROUNDS:-10}
SMALL_DISKS=${SMALL_DISKS:-10000 100000}
MAX_FILESIZE=${MAX_FILESIZE:-100M}
MAX_SCANSIZE=${MAX_SCANSIZE:-400M}
if [ -z "${OVSCAN:-}" ]; then
  OVSCAN=$SRC/build-bench/ovscan
  [ -x "$OVSCAN" ] || OVSCAN=$SRC/build/ovscan
fi
WORKLOAD=$SRC/tests/lib/workload.py
MEASURE=(python3 "$HERE/fullscan.py" measure)
HELP=(python3 "$HERE/poll.py")

die () { echo "run-poll: $*" >&2; exit 1; }
say () { echo "run-poll: $*" >&2; }
[ "$(id -u)" -eq 0 ] || die "run as root (loop mounts, drop_caches)"
for t in clamscan qemu-img qemu-storage-daemon nbdfuse losetup python3 /usr/bin/time mkfs.ext4; do
  command -v "$t" >/dev/null || die "$t not found"
done
[ -x "$OVSCAN" ] || die "no ovscan binary at $OVSCAN (set OVSCAN)"

# shellcheck source=../tests/lib/guest.sh
. "$SRC/tests/lib/guest.sh"

if [ -z "${BASE:-}" ]; then
  "$HERE/make-image.sh" "$BENCH_DIR"
  BASE=$BENCH_DIR/fullscan.qcow2
fi
SIGS=$BENCH_DIR/sigs
python3 "$HERE/make-sigs.py" "$SIGS"
LIM_C=(--max-filesize="$MAX_FILESIZE" --max-scansize="$MAX_SCANSIZE")
LIM_O=(--max-filesize "$MAX_FILESIZE" --max-scansize "$MAX_SCANSIZE")

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
R=$BENCH_DIR/runs/poll-$STAMP
mkdir -p "$R" "$HERE/out" "$R/gmnt" "$R/ro"
O=("$OVSCAN" --state "$R/state.db")

drop_caches () { sync; echo 3 > /proc/sys/vm/drop_caches; }

# Read-only view of a qcow2 (with its backing chain) at MNT: qsd FUSE export
# (read-only) + loop mount ro,noload.  One at a time.
. "$SRC/bench/ro_mount.sh"

ovscan_poll () {   # ovscan_poll PREFIX NAME [args]: cold, timed
  local prefix=$1; shift
  drop_caches
  "${MEASURE[@]}" "$prefix" -- "$@" || true
}

# ------------------------------------------------------------- engine load
say "engine load times (3 each)"
: > "$R/empty"
mkdir -p "$R/tiny"
truncate -s 16M "$R/tiny.raw"; mkfs.ext4 -q -F "$R/tiny.raw"
qemu-img convert -q -f raw -O qcow2 "$R/tiny.raw" "$R/tiny.qcow2"; rm -f "$R/tiny.raw"
for i in 1 2 3; do
  s=$(date +%s.%N); clamscan --no-summary -d "$SIGS" "$R/empty" >/dev/null; e=$(date +%s.%N)
  echo "$s $e" | awk '{print $2 - $1}' >> "$R/clamscan-load.txt"
  "$OVSCAN" scan "$R/tiny.qcow2" -d "$SIGS" --json > "$R/ovscan-load-$i.out" || true
done

# ------------------------------------------------------------- full poll
qemu-img create -q -f qcow2 -b "$BASE" -F qcow2 "$R/poll.qcow2"
"${O[@]}" add big --image "$R/poll.qcow2" >/dev/null
say "full (first) poll of the big image"
ovscan_poll "$R/full-poll" "${O[@]}" poll big --json -d "$SIGS" "${LIM_O[@]}"
db_bytes=$(stat -c %s "$R/state.db")
[ -f "$R/state.db-wal" ] && db_bytes=$((db_bytes + $(stat -c %s "$R/state.db-wal")))
echo "$db_bytes" > "$R/state-db-bytes.txt"

ro_mount "$R/poll.qcow2" "$R/ro"
say "snapshot 0 (content hashes of every file, untimed)"
python3 "$WORKLOAD" snapshot --root "$R/ro" --out "$R/snap-0.json"
ro_umount

# ------------------------------------------------------------- rounds
: > "$R/check-exit.txt"
for r in $(seq 1 "$ROUNDS"); do
  say "round $r: workload (fraction $FRACTION, seed $((r * 1000 + SEED_BASE))) through the kernel"
  guest_start "$R/poll.qcow2" "$R/gmnt" ext4
  touch "$R/stamp-$r"; sleep 0.01
  python3 "$WORKLOAD" run --profile bench --fraction "$FRACTION" --seed $((r * 1000 + SEED_BASE)) \
    --root "$R/gmnt" --log "$R/workload-$r.log" 2> "$R/workload-$r.err"
  guest_stop "$R/gmnt"

  say "round $r: incremental poll"
  ovscan_poll "$R/poll-$r" "${O[@]}" poll big --json -d "$SIGS" "${LIM_O[@]}"

  ro_mount "$R/poll.qcow2" "$R/ro"
  say "round $r: snapshot + diff (untimed)"
  python3 "$WORKLOAD" snapshot --root "$R/ro" --out "$R/snap-$r.json"
  python3 "$WORKLOAD" diff "$R/snap-$((r - 1)).json" "$R/snap-$r.json" --out "$R/truth-$r.json" 2>"$R/truth-$r.err"
  rc=0
  python3 "$WORKLOAD" check --truth "$R/truth-$r.json" --poll "$R/poll-$r.out" \
    > "$R/check-$r.out" 2> "$R/check-$r.err" || rc=$?
  echo "$r $rc" >> "$R/check-exit.txt"
  [ "$rc" = 0 ] || say "round $r: RECALL CHECK FAILED: $(head -5 "$R/check-$r.err")"
  "${HELP[@]}" filelist "$R/truth-$r.json" "$R/ro" "$R/changed-$r.list" >/dev/null

  say "round $r: oracle (clamscan --file-list of the changed files)"
  drop_caches
  "${MEASURE[@]}" "$R/oracle-$r" -- clamscan -d "$SIGS" "${LIM_C[@]}" --file-list="$R/changed-$r.list" || true
  say "round $r: mtime approach"
  drop_caches
  "${MEASURE[@]}" "$R/mtime-$r" -- bash -c 'find "$1" -type f -newer "$2" | tee "$3" | clamscan -d "$4" "$5" "$6" -f /dev/stdin' \
    _ "$R/ro" "$R/stamp-$r" "$R/found-$r.list" "$SIGS" "${LIM_C[@]}" || true
  "${HELP[@]}" missed "$R/truth-$r.json" "$R/ro" "$R/found-$r.list" > "$R/missed-$r.json"
  ro_umount
done

# ------------------------------------------------------------- clamscan -r
say "clamscan -r over the whole mounted filesystem (one round)"
ro_mount "$R/poll.qcow2" "$R/ro"
drop_caches
"${MEASURE[@]}" "$R/clamscan-r" -- clamscan -r -d "$SIGS" "${LIM_C[@]}" "$R/ro" || true
ro_umount

# ------------------------------------------------------------- quiet polls
say "quiet polls: big image"
for i in $(seq 1 "$QUIET_ROUNDS"); do
  ovscan_poll "$R/quiet-big-$i" "${O[@]}" poll big --json -d "$SIGS" "${LIM_O[@]}"
done
quiet_disks="big"
declare -A quiet_files=([big]=$(python3 -c 'import json,sys; print(len(json.loads(open(sys.argv[1]).readline())["files"]))' "$R/full-poll.out"))
for n in $SMALL_DISKS; do
  name=small$((n / 1000))k
  img=$BENCH_DIR/$name.qcow2
  if [ ! -f "$img" ]; then
    say "building $img ($n small files, mkfs.ext4 -d)"
    rm -rf "$BENCH_DIR/$name.src"
    "${HELP[@]}" smallfs "$BENCH_DIR/$name.src" "$n"
    size=$(( (n * 12 / 1000 + 64) ))M
    truncate -s "$size" "$BENCH_DIR/$name.raw"
    mkfs.ext4 -q -F -N $((n * 2)) -d "$BENCH_DIR/$name.src" "$BENCH_DIR/$name.raw"
    qemu-img convert -q -f raw -O qcow2 "$BENCH_DIR/$name.raw" "$img.tmp" && mv "$img.tmp" "$img"
    rm -rf "$BENCH_DIR/$name.src" "$BENCH_DIR/$name.raw"
  fi
  cp "$img" "$R/$name.qcow2"
  OS=("$OVSCAN" --state "$R/state-$name.db")
  "${OS[@]}" add "$name" --image "$R/$name.qcow2" >/dev/null
  say "$name: first poll (--test-signatures)"
  ovscan_poll "$R/first-$name" "${OS[@]}" poll "$name" --json --test-signatures
  say "$name: $QUIET_ROUNDS quiet polls"
  for i in $(seq 1 "$QUIET_ROUNDS"); do
    ovscan_poll "$R/quiet-$name-$i" "${OS[@]}" poll "$name" --json --test-signatures
  done
  quiet_disks+=" $name"
  quiet_files[$name]=$n
done

# ------------------------------------------------------------- report
qf=$(for k in "${!quiet_files[@]}"; do echo "$k=${quiet_files[$k]}"; done | tr '\n' ' ')
SRC=$SRC python3 - "$R" "$ROUNDS" "$QUIET_ROUNDS" "$quiet_disks" "$qf" "$SEED_BASE" "$OVSCAN" "$FRACTION" <<'EOF'
import json, os, statistics, subprocess, sys
R, rounds, qrounds, disks, qf, seed_base, ovscan, fraction = sys.argv[1:]
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
loads = []
for i in (1, 2, 3):
    for line in open(os.path.join(R, "ovscan-load-%d.out" % i)):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") == "summary":
            loads.append(o.get("engine_load_seconds"))
checks = dict(l.split() for l in open(os.path.join(R, "check-exit.txt")))
run = {
    "rounds": int(rounds), "quiet_rounds": int(qrounds), "quiet_disks": disks.split(),
    "quiet_files": {k: int(v) for k, v in (x.split("=") for x in qf.split())},
    "seed_base": int(seed_base), "fraction": float(fraction), "cache": "cold",
    "check_exit": checks,
    "state_db_bytes": int(open(os.path.join(R, "state-db-bytes.txt")).read()),
    "clamscan_load_s": statistics.median(float(l) for l in open(os.path.join(R, "clamscan-load.txt"))),
    "ovscan_load_s": statistics.median([x for x in loads if x is not None]) if any(x is not None for x in loads) else None,
    "ovscan": ovscan, "ovscan_version": sh("%s --version | head -1" % ovscan),
    "repo_commit": os.environ.get("OVSCAN_COMMIT") or sh("git -C %s rev-parse --short HEAD" % os.environ["SRC"]),
    "clamscan_version": sh("clamscan --version"),
    "machine": sh("nproc") + " CPUs, " + sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
}
json.dump(run, open(os.path.join(R, "run.json"), "w"), indent=1)
EOF
status=0
"${HELP[@]}" report "$R" | tee "$R/table.txt" || status=$?
cp "$R/report.json" "$HERE/out/poll-$STAMP.json"
cp "$R/table.md" "$HERE/out/poll-$STAMP.md"
cp "$R/report.json" "$HERE/out/poll-latest.json"
say "raw outputs in $R; report in $HERE/out/poll-$STAMP.{json,md} (and poll-latest.json)"
exit "$status"
