#!/bin/bash
# What `poll` prints for an operator: exit statuses 0/1/2 (1 wins over 2);
# quiet when standard output is not a terminal (only detections; errors on
# stderr), full on a terminal, -q / -v; the JSON lines of every type with
# exactly the documented keys (each named in docs/ovscan.1); --log syslog
# (read from a private /dev/log in a mount namespace).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/ops.sh"
requires_root
requires qemu-img --version
requires python3 --version
requires script --version
requires flock --version
requires unshare --version

mkimg () {  # NAME [EICAR]: a qcow2 with an ext4 filesystem, registered
  mkdir -p "$T/src-$1"
  echo "$1" > "$T/src-$1/hostname"
  [ -z "${2:-}" ] || printf '%s' "$EICAR" > "$T/src-$1/eicar.com"
  truncate -s 32M "$T/$1.raw"
  mkfs.ext4 -q -d "$T/src-$1" "$T/$1.raw"
  qemu-img convert -O qcow2 "$T/$1.raw" "$T/$1.qcow2"
  rm -f "$T/$1.raw"
  "${O[@]}" add "$1" --image "$T/$1.qcow2" > /dev/null || fail "add $1"
}
run () {  # EXPECTED-STATUS WHAT ARGS… : ovscan poll ARGS…, stdout in $T/out, stderr in $T/err
  local want=$1 what=$2 s; shift 2
  set +e
  "${O[@]}" poll "$@" > "$T/out" 2> "$T/err" < /dev/null
  s=$?
  set -e
  expect_eq "$s" "$want" "$what: exit status (stderr: $(cat "$T/err"))"
}

mkimg clean
mkimg dirty eicar
run 0 "first poll of a clean disk" clean --test-signatures
[ ! -s "$T/out" ] || fail "quiet (not a TTY): printed $(cat "$T/out")"
run 1 "first poll of an infected disk" dirty --test-signatures
expect_eq "$(cat "$T/out")" "dirty: /eicar.com: Ovscan.Test.EICAR.UNOFFICIAL FOUND" "quiet: the detection only"
run 0 "quiet polls" --all --test-signatures
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "quiet polls printed something"
run 0 "-v" --all -v --test-signatures
grep -q "^clean: poll [0-9]*, incremental" "$T/out" || fail "-v: no per-disk line"
grep -q "^2 of 2 disks polled in .*; engine not loaded; 0 new detections" "$T/out" || fail "-v: no run line"
# On a terminal: the full form; -q makes it quiet there.
script -qec "$(printf '%q ' "${O[@]}") poll --all --test-signatures" /dev/null > "$T/tty.out" < /dev/null
grep -q "clean: poll [0-9]*, incremental" "$T/tty.out" || fail "terminal: no per-disk line"
script -qec "$(printf '%q ' "${O[@]}") poll --all -q --test-signatures" /dev/null > "$T/tty.out" < /dev/null
[ ! -s "$T/tty.out" ] || fail "terminal -q: printed $(cat "$T/tty.out")"

# Errors: exit 2.
run 2 "unknown disk" nosuchdisk
grep -q "no disk named 'nosuchdisk'" "$T/err" || fail "unknown disk: message"
run 2 "bad option" --all --bogus
run 2 "names and --all" clean --all
run 2 "bad --log" --all --log mail
mkimg gone
rm "$T/gone.qcow2"
run 2 "missing image" gone
grep -q "gone: poll failed" "$T/err" || fail "missing image: message"
# 1 wins over 2 (a detection and a failed disk in one run).
"${O[@]}" add dirty2 --image "$T/dirty.qcow2" > /dev/null 2>&1 || true
cp "$T/dirty.qcow2" "$T/dirty3.qcow2"
qemu-img bitmap --remove "$T/dirty3.qcow2" "$(qemu-img info --output=json "$T/dirty3.qcow2" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["format-specific"]["data"]["bitmaps"][0]["name"])')"
"${O[@]}" add dirty3 --image "$T/dirty3.qcow2" > /dev/null
run 1 "detection + failed disk" dirty3 gone --test-signatures
grep -q "gone: poll failed" "$T/err" || fail "detection + failed disk: error not said"

