#!/bin/bash
# ovscan bench — the rolling rescan after a signature update (issue 6):
# throughput of `ovscan poll --all --rescan-budget` re-checking every file of
# the full-scan image (76,675 files) against `clamscan -r` of the same files
# (the same ext4 image loop-mounted read-only), same signatures, same limits.
#
# Usage (as root):  bench/run-rescan.sh
# Environment:
#   BENCH_DIR  work dir with the full-scan image and signatures (default
#              /var/tmp/ovscan-bench; built by bench/run-fullscan.sh's
#              make-image.sh / make-sigs.py when missing)
#   OVSCAN     ovscan binary (default build-bench/ovscan, else build/ovscan)
#   ROUNDS     rounds (default 1); each round changes the custom signature
#              file, so every file is stale again
#   BUDGET     a second, partial run per round with this --rescan-budget
#              (default 2G: the per-run cost of a cron job, walk included)
#   CACHE      cold (default: drop_caches before every timed run) or warm
#
# The shared image is never written: ovscan polls a qcow2 overlay (backing
# file = fullscan.qcow2) that carries its dirty bitmap.  Steps: register the
# overlay, one full poll (not timed against clamscan: that is the full-scan
# benchmark), then per round: write update.ndb (a new custom signature ->
# a new signature version: every file is stale), a full rescan with an
# unlimited budget (1T), clamscan -r with the same databases, then a partial
# rescan of BUDGET after another update.  Results: BENCH_DIR/runs/rescan-DATE/
# and bench/out/rescan-DATE.{json,md}.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/ovscan-bench}
ROUNDS=${ROUNDS:-1}
BUDGET=${BUDGET:-2G}
CACHE=${CACHE:-cold}
if [ -z "${OVSCAN:-}" ]; then
  OVSCAN=$SRC/build-bench/ovscan
  [ -x "$OVSCAN" ] || OVSCAN=$SRC/build/ovscan
