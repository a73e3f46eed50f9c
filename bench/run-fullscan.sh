#!/bin/bash
# ovscan bench — full scan of one guest disk: `ovscan scan IMAGE.qcow2`
# against `clamscan -r` over the same filesystem loop-mounted read-only, same
# signature database, same limits, side by side in one run (issue 2).
#
# Usage (as root):  bench/run-fullscan.sh
# Environment:
#   BENCH_DIR   work dir for image, signatures, mount (default /var/tmp/ovscan-bench)
#   OVSCAN      ovscan binary (default build-bench/ovscan, else build/ovscan)
#   ROUNDS      rounds per tool per cache mode (default 3); order alternates
#               clamscan-first / ovscan-first; medians are reported
#   CACHE       "cold", "warm" or "cold warm" (default "cold"; "cold warm" doubles the run time)
#               cold: sync + drop_caches before every run (what a host scanning
#               a VM disk sees: the guest's data is not in the host page cache)
#               warm: one untimed warm-up run of each tool, then the rounds with
#               both the raw and the qcow2 file in the page cache (CPU cost only)
#   MAX_FILESIZE / MAX_SCANSIZE  limits given to both tools (default 100M / 400M,
#               clamscan's defaults)
#   REUSE_IMAGE=1  keep an existing image even if /usr changed since
#   ONLY        "clamscan" to measure clamscan alone (also the automatic
#               fallback, said loudly, when ovscan cannot run yet)
#
# Builds the image (bench/make-image.sh) and the signatures (bench/make-sigs.py)
# when missing or stale; removes only what it created (its own loop mount).
# Results: raw outputs in BENCH_DIR/runs/fullscan-DATE/, the report in
# bench/out/fullscan-DATE.json + .txt and bench/out/fullscan-latest.json.  Exit 3 when the detection sets differ.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/ovscan-bench}
ROUNDS=${ROUNDS:-3}
CACHE=${CACHE:-cold}
MAX_FILESIZE=${MAX_FILESIZE:-100M}
MAX_SCANSIZE=${MAX_SCANSIZE:-400M}
ONLY=${ONLY:-}
if [ -z "${OVSCAN:-}" ]; then
  OVSCAN=$SRC/build-bench/ovscan
  [ -x "$OVSCAN" ] || OVSCAN=$SRC/build/ovscan
fi

die () { echo "run-fullscan: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (loop mount, drop_caches)"
for t in clamscan qemu-img python3 /usr/bin/time mount; do
  command -v "$t" >/dev/null || die "$t not found"
done

"$HERE/make-image.sh" "$BENCH_DIR"
SIGS=$BENCH_DIR/sigs
python3 "$HERE/make-sigs.py" "$SIGS"
IMAGE=$BENCH_DIR/fullscan.qcow2
RAW=$BENCH_DIR/fullscan.raw

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUNDIR=$BENCH_DIR/runs/fullscan-$STAMP
mkdir -p "$RUNDIR" "$HERE/out"
MNT=$RUNDIR/mnt
mkdir "$MNT"
MOUNTED=
cleanup () {
  if [ -n "$MOUNTED" ]; then umount "$MNT" || echo "run-fullscan: umount $MNT failed" >&2; fi
  rmdir "$MNT" 2>/dev/null || true
}
trap cleanup EXIT
mount -o loop,ro,noload "$RAW" "$MNT"
MOUNTED=1

if [ "$ONLY" != clamscan ]; then
  if ! "$OVSCAN" scan --help >/dev/null 2>&1; then
    echo "run-fullscan: ############################################################" >&2
    echo "run-fullscan: ## $OVSCAN scan does not run: measuring clamscan ONLY" >&2
    echo "run-fullscan: ############################################################" >&2
    ONLY=clamscan
  fi
fi
TOOLS="clamscan ovscan"
[ "$ONLY" = clamscan ] && TOOLS=clamscan

drop_caches () { sync; echo 3 > /proc/sys/vm/drop_caches; }

run_tool () {   # run_tool TOOL PREFIX
  case $1 in
    clamscan)
      python3 "$HERE/fullscan.py" measure "$2" -- clamscan -r -d "$SIGS" \
        --max-filesize="$MAX_FILESIZE" --max-scansize="$MAX_SCANSIZE" "$MNT" ;;
    ovscan)
      python3 "$HERE/fullscan.py" measure "$2" -- "$OVSCAN" scan "$IMAGE" -d "$SIGS" \
        --max-filesize "$MAX_FILESIZE" --max-scansize "$MAX_SCANSIZE" --json ;;
  esac
}

