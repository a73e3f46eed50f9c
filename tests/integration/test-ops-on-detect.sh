#!/bin/bash
# --on-detect CMD with hostile guest file names: quotes, "$(touch …)",
# backquotes, newlines, semicolons.  Nothing in a name is ever executed, the
# command runs once per NEW detection with the exact name bytes in
# OVSCAN_PATH, the other OVSCAN_* variables are right, and a detection
# already known (same file rewritten, same signature) runs nothing; a
# command that cannot start is an error; one that hangs is killed after
# on-detect-timeout.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/ops.sh"
ops_requires_guest

ops_disk vm
"${O[@]}" poll vm --test-signatures > /dev/null || fail "first poll"

# Commands in names are relative (a name holds no '/'): ovscan and the hook
# run in $T, so an executed name would create $T/pwnedN.
cd "$T"
names=(
  "tmp/a \"double\" 'single' name.com"
  "tmp/\$(touch pwned1).com"
  "tmp/\`touch pwned2\`.com"
  $'tmp/line1\nline2;$(touch pwned3)\n.com'
  "tmp/x; touch pwned4 #.com"
)
mkdir -p "$T/mnt"
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
mkdir -p "$T/mnt/tmp"
for n in "${names[@]}"; do printf '%s' "$EICAR" > "$T/mnt/$n"; done
guest_stop "$T/mnt" || fail "guest_stop"

cat > "$T/hook.sh" <<'SH'
#!/bin/sh
# $1: output directory; one subdirectory per call.
n=$(ls "$1" | wc -l)
d="$1/$n"
mkdir "$d"
printf '%s' "$OVSCAN_PATH" > "$d/path"
for v in OVSCAN_EVENT OVSCAN_VM OVSCAN_IMAGE OVSCAN_POLL_ID OVSCAN_FS OVSCAN_INODE \
         OVSCAN_SIZE OVSCAN_CHANGE OVSCAN_SIGNATURE OVSCAN_SIGNATURE_VERSION \
         OVSCAN_PATH_QUOTED; do
  eval "printf '%s=%s\n' $v \"\$$v\"" >> "$d/env"
done
[ -z "${OVSCAN_TEST_LEAK:-}" ] || echo leaked >> "$d/env"
SH
chmod +x "$T/hook.sh"
mkdir "$T/out"

set +e
OVSCAN_TEST_LEAK=1 "${O[@]}" poll vm --test-signatures --json \
  --on-detect "$T/hook.sh $T/out" > "$T/poll.json" 2> "$T/poll.err"
status=$?
set -e
cat "$T/poll.err" >&2
expect_eq "$status" 1 "detections: exit status"
for i in 1 2 3 4; do
  [ ! -e "$T/pwned$i" ] || fail "a guest file name was executed (pwned$i)"
done
expect_eq "$(ls "$T/out" | wc -l)" "${#names[@]}" "one command per detection"
python3 - "$T" "$T/poll.json" "${names[@]}" <<'PY' || fail "hook environment"
import json, os, sys
T, poll_json, names = sys.argv[1], sys.argv[2], sys.argv[3:]
want = sorted(("/" + n).encode("utf-8", "surrogateescape") for n in names)
got, envs = [], []
for d in sorted(os.listdir(os.path.join(T, "out"))):
    got.append(open(os.path.join(T, "out", d, "path"), "rb").read())
    env = open(os.path.join(T, "out", d, "env"), "rb").read().decode("utf-8", "surrogateescape")
    envs.append(env)
assert sorted(got) == want, (sorted(got), want)
polls = [json.loads(l) for l in open(poll_json)]
poll = [o for o in polls if o["type"] == "poll"][0]
dets = [o for o in polls if o["type"] == "detection"]
assert len(dets) == len(names) and all(o["new"] for o in dets), dets
for env in envs:
    assert "leaked" not in env, "inherited OVSCAN_* variable reached the command"
    e = dict(l.split("=", 1) for l in env.splitlines() if "=" in l and l.startswith("OVSCAN_"))
    assert e["OVSCAN_EVENT"] == "detection", e
    assert e["OVSCAN_VM"] == "vm", e
    assert e["OVSCAN_IMAGE"] == os.path.join(T, "vm.qcow2"), e
    assert e["OVSCAN_POLL_ID"] == str(poll["poll"]), e
    assert e["OVSCAN_SIGNATURE"] == "Ovscan.Test.EICAR.UNOFFICIAL", e
    assert e["OVSCAN_SIGNATURE_VERSION"] == poll["signature_version"], e
    assert e["OVSCAN_CHANGE"] == "new", e
    assert e["OVSCAN_SIZE"] == "68", e
    assert int(e["OVSCAN_INODE"]) > 0, e
    assert e["OVSCAN_FS"] == "", e
print("hook saw", len(got), "exact paths")
PY
# The JSON detection path is the quoted form: no raw newline in a line.
expect_eq "$(wc -l < "$T/poll.json")" $(( ${#names[@]} + 1 )) "JSON: one line per object"
grep -q 'line1\\\\nline2' "$T/poll.json" || fail "JSON: newline not quoted as \\n"

# Rewrite one infected file with the same content: a detection, not new.
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
rm -f "$T/mnt/${names[0]}"
printf '%s' "$EICAR" > "$T/mnt/${names[0]}"
guest_stop "$T/mnt" || fail "guest_stop"
set +e
"${O[@]}" poll vm --test-signatures --json --on-detect "$T/hook.sh $T/out" > "$T/poll2.json"
status=$?
set -e
expect_eq "$status" 1 "known detection: exit status"
grep -q '"type":"detection".*"new":false' "$T/poll2.json" || fail "rewritten file: not marked known"
grep -q '"new":true' "$T/poll2.json" && fail "rewritten file: marked new"
expect_eq "$(ls "$T/out" | wc -l)" "${#names[@]}" "no command for a known detection"

# A command that cannot run is an error, said, and detections still count.
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
printf '%s' "$EICAR" > "$T/mnt/tmp/third.com"
guest_stop "$T/mnt" || fail "guest_stop"
set +e
"${O[@]}" poll vm --test-signatures --on-detect "$T/no-such-hook" > "$T/p3.out" 2> "$T/p3.err"
status=$?
set -e
expect_eq "$status" 1 "failing command: detection still wins"
grep -q "no-such-hook" "$T/p3.err" || fail "failing command not reported"
grep -q "/tmp/third.com: Ovscan.Test.EICAR.UNOFFICIAL FOUND" "$T/p3.out" || fail "detection line"

# A command that hangs is killed after on-detect-timeout; the run goes on.
guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start"
printf '%s' "$EICAR" > "$T/mnt/tmp/fourth.com"
guest_stop "$T/mnt" || fail "guest_stop"
echo "on-detect-timeout = 1s" > "$T/timeout.conf"
start=$(date +%s)
set +e
"$OVSCAN" --config "$T/timeout.conf" --state "$T/state.db" poll vm --test-signatures \
  --on-detect "sleep 30" > "$T/p4.out" 2> "$T/p4.err"
status=$?
set -e
elapsed=$(( $(date +%s) - start ))
expect_eq "$status" 1 "hung command: detection still wins"
grep -q "sleep still running after 1 s: killed" "$T/p4.err" || fail "hung command: $(cat "$T/p4.err")"
[ "$elapsed" -lt 15 ] || fail "hung command held the run for $elapsed s"
echo PASS