# JSON: every object type, exactly the documented keys.
lock_dir="$T/state.db.locks"
# This shell holds disk clean's lock, as another run would.
exec 9> "$lock_dir/clean"
flock -n 9 || fail "could not take the lock of disk clean"
mkimg fresh eicar
run 1 "JSON run" clean fresh gone --test-signatures --json
exec 9>&-
python3 - "$T/out" "$OVSCAN_SOURCE_DIR/docs/ovscan.1" <<'PY' || fail "JSON keys"
import json, re, sys
keys = {
    "poll": ["type", "vm", "poll", "tracker", "mode", "reason", "metadata_walk", "started",
             "dirty_bytes", "duration_s", "files_scanned", "bytes_scanned", "infected",
             "errors", "signature_version", "files"],
    "detection": ["type", "vm", "poll", "fs", "path", "inode", "size", "change",
                  "signature", "signature_version", "new", "found_by"],
    "skipped": ["type", "vm", "reason"],
    "error": ["type", "vm", "error"],
}
file_keys = ["path", "fs", "inode", "size", "change", "verdict", "signature", "error"]
man = open(sys.argv[2]).read()
documented = set(re.findall(r"^\.BR? ([a-z_]+)", man, re.M))
for k in [k for ks in keys.values() for k in ks] + file_keys:
    assert k in documented, "key %r not in the man page" % k
seen = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    t = o["type"]
    assert list(o) == keys[t], (t, list(o))
    seen.setdefault(t, []).append(o)
    if t == "poll":
        for f in o["files"]:
            assert list(f) == file_keys, list(f)
assert sorted(seen) == ["detection", "error", "poll", "skipped"], sorted(seen)
assert seen["skipped"] == [{"type": "skipped", "vm": "clean", "reason": "locked"}], seen["skipped"]
d = seen["detection"][0]
assert (d["vm"], d["path"], d["signature"], d["new"], d["change"], d["found_by"]) == \
    ("fresh", "/eicar.com", "Ovscan.Test.EICAR.UNOFFICIAL", True, "new", "poll"), d
assert d["poll"] == seen["poll"][0]["poll"] and seen["poll"][0]["vm"] == "fresh"
assert seen["error"][0]["vm"] == "gone"
print("JSON types and keys:", {t: len(v) for t, v in seen.items()})
PY

# --log syslog: the run's events reach syslog(3) (a private /dev/log).
python3 - "$T/log.sock" "$T/syslog.txt" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "wb") as out:
    try:
        while True:
            m = s.recv(65536)
            out.write(m + b"\n"); out.flush()
            if b"STOP-SYSLOG-TEST" in m:
                break
    except socket.timeout:
        pass
PY
listener=$!
for (( i=0; i<50; i++ )); do [ -S "$T/log.sock" ] && break; sleep 0.1; done
created_dev_log=0
[ -e /dev/log ] || { : > /dev/log; created_dev_log=1; cleanup_fn "rm -f /dev/log"; }
mkimg logged eicar
set +e
unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" /dev/log &&
  "$2" --state "$3" poll logged --test-signatures --log syslog > /dev/null 2>&1;
  s=$?; logger -u /dev/log STOP-SYSLOG-TEST 2>/dev/null ||
  python3 -c "import syslog; syslog.syslog(\"STOP-SYSLOG-TEST\")"; exit $s' \
  _ "$T/log.sock" "$OVSCAN" "$T/state.db"
s=$?
set -e
wait $listener || true
[ $created_dev_log = 0 ] || rm -f /dev/log
expect_eq "$s" 1 "--log syslog run: exit status"
grep -q "ovscan\[[0-9]*\]: logged: poll [0-9]*, full," "$T/syslog.txt" || fail "syslog: no poll line: $(cat "$T/syslog.txt")"
grep -q "<25>.*ovscan\[[0-9]*\]: logged: poll [0-9]*: /eicar.com: Ovscan.Test.EICAR.UNOFFICIAL FOUND (new)" \
  "$T/syslog.txt" || fail "syslog: no detection at daemon.alert: $(cat "$T/syslog.txt")"
echo PASS
