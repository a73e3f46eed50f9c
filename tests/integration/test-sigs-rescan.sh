#!/bin/bash
# The rolling rescan after a signature update, on three real guests (d1,
# d2 ext4, d3 NTFS written through ntfs-3g; its planted file is resident):
# a custom .ndb added after every disk was polled catches a file planted
# BEFORE the update (on d1 and d3).  Before the update nothing is stale and
# nothing is loaded; after it, status shows coverage 0%; a disk held by a
# poll (its lock) is skipped and said; a 700K budget needs exactly two runs
# to cover the 1.2 MB fleet, oldest first (run 1: d1 and part of d2, run 2:
# the rest); each planted file is a detection ("found_by":"rescan", in the
# run's output, exit 1, and in report detections); coverage goes 100% on
# every disk; the trackers are untouched (the next poll is quiet).  The
# on-detect command of a rescan detection is the one a poll of that disk
# would run: d1's [vm d1] on-detect, the global one for d3.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
requires_root
requires qemu-img --version
requires mkfs.ext4 -V
requires mkntfs --version
requires ntfs-3g --version
requires flock --version
requires python3 --version
O=("$OVSCAN" --state "$T/state.db")

for n in d1 d2 d3; do
  mkdir -p "$T/src-$n/data"
  for i in 0 1 2 3 4 5 6 7 8 9; do head -c 40000 /dev/urandom > "$T/src-$n/data/f$i"; done
  case $n in d1|d3) printf 'old file with OVSCAN-RESCAN-MARKER\n' > "$T/src-$n/data/planted" ;; esac
  fstype=ext4
  [ $n = d3 ] && fstype=ntfs     # resident files, $DATA attributes
  guest_mkfs "$T/$n.qcow2" 32M $fstype "$T/src-$n" || fail "guest_mkfs $n"
  "${O[@]}" add "$n" --image "$T/$n.qcow2" > /dev/null || fail "add $n"
done
mkdir "$T/sigs"
echo "Unrelated.Sig:0:*:$(printf 'NOTHING-MATCHES-THIS' | od -An -tx1 | tr -d ' \n')" > "$T/sigs/old.ndb"

"${O[@]}" poll --all -d "$T/sigs" -q || fail "first polls"

status_json () { "${O[@]}" status -d "$T/sigs" --json > "$T/status.json" || fail "status"; }
coverage () {   # expected pct for d1 d2 d3 ("partial" = strictly between 0 and 100)
  status_json
  python3 - "$T/status.json" "$@" <<'PY' || fail "coverage (want $*)"
import json, sys
rows = {o["vm"]: o for o in map(json.loads, open(sys.argv[1]))}
for vm, want in zip(["d1", "d2", "d3"], sys.argv[2:]):
    got = rows[vm]["coverage_files_pct"]
    ok = (0 < got < 100) if want == "partial" else got == float(want)
    assert ok, (vm, want, got, rows[vm])
print("coverage:", {vm: (o["coverage_files_pct"], o["coverage_bytes_pct"]) for vm, o in rows.items()})
PY
}
coverage 100 100 100

# Nothing stale: the rescan loads nothing and scans nothing.
"${O[@]}" poll --all -d "$T/sigs" --json > "$T/quiet.json" || fail "quiet run"
python3 - "$T/quiet.json" <<'PY' || fail "quiet run's rescan"
import json, sys
r = [o for o in map(json.loads, open(sys.argv[1])) if o["type"] == "rescan"]
assert len(r) == 1 and r[0]["stale_before"] == 0 and r[0]["files_scanned"] == 0, r
PY

# A budget is a size or a duration.
set +e
out=$("${O[@]}" poll --all -d "$T/sigs" --rescan-budget 5x 2>&1); rc=$?
set -e
expect_eq "$rc" 2 "--rescan-budget 5x"
grep -q "invalid --rescan-budget '5x'" <<< "$out" || fail "bad budget message: $out"

# The signature update.
echo "Rescan.Test:0:*:$(printf 'OVSCAN-RESCAN-MARKER' | od -An -tx1 | tr -d ' \n')" > "$T/sigs/new.ndb"
coverage 0 0 0

# A disk being polled (its lock held) is skipped: the oldest file is d1's.
exec 9> "$T/state.db.locks/d1"
flock 9
set +e
"${O[@]}" poll d2 -d "$T/sigs" -q > /dev/null   # a plain poll: no rescan
"${O[@]}" poll --all -d "$T/sigs" --rescan-budget 1 --json > "$T/locked.json" 2> "$T/locked.err"
set -e
exec 9>&-
grep -q "d1: rescan skipped: another ovscan is polling it" "$T/locked.err" || fail "no skip message: $(cat "$T/locked.err")"
python3 - "$T/locked.json" <<'PY' || fail "locked run"
import json, sys
r = [o for o in map(json.loads, open(sys.argv[1])) if o["type"] == "rescan"][0]
assert r["disks_skipped"] == 1 and r["files_scanned"] == 0 and r["stale_after"] == r["stale_before"], r
PY
coverage 0 0 0

