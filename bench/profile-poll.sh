#!/bin/bash
# ovscan bench — where an incremental poll's time goes (a diagnosis to run
# after bench/run-poll.sh, on its run directory; not a benchmark).
#
# Usage (as root):  bench/profile-poll.sh RUNDIR [ROUNDS]
#   RUNDIR: a BENCH_DIR/runs/poll-DATE directory (poll.qcow2 + state.db).
# Each round writes a fresh 1% workload through the kernel (seed 9000+i,
# tests/lib/guest.sh + tests/lib/workload.py), then polls once, cold cache:
#   round 1: under strace (seccomp-bpf filter, only execve/openat/exit_group/
#            wait4 are stopped) -> a timeline: ovscan start, qemu-img runs
#            (tracker steps), qemu-nbd start, signature files opened (engine
#            load), end; written to RUNDIR/profile-timeline.txt
#   round 2: under `perf record -g` (on-CPU samples of ovscan and its
#            children) -> RUNDIR/profile-perf.txt (by DSO and by symbol)
# Both polls also print their JSON (duration_s, files_scanned, ...).
# The rounds change the state of RUNDIR's disk: run it after run-poll.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
R=${1:?usage: profile-poll.sh RUNDIR [ROUNDS]}
ROUNDS=${2:-2}
BENCH_DIR=$(cd "$R/../.." && pwd)
SIGS=$BENCH_DIR/sigs
if [ -z "${OVSCAN:-}" ]; then
  OVSCAN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ovscan"])' "$R/run.json")
fi
O=("$OVSCAN" --state "$R/state.db")
# shellcheck source=../tests/lib/guest.sh
. "$SRC/tests/lib/guest.sh"
drop_caches () { sync; echo 3 > /proc/sys/vm/drop_caches; }

workload () {
  guest_start "$R/poll.qcow2" "$R/gmnt" ext4
  python3 "$SRC/tests/lib/workload.py" run --profile bench --fraction 0.01 --seed "$1" \
    --root "$R/gmnt" 2>/dev/null
  guest_stop "$R/gmnt"
}

summ () {  # JSON poll output -> one line
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("files"); print(d)' "$1"
}

# ---- round 1: timeline
workload 9001
drop_caches
strace -f --seccomp-bpf -tt -e trace=execve,openat,exit_group,wait4 -o "$R/profile-strace.txt" \
  "${O[@]}" poll big --json -d "$SIGS" > "$R/profile-1.out" || true
summ "$R/profile-1.out"
python3 - "$R/profile-strace.txt" "$SIGS" > "$R/profile-timeline.txt" <<'EOF'
import re, sys
path, sigs = sys.argv[1], sys.argv[2]
def t(s):
    h, m, x = s.split(":")
    return int(h) * 3600 + int(m) * 60 + float(x)
t0 = None
events = []
sig_first = sig_last = None
for line in open(path):
    m = re.match(r"(\d+) +(\d+:\d+:\d+\.\d+) (.*)", line)
    if not m:
        continue
    pid, ts, rest = int(m.group(1)), t(m.group(2)), m.group(3)
    if t0 is None:
        t0 = ts
    rel = ts - t0
    if rest.startswith("execve(") and "= -1 ENOENT" in rest:
        continue                      # execvp trying the PATH
    if rest.startswith("execve("):
        events.append((rel, pid, "exec " + " ".join(re.findall(r'"([^"]*)"', rest)[1:6])))
    elif rest.startswith("openat(") and sigs in rest:
        sig_first = sig_first if sig_first is not None else rel
        sig_last = rel
    elif rest.startswith("openat(") and ("state.db" in rest or ".qcow2" in rest) and "ENOENT" not in rest:
        events.append((rel, pid, "open " + re.findall(r'"([^"]*)"', rest)[0]))
    elif rest.startswith("exit_group("):
        events.append((rel, pid, rest[:60]))
if sig_first is not None:
    events.append((sig_first, 0, "first open of a signature file (engine load starts)"))
    events.append((sig_last, 0, "last open of a signature file"))
for rel, pid, what in sorted(events):
    print("%8.3f s  pid %-7d %s" % (rel, pid, what))
EOF
cat "$R/profile-timeline.txt"

# ---- round 2: perf
if [ "$ROUNDS" -ge 2 ]; then
  workload 9002
  drop_caches
  perf record -q -g -o "$R/profile-perf.data" -- "${O[@]}" poll big --json -d "$SIGS" \
    > "$R/profile-2.out" 2>/dev/null || true
  summ "$R/profile-2.out"
  set +o pipefail                     # head closes perf report's pipe
  { echo "== by command/DSO (on-CPU samples)"
    perf report -i "$R/profile-perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
    echo "== top symbols"
    perf report -i "$R/profile-perf.data" --no-children --sort comm,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
  } > "$R/profile-perf.txt"
  cat "$R/profile-perf.txt"
fi
