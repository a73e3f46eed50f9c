#!/bin/bash
# ovscan bench — `poll --all` over a quiet fleet: N registered disks (default
# 50) with nothing written since their last poll.  Measures the run's total
# wall time (target <= 5 s for 50 disks) and proves the ClamAV engine was
# not loaded: the run's own "engine not loaded" line, every poll of the run
# recorded with 0 dirty bytes, and a wall time below one engine load of the
# same databases (measured here too).
#
# Usage: bench/run-quiet-fleet.sh [N] [DISK_SIZE]   (as root; OVSCAN=binary)
#   N          disks (default 50), each a copy of one qcow2 with an ext4
#              filesystem of DISK_SIZE (default 1G) holding ~1,000 files
#   signatures: bench/make-sigs.py's default set (300k hash + 30k body
#              signatures + ovscan's test signatures), so that an engine
#              load would cost seconds
# Runs: 5 warm (page cache as cron finds it after the first run), 3 cold
# (sync + drop_caches before each), plus 3 warm with --rescan-budget 0
# (no signature-version check for the rolling rescan).
# Output: bench/out/quiet-fleet-TIMESTAMP.{json,md}; prints the Markdown.
set -euo pipefail
N=${1:-50}
SIZE=${2:-1G}
HERE=$(cd "$(dirname "$0")" && pwd)
OVSCAN=${OVSCAN:-$HERE/../build/ovscan}
[ -x "$OVSCAN" ] || { echo "OVSCAN=$OVSCAN is not an executable" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (drop_caches)" >&2; exit 2; }
TS=$(date -u +%Y%m%dT%H%M%SZ)
W=$(mktemp -d /var/tmp/ovscan-fleet.XXXXXX)
trap 'rm -rf "$W"' EXIT
OUT="$HERE/out/quiet-fleet-$TS"
mkdir -p "$HERE/out"
O=("$OVSCAN" --state "$W/state.db")
say () { echo "== $*" >&2; }

say "base image: ext4 of $SIZE with ~1,000 files"
mkdir -p "$W/src"
python3 - "$W/src" <<'PY'
import os, random, sys
r = random.Random(7)
root = sys.argv[1]
for d in range(20):
    os.makedirs(os.path.join(root, "d%02d" % d))
    for f in range(50):
        with open(os.path.join(root, "d%02d" % d, "f%03d" % f), "wb") as fp:
            fp.write(r.randbytes(r.randrange(100, 64 * 1024)))
PY
truncate -s "$SIZE" "$W/base.raw"
mkfs.ext4 -q -d "$W/src" "$W/base.raw"
qemu-img convert -O qcow2 "$W/base.raw" "$W/base.qcow2"
rm -f "$W/base.raw"
say "signatures (bench/make-sigs.py defaults)"
python3 "$HERE/make-sigs.py" "$W/sigs" > /dev/null 2>&1
say "$N disks registered, first polls (full)"
for (( i=1; i<=N; i++ )); do
  name=$(printf 'vm%03d' $i)
  cp "$W/base.qcow2" "$W/$name.qcow2"
  "${O[@]}" add "$name" --image "$W/$name.qcow2" > /dev/null
done
s=$(date +%s.%N)
"${O[@]}" poll --all -d "$W/sigs" -v > "$W/first.out" 2>&1 || { cat "$W/first.out"; exit 1; }
e=$(date +%s.%N)
first=$(echo "$s $e" | awk '{printf "%.2f", $2 - $1}')
say "one engine load of the same databases (ovscan scan of a tiny disk)"
truncate -s 16M "$W/tiny.raw"; mkfs.ext4 -q "$W/tiny.raw"
"$OVSCAN" scan "$W/tiny.raw" --format raw -d "$W/sigs" --json > "$W/tiny.json" || true
load=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o.get("type") == "summary": print("%.2f" % o["engine_load_seconds"])' "$W/tiny.json")

# One timed quiet run: wall seconds and max RSS; checks the run's claims.
quiet_run () {  # LABEL [extra poll args…]
  local label=$1 before after; shift
  before=$(sqlite3 "$W/state.db" 'SELECT max(id) FROM polls')
  /usr/bin/time -f "%e %M" -o "$W/time" "${O[@]}" poll --all -d "$W/sigs" -v "$@" \
    > "$W/quiet.out" 2> "$W/quiet.err" || { cat "$W/quiet.err" >&2; exit 1; }
  grep -q "^$N of $N disks polled in .*; engine not loaded;" "$W/quiet.out" ||
    { echo "$label: the engine was loaded or a disk not polled" >&2; cat "$W/quiet.out" >&2; exit 1; }
  after=$(sqlite3 "$W/state.db" "SELECT count(*) || ' ' || sum(dirty_bytes) || ' ' || sum(files_scanned) FROM polls WHERE id > $before")
  [ "$after" = "$N 0 0" ] || { echo "$label: polls not all quiet: $after" >&2; exit 1; }
  echo "$label $(cat "$W/time")"
}
: > "$W/runs.txt"
for i in 1 2 3 4 5; do quiet_run warm >> "$W/runs.txt"; done
for i in 1 2 3; do sync; echo 3 > /proc/sys/vm/drop_caches; quiet_run cold >> "$W/runs.txt"; done
for i in 1 2 3; do quiet_run warm-no-rescan --rescan-budget 0 >> "$W/runs.txt"; done

python3 - "$W/runs.txt" "$OUT" "$N" "$SIZE" "$first" "$load" "$OVSCAN" "$(git -C "$HERE/.." rev-parse --short HEAD)" <<'PY'
import json, statistics, sys
runs, out, n, size, first, load, ovscan, rev = sys.argv[1:]
by = {}
for line in open(runs):
    label, wall, rss = line.split()
    by.setdefault(label, []).append((float(wall), int(rss)))
res = {"disks": int(n), "disk_size": size, "first_polls_s": float(first),
       "engine_load_s": float(load), "ovscan": ovscan, "commit": rev,
       "runs": {k: {"wall_s": [w for w, _ in v], "median_s": statistics.median(w for w, _ in v),
                    "max_rss_kib": max(r for _, r in v)} for k, v in by.items()}}
json.dump(res, open(out + ".json", "w"), indent=1)
md = ["| run | wall (s), each | median (s) | per disk (ms) | max RSS (MiB) |", "|---|---|---|---|---|"]
for k, v in res["runs"].items():
    md.append("| %s | %s | %.2f | %.0f | %.1f |" % (k, ", ".join("%.2f" % w for w in v["wall_s"]),
              v["median_s"], 1000 * v["median_s"] / int(n), v["max_rss_kib"] / 1024))
md.append("")
md.append("%s disks of %s; first (full) polls of all: %s s; one engine load of the same "
          "databases: %s s; commit %s." % (n, size, first, load, rev))
open(out + ".md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
