#!/bin/bash
# Two `poll --all` runs started together over the same four disks: each
# disk is polled exactly once (its lock, cli/disk_lock.c), the run that
# finds a disk locked says "skipped" and does not poll it, and nothing is
# lost: a later poll finds every file written before.
# OVSCAN_TEST_POLL_DELAY holds each lock 1.5 s so that the two runs
# alternate deterministically (B starts 0.5 s after A).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/ops.sh"
ops_requires_guest

ops_fleet d1 d2 d3 d4
ops_write d3 tmp/eicar.com "$EICAR"

OVSCAN_TEST_POLL_DELAY=1.5 "${O[@]}" poll --all --test-signatures --json > "$T/a.out" 2> "$T/a.err" &
a=$!
sleep 0.5
OVSCAN_TEST_POLL_DELAY=1.5 "${O[@]}" poll --all --test-signatures --json > "$T/b.out" 2> "$T/b.err" &
b=$!
set +e; wait $a; sa=$?; wait $b; sb=$?; set -e
cat "$T/a.err" "$T/b.err" >&2

for n in d1 d2 d3 d4; do
  expect_eq "$(ops_polls $n)" 2 "$n: polled exactly once by the two runs"
done
python3 - "$T/a.out" "$T/b.out" <<'PY' || fail "runs' outputs"
import json, sys
polled, skipped = {}, {}
for run, path in enumerate(sys.argv[1:3]):
    for line in open(path):
        o = json.loads(line)
        if o["type"] == "poll":
            assert o["vm"] not in polled, "%s polled twice" % o["vm"]
            polled[o["vm"]] = run
        elif o["type"] == "skipped":
            assert o["reason"] == "locked", o
            skipped.setdefault(o["vm"], []).append(run)
assert sorted(polled) == ["d1", "d2", "d3", "d4"], polled
assert skipped, "no run said it skipped a locked disk"
for vm, runs in skipped.items():
    assert runs == [1 - polled[vm]], (vm, runs, polled[vm])
print("polled by run:", polled, "skipped:", skipped)
PY
grep -q "skipped: another ovscan is polling it" "$T/a.err" "$T/b.err" ||
  fail "no 'skipped' message on stderr"
# Exit status: the run that polled d3 found EICAR (1); the other found nothing (0).
d3run=$(grep -l '"type":"detection"' "$T/a.out" "$T/b.out")
if [ "$d3run" = "$T/a.out" ]; then expect_eq "$sa/$sb" "1/0" "exit statuses"
else expect_eq "$sa/$sb" "0/1" "exit statuses"; fi
grep -q '"path":"/tmp/eicar.com"' "$d3run" || fail "EICAR not reported"
for n in d1 d2 d3 d4; do
  grep -h "\"vm\":\"$n\"" "$T/a.out" "$T/b.out" | grep -q "\"path\":\"/home/$n.txt\"" ||
    fail "$n: the written file was not listed"
done
# Nothing left behind: a third run finds every disk quiet.
"${O[@]}" poll --all --test-signatures --json > "$T/c.out" || fail "third run"
expect_eq "$(grep -c '"mode":"incremental","reason":null,"metadata_walk":null' "$T/c.out")" 4 \
  "third run: four quiet polls"
echo PASS