fi
die () { echo "run-rescan: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (loop mount, drop_caches)"
for t in clamscan qemu-img python3 /usr/bin/time mount; do
  command -v "$t" >/dev/null || die "$t not found"
done
IMAGE=$BENCH_DIR/fullscan.qcow2
RAW=$BENCH_DIR/fullscan.raw
SIGS=$BENCH_DIR/sigs
[ -f "$IMAGE" ] && [ -f "$RAW" ] || REUSE_IMAGE=1 "$HERE/make-image.sh" "$BENCH_DIR"
[ -d "$SIGS" ] || python3 "$HERE/make-sigs.py" "$SIGS"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN=$BENCH_DIR/runs/rescan-$STAMP
mkdir -p "$RUN/mnt" "$RUN/update" "$HERE/out"
MOUNTED=
cleanup () {
  if [ -n "$MOUNTED" ]; then umount "$RUN/mnt" || echo "run-rescan: umount failed" >&2; fi
  rm -f "$RUN/overlay.qcow2" "$RUN/image.qcow2" "$RUN/image.raw"
}
trap cleanup EXIT
# Hard links: make-image.sh (another benchmark) removes and rebuilds the
# shared image when /usr changes; the run keeps the bytes it started with.
ln "$IMAGE" "$RUN/image.qcow2"
ln "$RAW" "$RUN/image.raw"
IMAGE=$RUN/image.qcow2
RAW=$RUN/image.raw
cp "$BENCH_DIR/fullscan.files" "$RUN/image.files"
mount -o loop,ro,noload "$RAW" "$RUN/mnt"
MOUNTED=1
drop () { if [ "$CACHE" = cold ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi; }
O=("$OVSCAN" --state "$RUN/state.db")
MFS=100M MSS=400M

qemu-img create -q -f qcow2 -b "$IMAGE" -F qcow2 "$RUN/overlay.qcow2"
"${O[@]}" add bench --image "$RUN/overlay.qcow2" > /dev/null
drop
/usr/bin/time -f '%e %M' -o "$RUN/first.time" "${O[@]}" poll --all -d "$SIGS" \
  --max-filesize $MFS --max-scansize $MSS --json --rescan-budget 0 > "$RUN/first.json" || [ $? = 1 ]

update () {   # a new custom signature: a new signature version
  printf 'Bench.Update.%s:0:*:%s\n' "$1" "$(printf 'ovscan-bench-update-%s' "$1" | od -An -tx1 | tr -d ' \n')" \
    > "$RUN/update/update.ndb"
}
for i in $(seq 1 "$ROUNDS"); do
  update "full$i"
  drop
  /usr/bin/time -f '%e %M' -o "$RUN/rescan-$i.time" "${O[@]}" poll --all -d "$SIGS" -d "$RUN/update" \
    --max-filesize $MFS --max-scansize $MSS --rescan-budget 1T --json > "$RUN/rescan-$i.json" || [ $? = 1 ]
  drop
  /usr/bin/time -f '%e %M' -o "$RUN/clamscan-$i.time" clamscan -r -d "$SIGS" -d "$RUN/update" \
    --max-filesize=$MFS --max-scansize=$MSS "$RUN/mnt" > "$RUN/clamscan-$i.out" 2> "$RUN/clamscan-$i.err" || [ $? = 1 ]
  update "part$i"
  drop
  /usr/bin/time -f '%e %M' -o "$RUN/budget-$i.time" "${O[@]}" poll --all -d "$SIGS" -d "$RUN/update" \
    --max-filesize $MFS --max-scansize $MSS --rescan-budget "$BUDGET" --json > "$RUN/budget-$i.json" || [ $? = 1 ]
done

python3 - "$RUN" "$ROUNDS" "$BUDGET" "$CACHE" "$OVSCAN" "$SRC" "$HERE/out/rescan-$STAMP" <<'PY'
import json, os, re, statistics, subprocess, sys
run, rounds, budget, cache, ovscan, src, out = sys.argv[1:]
rounds = int(rounds)
def t(name):
    wall, rss = open(os.path.join(run, name + ".time")).read().split()[-2:]
    return float(wall), int(rss) // 1024
def rescan_obj(name):
    objs = [json.loads(l) for l in open(os.path.join(run, name + ".json"))]
    return [o for o in objs if o.get("type") == "rescan"][0]
def clam(i):
    text = open(os.path.join(run, "clamscan-%d.out" % i)).read()
    found = sum(1 for l in text.splitlines() if l.endswith(" FOUND"))
    files = int(re.search(r"Scanned files: (\d+)", text).group(1))
    return found, files
rows = []
for i in range(1, rounds + 1):
    rw, rr = t("rescan-%d" % i); cw, cr = t("clamscan-%d" % i); bw, br = t("budget-%d" % i)
    r = rescan_obj("rescan-%d" % i); b = rescan_obj("budget-%d" % i)
    found, cfiles = clam(i)
    rows.append({"round": i, "rescan_wall_s": rw, "rescan_rss_mib": rr, "rescan": r,
                 "clamscan_wall_s": cw, "clamscan_rss_mib": cr, "clamscan_found": found,
                 "clamscan_files": cfiles, "budget": budget, "budget_wall_s": bw, "budget_run": b})
fw, fr = t("first")
rep = {"cache": cache, "rounds": rounds, "ovscan": ovscan,
       "ovscan_commit": subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                                       capture_output=True, text=True).stdout.strip(),
       "first_poll_wall_s": fw, "rows": rows, "nproc": os.cpu_count()}
med = lambda k: statistics.median(x[k] for x in rows)
rw, cw = med("rescan_wall_s"), med("clamscan_wall_s")
r0 = rows[0]["rescan"]
md = ["| run | wall s | files | MB read | files/s | MB/s | detections |", "|---|---|---|---|---|---|---|"]
md.append("| ovscan rolling rescan (budget 1T, all stale) | %.1f | %d | %.0f | %.0f | %.1f | %d |" % (
    rw, r0["files_scanned"], r0["bytes_scanned"] / 1e6, r0["files_scanned"] / rw,
    r0["bytes_scanned"] / 1e6 / rw, r0["infected"]))
md.append("| clamscan -r (same files, same sigs) | %.1f | %d | | %.0f | | %d |" % (
    cw, rows[0]["clamscan_files"], rows[0]["clamscan_files"] / cw, rows[0]["clamscan_found"]))
b0 = rows[0]["budget_run"]
md.append("| ovscan rescan, --rescan-budget %s | %.1f | %d | %.0f | %.0f | %.1f | %d |" % (
    budget, rows[0]["budget_wall_s"], b0["files_scanned"], b0["bytes_scanned"] / 1e6,
    b0["files_scanned"] / rows[0]["budget_wall_s"], b0["bytes_scanned"] / 1e6 / rows[0]["budget_wall_s"],
    b0["infected"]))
md.append("")
md.append("ovscan / clamscan wall time: **%.3f** (median of %d round(s), %s cache); first full poll %.1f s" % (
    rw / cw, rounds, cache, fw))
rep["ratio_wall"] = rw / cw
json.dump(rep, open(out + ".json", "w"), indent=1)
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
echo "run-rescan: raw outputs in $RUN; report in $HERE/out/rescan-$STAMP.{json,md}" >&2
