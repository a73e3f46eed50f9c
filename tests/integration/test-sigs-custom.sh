#!/bin/bash
# Custom signatures next to the official ones: one file each of .hdb .hsb
# .ndb .ldb .yar, each detecting its own planted file in a real ext4 guest
# (scan and poll), none detecting the clean file; `ovscan sigs` lists each
# with its count; a broken line in a custom .ndb / .ldb / .yar makes scan,
# poll and sigs fail with an error naming the file and the line; the
# signature version changes with a custom file's content.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
requires_root
requires qemu-img --version
requires mkfs.ext4 -V
requires python3 --version
O=("$OVSCAN" --state "$T/state.db")

mkdir -p "$T/src/data" "$T/sigs"
printf 'hash target: ovscan custom hdb\n' > "$T/src/data/by-md5"
printf 'hash target: ovscan custom hsb\n' > "$T/src/data/by-sha256"
printf 'xx OVSCAN-NDB-BODY-MARKER yy\n' > "$T/src/data/by-ndb"
printf 'first half LDB-ALPHA then LDB-OMEGA\n' > "$T/src/data/by-ldb"
printf 'a yara target: OVSCAN-YARA-STRING\n' > "$T/src/data/by-yar"
printf 'LDB-ALPHA alone is not enough\n' > "$T/src/data/clean"
guest_mkfs "$T/vm.qcow2" 32M ext4 "$T/src" || fail "guest_mkfs"

hex () { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
read -r md5 _ < <(md5sum "$T/src/data/by-md5")
read -r sha _ < <(sha256sum "$T/src/data/by-sha256")
echo "$md5:$(stat -c %s "$T/src/data/by-md5"):Custom.Hdb" > "$T/sigs/local.hdb"
echo "$sha:$(stat -c %s "$T/src/data/by-sha256"):Custom.Hsb" > "$T/sigs/local.hsb"
echo "Custom.Ndb:0:*:$(hex OVSCAN-NDB-BODY-MARKER)" > "$T/sigs/local.ndb"
echo "Custom.Ldb;Engine:51-255,Target:0;0&1;$(hex LDB-ALPHA);$(hex LDB-OMEGA)" > "$T/sigs/local.ldb"
printf 'rule CustomYara { strings: $a = "OVSCAN-YARA-STRING" condition: $a }\n' > "$T/sigs/local.yar"

expect_found () {   # JSON-lines file of `scan --json`
  python3 - "$1" <<'PY' || fail "detections of $1"
import json, sys
want = {"/data/by-md5": "Custom.Hdb", "/data/by-sha256": "Custom.Hsb",
        "/data/by-ndb": "Custom.Ndb", "/data/by-ldb": "Custom.Ldb",
        "/data/by-yar": "YARA.CustomYara", "/data/clean": None}
seen = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") == "file" and o["path"] in want:
        seen[o["path"]] = o["signature"]
for path, sig in want.items():
    got = seen.get(path, "missing")
    if sig is None:
        assert got is None, (path, got)
    else:
        assert got is not None and got != "missing" and got.startswith(sig), (path, got)
print("each custom kind detected its file:", seen)
PY
}

set +e
"$OVSCAN" scan "$T/vm.qcow2" -d "$T/sigs" --json > "$T/scan.json"; rc=$?
set -e
expect_eq "$rc" 1 "scan exit status (found)"
expect_found "$T/scan.json"

# sigs: five custom files, one signature each, no error.
"$OVSCAN" sigs -d "$T/sigs" --json > "$T/sigs.json" || fail "sigs"
python3 - "$T/sigs.json" <<'PY' || fail "sigs --json"
import json, sys
o = json.load(open(sys.argv[1]))
dbs = {d["path"].rsplit("/", 1)[1]: d for d in o["databases"]}
assert sorted(dbs) == ["local.hdb", "local.hsb", "local.ldb", "local.ndb", "local.yar"], dbs
for name, d in dbs.items():
    assert d["kind"] == "custom" and d["signatures"] == 1 and d["error"] is None, d
    assert len(d["sha256"]) == 64, d
assert o["errors"] == 0 and o["signatures"] == 5, o
assert o["version"].startswith("5 custom files (sha256 "), o["version"]
PY

# Poll: the same detections, in report detections.
"${O[@]}" add vm --image "$T/vm.qcow2" > /dev/null || fail "add"
set +e
"${O[@]}" poll --all -d "$T/sigs" -q > "$T/poll.out"; rc=$?
set -e
expect_eq "$rc" 1 "poll exit status (found)"
for p in by-md5 by-sha256 by-ndb by-ldb by-yar; do
  grep -q "^vm: /data/$p: Custom\.\|^vm: /data/$p: YARA\.CustomYara" "$T/poll.out" || fail "poll did not report $p"
done
n=$("${O[@]}" report detections vm --csv | tail -n +2 | wc -l)
expect_eq "$n" 5 "detections recorded by the poll"

# A broken line, in each of three kinds: error names file and line.
broken () {   # FILE LINE-NUMBER TEXT-TO-APPEND
  local file=$1 line=$2 text=$3 out rc
  rm -rf "$T/bad"; cp -a "$T/sigs" "$T/bad"
  printf '%s\n' "$text" >> "$T/bad/$file"
  set +e
  out=$("$OVSCAN" scan "$T/vm.qcow2" -d "$T/bad" -q 2>&1); rc=$?
  set -e
  expect_eq "$rc" 2 "scan with a broken $file"
  grep -qF "$T/bad/$file line $line:" <<< "$out" || fail "scan error does not name $file line $line: $out"
  set +e
  out=$("${O[@]}" poll vm -d "$T/bad" --full -q 2>&1); rc=$?
  set -e
  expect_eq "$rc" 2 "poll with a broken $file"
  grep -qF "$T/bad/$file line $line:" <<< "$out" || fail "poll error does not name $file line $line: $out"
  set +e
  "$OVSCAN" sigs -d "$T/bad" --json > "$T/bad.json" 2> "$T/bad.err"; rc=$?
  set -e
  expect_eq "$rc" 2 "sigs with a broken $file"
  python3 - "$T/bad.json" "$T/bad/$file" "$line" <<'PY' || fail "sigs --json error for $file"
import json, sys
o = json.load(open(sys.argv[1]))
bad = [d for d in o["databases"] if d["error"]]
assert len(bad) == 1 and bad[0]["path"] == sys.argv[2], bad
assert bad[0]["error"].startswith("%s line %s:" % (sys.argv[2], sys.argv[3])), bad[0]["error"]
assert o["errors"] == 1 and o["signatures"] is None, o
PY
}
broken local.ndb 2 'Broken.Ndb:0:*:not-hex'
broken local.ldb 2 'Broken.Ldb;Engine:51-255,Target:0;0&1;zz'
broken local.yar 2 'rule Broken { strings: $a = "x" condition: $a and }'

# The version follows a custom file's content.
v1=$("$OVSCAN" sigs -d "$T/sigs" --no-load --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
echo "Custom.Ndb2:0:*:$(hex SOMETHING-ELSE)" >> "$T/sigs/local.ndb"
v2=$("$OVSCAN" sigs -d "$T/sigs" --no-load --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
[ "$v1" != "$v2" ] || fail "version did not change with local.ndb: $v1"
echo PASS
