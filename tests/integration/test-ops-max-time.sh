#!/bin/bash
# --max-time: a run whose budget runs out starts no new disk, names the
# disks it left (exit 2), and they keep every write: the next run (no
# budget) polls exactly those and finds a file written before the first run.
# OVSCAN_TEST_POLL_DELAY=2 makes each disk take > 2 s, so a 3.5 s budget
# is spent after exactly two disks (unless one poll takes over 1.5 s).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/ops.sh"
ops_requires_guest

ops_fleet d1 d2 d3 d4
ops_write d4 tmp/eicar.com "$EICAR"

set +e
OVSCAN_TEST_POLL_DELAY=2 "${O[@]}" poll --all --test-signatures --max-time 3.5s \
  > "$T/run1.out" 2> "$T/run1.err"
status=$?
set -e
cat "$T/run1.out" "$T/run1.err" >&2
expect_eq "$status" 2 "budget spent: exit status"
grep -q -- "--max-time 3.5s spent after 2 of 4 disks; not polled, left dirty for the next run: d3, d4" \
  "$T/run1.err" || fail "left disks not named"
[ ! -s "$T/run1.out" ] || fail "quiet (stdout not a TTY) run printed: $(cat "$T/run1.out")"
expect_eq "$(ops_polls d1)/$(ops_polls d2)/$(ops_polls d3)/$(ops_polls d4)" 2/2/1/1 \
  "polls after the budget ran out"

# The next run resumes: d1, d2 quiet; d3, d4 list their files; EICAR found.
set +e
"${O[@]}" poll --all --test-signatures --json --max-time 1h > "$T/run2.out" 2> "$T/run2.err"
status=$?
set -e
expect_eq "$status" 1 "resumed run: exit status"
grep -q '"vm":"d3".*"path":"/home/d3.txt"' "$T/run2.out" || fail "d3's write lost"
grep -q '"vm":"d4".*"path":"/home/d4.txt"' "$T/run2.out" || fail "d4's write lost"
grep -q '"type":"detection","vm":"d4",.*"path":"/tmp/eicar.com".*"new":true' "$T/run2.out" ||
  fail "d4's EICAR not found"
for n in d1 d2; do
  grep -q "\"vm\":\"$n\".*\"files\":\[\]" "$T/run2.out" || fail "$n should be quiet"
done
# Bad durations are usage errors.
for bad in 0 -5m 10x 1e400 ""; do
  set +e
  "${O[@]}" poll --all --max-time "$bad" >/dev/null 2>"$T/bad.err"
  status=$?
  set -e
  expect_eq "$status" 2 "--max-time '$bad'"
  grep -q "bad duration" "$T/bad.err" || fail "--max-time '$bad': $(cat "$T/bad.err")"
done
echo PASS