# clamscan's engine load time: scanning one empty file is all load + compile.
: > "$RUNDIR/empty"
loads=()
for i in 1 2 3; do
  s=$(date +%s.%N); clamscan --no-summary -d "$SIGS" "$RUNDIR/empty" >/dev/null; e=$(date +%s.%N)
  loads+=("$(python3 -c "print(round($e - $s, 3))")")
done
CLAM_LOAD=$(printf '%s\n' "${loads[@]}" | sort -n | sed -n 2p)

for mode in $CACHE; do
  echo "run-fullscan: $mode page cache, $ROUNDS rounds of: $TOOLS" >&2
  if [ "$mode" = warm ]; then
    for tool in $TOOLS; do run_tool "$tool" "$RUNDIR/warmup-$tool"; done
  fi
  for i in $(seq 1 "$ROUNDS"); do
    order=$TOOLS
    [ $((i % 2)) -eq 0 ] && order=$(echo "$TOOLS" | tr ' ' '\n' | tac | tr '\n' ' ')
    for tool in $order; do
      [ "$mode" = cold ] && drop_caches
      run_tool "$tool" "$RUNDIR/$mode-$tool-$i"
    done
  done
done

# run.json: what the report needs to know
SRC=$SRC python3 - "$RUNDIR" "$BENCH_DIR" "$IMAGE" "$MNT" "$ROUNDS" "$CACHE" "$CLAM_LOAD" "$OVSCAN" \
  "$MAX_FILESIZE" "$MAX_SCANSIZE" "$TOOLS" <<'EOF'
import json, os, platform, subprocess, sys
rundir, bench, image, mnt, rounds, cache, clam_load, ovscan, mfs, mss, tools = sys.argv[1:]
files = [l.split(" ", 1) for l in open(os.path.join(bench, "fullscan.files"))]
sigs = os.path.join(bench, "sigs")
def lines(p):
    return sum(1 for _ in open(p))
sigdesc = ", ".join("%s %d" % (f, lines(os.path.join(sigs, f))) for f in sorted(os.listdir(sigs)))
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
run = {
    "image": image, "mountpoint": mnt, "rounds": int(rounds), "cache_modes": cache.split(),
    "tools": tools.split(),
    "image_regular_files": len(files), "image_regular_bytes": sum(int(s) for s, _ in files),
    "image_virtual_gib": round(os.path.getsize(os.path.join(bench, "fullscan.raw")) / 2**30, 2),
    "signatures_dir": sigs, "signatures_desc": sigdesc,
    "clamscan_load_seconds": float(clam_load),
    "max_filesize": mfs, "max_scansize": mss,
    "ovscan": ovscan, "ovscan_commit": sh("git -C %s rev-parse --short HEAD" % os.environ["SRC"]),
    "clamscan_version": sh("clamscan --version"),
    "machine": {"cpu": cpu, "nproc": os.cpu_count(), "kernel": platform.release(),
                "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "debian": sh("cat /etc/debian_version")},
    "expected_paths": [l.strip() for l in open(os.path.join(bench, "fullscan.expected"))],
}
json.dump(run, open(os.path.join(rundir, "run.json"), "w"), indent=1)
EOF

status=0
python3 "$HERE/fullscan.py" report "$RUNDIR" | tee "$RUNDIR/table.txt" || status=$?
cp "$RUNDIR/report.json" "$HERE/out/fullscan-$STAMP.json"
cp "$RUNDIR/table.txt" "$HERE/out/fullscan-$STAMP.txt"
cp "$RUNDIR/table.md" "$HERE/out/fullscan-$STAMP.md"
cp "$RUNDIR/report.json" "$HERE/out/fullscan-latest.json"
echo "run-fullscan: raw outputs in $RUNDIR; report in $HERE/out/fullscan-$STAMP.{json,txt} (and fullscan-latest.json)" >&2
exit "$status"
