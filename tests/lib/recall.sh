# ovscan — the recall test body shared by test-poll-recall-{ext4,ntfs}.sh
# (source after functions.sh and guest.sh):
#   recall_test FSTYPE SIZE [MKFS_OPTS…]
# First poll full; 3 seeded rounds of kernel writes, each checked for
# recall = 100% against content-hash ground truth (precision printed); an
# EICAR planted in round 2 detected; report dirty = the poll's list; a
# quiet poll loads no engine and walks no metadata.
recall_test () {
local fstype=$1 size=$2
shift 2
WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"
O=("$OVSCAN" --state "$T/state.db")
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

mkdir -p "$T/src" "$T/mnt"
python3 "$WORKLOAD" populate --seed 1 --root "$T/src" --files 150
guest_mkfs "$T/vm.qcow2" "$size" "$fstype" "$T/src" "$@" || fail "guest_mkfs"

"${O[@]}" add vm --image "$T/vm.qcow2" || fail "add"
"${O[@]}" poll vm --json --test-signatures > "$T/poll0.json" || fail "first poll"
python3 - "$T/poll0.json" <<'PY' || fail "first poll record"
import json, sys
p = json.loads(open(sys.argv[1]).readline())
assert p["mode"] == "full" and p["reason"] == "first poll", p
assert len(p["files"]) >= 150 and all(f["change"] == "new" for f in p["files"]), len(p["files"])
assert p["files_scanned"] == len(p["files"])
PY

for round in 1 2 3; do
  guest_start "$T/vm.qcow2" "$T/mnt" "$fstype" || fail "guest_start round $round"
  python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/before$round.json"
  python3 "$WORKLOAD" run --seed $((round * 17)) --root "$T/mnt" --ops 200 >/dev/null
  if [ "$round" = 2 ]; then
    mkdir -p "$T/mnt/var/tmp/x y"; printf '%s' "$eicar" > "$T/mnt/var/tmp/x y/dropper.sh"
  fi
  python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/after$round.json"
  guest_stop "$T/mnt" || fail "guest_stop round $round"
  python3 "$WORKLOAD" diff "$T/before$round.json" "$T/after$round.json" --out "$T/truth$round.json"
  set +e
  "${O[@]}" poll vm --json --test-signatures > "$T/poll$round.json" 2> "$T/poll$round.err"
  status=$?
  set -e
  cat "$T/poll$round.err"
  if [ "$round" = 2 ]; then expect_eq "$status" 1 "round 2 exit (EICAR planted)"
  else expect_eq "$status" 0 "round $round exit"; fi
  python3 "$WORKLOAD" check --truth "$T/truth$round.json" --poll "$T/poll$round.json" ||
    fail "round $round: recall below 100%"
  python3 - "$T/poll$round.json" "$round" <<'PY' || fail "round $round poll record"
import json, sys
p = json.loads(open(sys.argv[1]).readline())
assert p["mode"] == "incremental", p["mode"]
assert p["dirty_bytes"] > 0
if sys.argv[2] == "2":
    hits = [f for f in p["files"] if f["path"] == "/var/tmp/x y/dropper.sh"]
    assert hits and hits[0]["verdict"] == "infected", hits
    assert hits[0]["signature"].startswith("Ovscan.Test.EICAR"), hits
print("round", sys.argv[2], ":", len(p["files"]), "listed,", p["files_scanned"], "scanned,",
      p["dirty_bytes"], "dirty bytes")
PY
  # report dirty gives the same list for that poll.
  poll_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["poll"])' "$T/poll$round.json")
  "${O[@]}" report dirty vm --poll "$poll_id" --json > "$T/report$round.json"
  python3 - "$T/poll$round.json" "$T/report$round.json" <<'PY' || fail "report differs from poll"
import json, sys
a, b = (json.loads(open(x).readline()) for x in sys.argv[1:3])
key = lambda f: (f["path"], f["change"])
assert sorted(a["files"], key=key) == sorted(b["files"], key=key)
PY
done

# A poll with no writes since the last: incremental, nothing listed, the
# engine not loaded (no signature version), no metadata walked.
"${O[@]}" poll vm --json --database "$T/does-not-exist" > "$T/quiet.json" ||
  fail "quiet poll (must not even load signatures)"
python3 - "$T/quiet.json" <<'PY' || fail "quiet poll record"
import json, sys
p = json.loads(open(sys.argv[1]).readline())
assert p["mode"] == "incremental" and p["dirty_bytes"] == 0, p
assert p["files"] == [] and p["signature_version"] is None and p["metadata_walk"] is None, p
PY
"${O[@]}" report dirty vm --csv | head -1 | grep -q '^vm,path,fs,inode' || fail "csv header"
}