# Two runs of 700K cover the fleet (3 x 400K), oldest first; with a
# configuration file naming a global on-detect and d1's own.
cat > "$T/hook.sh" <<'SH'
#!/bin/sh
printf '%s %s %s %s\n' "$1" "$OVSCAN_VM" "$OVSCAN_CHANGE" "$OVSCAN_PATH" >> "$(dirname "$0")/hooks.log"
SH
chmod +x "$T/hook.sh"
cat > "$T/ovscan.conf" <<CONF
on-detect = $T/hook.sh global
[vm d1]
on-detect = $T/hook.sh vm-d1
CONF
run_rescan () {   # OUT -> exit status in $rc
  set +e
  "$OVSCAN" --config "$T/ovscan.conf" --state "$T/state.db" \
    poll --all -d "$T/sigs" --rescan-budget 700K --json > "$1"; rc=$?
  set -e
}
run_rescan "$T/run1.json"
expect_eq "$rc" 1 "run 1 exit status (d1's planted file)"
expect_eq "$(cat "$T/hooks.log")" "vm-d1 d1 rescan /data/planted" "run 1: d1's own on-detect"
coverage 100 partial 0
run_rescan "$T/run2.json"   # (a duration works as well: see run 3 below)
expect_eq "$rc" 1 "run 2 exit status (d3's planted file)"
expect_eq "$(tail -n +2 "$T/hooks.log")" "global d3 rescan /data/planted" "run 2: the global on-detect for d3"
coverage 100 100 100
python3 - "$T/run1.json" "$T/run2.json" <<'PY' || fail "rescan runs' output"
import json, sys
runs = [list(map(json.loads, open(p))) for p in sys.argv[1:3]]
for i, (run, vm) in enumerate(zip(runs, ["d1", "d3"])):
    det = [o for o in run if o["type"] == "detection"]
    assert len(det) == 1, det
    d = det[0]
    assert d["vm"] == vm and d["path"] == "/data/planted" and d["found_by"] == "rescan", d
    assert d["signature"] == "Rescan.Test.UNOFFICIAL" and d["new"] is True, d
    r = [o for o in run if o["type"] == "rescan"][0]
    assert r["bytes_scanned"] <= 700 * 1024 and r["infected"] == 1, r
    assert (r["stale_after"] > 0) == (i == 0), r
print("run 1:", [o for o in runs[0] if o["type"] == "rescan"][0])
print("run 2:", [o for o in runs[1] if o["type"] == "rescan"][0])
PY
# Run 3: another update, a duration budget (30s) covers everything at once
# (the two planted files are found again: exit 1, "new": false — known
# detections, no second alert).
echo "Other.Sig:0:*:$(printf 'ANOTHER-UNMATCHED-PATTERN' | od -An -tx1 | tr -d ' \n')" > "$T/sigs/newer.ndb"
coverage 0 0 0
set +e
"${O[@]}" poll --all -d "$T/sigs" --rescan-budget 30s --json > "$T/run3.json"; rc=$?
set -e
expect_eq "$rc" 1 "run 3 exit status"
python3 - "$T/run3.json" <<'PY' || fail "run 3"
import json, sys
r = [o for o in map(json.loads, open(sys.argv[1])) if o["type"] == "rescan"][0]
assert r["stale_before"] == 32 and r["stale_after"] == 0 and r["infected"] == 2, r
det = [o for o in map(json.loads, open(sys.argv[1])) if o["type"] == "detection"]
assert len(det) == 2 and all(d["new"] is False for d in det), det
PY
coverage 100 100 100
set +e
"${O[@]}" report detections --json > "$T/detections.json" 2> "$T/detections.err"; rc=$?
set -e
expect_eq "$rc" 1 "report detections: exit status with detections present"
[ ! -s "$T/detections.err" ] || fail "report detections: $(cat "$T/detections.err")"
python3 - "$T/detections.json" <<'PY' || fail "report detections"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert sorted((r["vm"], r["path"], r["found_by"], r["present"]) for r in rows) == \
    [("d1", "/data/planted", "rescan", True), ("d3", "/data/planted", "rescan", True)], rows
PY

# The trackers were not touched: nothing dirty, nothing stale.
"${O[@]}" poll --all -d "$T/sigs" --json > "$T/after.json" || fail "poll after the rescans"
python3 - "$T/after.json" <<'PY' || fail "poll after the rescans"
import json, sys
objs = list(map(json.loads, open(sys.argv[1])))
polls = [o for o in objs if o["type"] == "poll"]
assert len(polls) == 3 and all(p["dirty_bytes"] == 0 and p["mode"] == "incremental" for p in polls), polls
r = [o for o in objs if o["type"] == "rescan"][0]
assert r["stale_before"] == 0, r
PY
echo PASS
