#!/bin/bash
# Copy-on-write fleet: one ext4 base image and five qcow2 overlays, each
# changed differently through the real kernel (qemu-storage-daemon + nbdfuse
# + loop mount on the overlay).  Asserts, against content-hash ground truth
# (workload.py), recall = 100% for every VM at its first poll and at an
# incremental poll after layer rotation; the base scanned exactly once for
# the fleet (from the state db); each VM's first poll reads only what its
# overlay holds (files scanned < files of the base); an EICAR written into
# one VM found in that VM only; chains kept at --max-chain 2 by merge-down,
# every layer clean under qemu-img check, the path the VM names still its
# top; a poll with no writes is quiet and rotates nothing.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/fleet.sh"
requires_root
requires qemu-storage-daemon --version
requires nbdfuse --version
requires python3 --version
O=("$OVSCAN" --state "$T/state.db")
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
N=5
mkdir -p "$T/mnt"
fleet_base "$T" 300

for i in $(seq $N); do
  qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/vm$i.qcow2"
  "${O[@]}" add vm$i --image "$T/vm$i.qcow2" --tracker layers --max-chain 2 || fail "add vm$i"
done
expect_eq "$(fleet_db "select count(*) from bases")" 1 "one base registered for $N VMs"

# Round 1: every VM changed differently (different seeds and sizes); vm3
# also gets an EICAR.
for i in $(seq $N); do
  FLEET_EXTRA=""
  [ "$i" = 3 ] && FLEET_EXTRA='mkdir -p "$mnt/tmp/x y"; printf "%s" "$eicar" > "$mnt/tmp/x y/drop.sh"'
  fleet_change "$T/vm$i.qcow2" "$T/mnt" $((i * 11)) $((20 * i)) "r1-vm$i" || fail "vm$i round 1"
done
set +e
"${O[@]}" poll --all --json --test-signatures > "$T/poll1.json" 2> "$T/poll1.err"
status=$?
set -e
cat "$T/poll1.err"
expect_eq "$status" 1 "first fleet poll exit (EICAR in vm3)"
expect_eq "$(fleet_db "select count(*) from polls p join disks d on d.id = p.disk_id where d.tracker = 'base'")" 1 \
  "the base scanned exactly once"
base_files=$(fleet_db "select count(*) from files f join filesystems fs on fs.id = f.fs_id join disks d on d.id = fs.disk_id where d.tracker = 'base'")
[ "$base_files" -ge 300 ] || fail "base files recorded: $base_files"
expect_eq "$(fleet_db "select files_scanned from polls p join disks d on d.id = p.disk_id where d.tracker = 'base'")" \
  "$base_files" "the base's poll scanned every base file"
for i in $(seq $N); do
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-r1-vm$i.json" --poll "$T/poll1.json" --vm vm$i ||
    fail "vm$i first poll: recall below 100%"
  python3 - "$T/poll1.json" vm$i "$base_files" <<'PY' || fail "vm$i first poll record"
import json, sys
polls = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
p = [o for o in polls if o.get("type", "poll") == "poll" and o["vm"] == sys.argv[2]][0]
assert p["tracker"] == "layers" and p["mode"] == "incremental", p
assert 0 < p["files_scanned"] < int(sys.argv[3]), (p["files_scanned"], sys.argv[3])
hits = [f for f in p["files"] if f["path"] == "/tmp/x y/drop.sh"]
if sys.argv[2] == "vm3":
    assert hits and hits[0]["verdict"] == "infected", hits
else:
    assert not hits, hits
print(sys.argv[2], "first poll:", p["files_scanned"], "scanned of", sys.argv[3], "base files")
PY
  [ -e "$T/vm$i.qcow2.layer-1" ] || fail "vm$i: no frozen layer after the first poll"
done

# Round 2: more changes; the polls rotate again and merge down to 2 layers.
for i in $(seq $N); do
  FLEET_EXTRA=""
  fleet_change "$T/vm$i.qcow2" "$T/mnt" $((i * 13 + 1)) 40 "r2-vm$i" || fail "vm$i round 2"
done
"${O[@]}" poll --all --json --test-signatures > "$T/poll2.json" || fail "second fleet poll"
expect_eq "$(fleet_db "select count(*) from polls p join disks d on d.id = p.disk_id where d.tracker = 'base'")" 1 \
  "the base still scanned exactly once"
for i in $(seq $N); do
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-r2-vm$i.json" --poll "$T/poll2.json" --vm vm$i ||
    fail "vm$i second poll: recall below 100%"
  layers=$(ls "$T" | grep -c "^vm$i.qcow2.layer-" || true)
  expect_eq "$layers" 1 "vm$i: frozen layers after merge-down (--max-chain 2)"
  for f in "$T/vm$i.qcow2" "$T"/vm$i.qcow2.layer-*; do
    qemu-img check -q "$f" || fail "qemu-img check $f"
  done
  qemu-img info --backing-chain "$T/vm$i.qcow2" | grep -q "^image: .*base.qcow2$" || fail "vm$i chain lost its base"
done

# The VMs' content is intact after rotations and merges: the top's files
# hash as the guest last wrote them.
guest_start "$T/vm2.qcow2" "$T/mnt" ext4 || fail "guest_start vm2"
python3 "$FLEET_WORKLOAD" snapshot --root "$T/mnt" --out "$T/final-vm2.json"
guest_stop "$T/mnt" || fail "guest_stop vm2"
python3 - "$T/after-r2-vm2.json" "$T/final-vm2.json" <<'PY' || fail "vm2 content changed by rotation/merge"
import json, sys
a, b = (json.load(open(x))["files"] for x in sys.argv[1:3])
ha = {k: v["sha256"] for k, v in a.items()}; hb = {k: v["sha256"] for k, v in b.items()}
assert ha == hb, set(ha.items()) ^ set(hb.items())
PY

# No writes: quiet, no rotation.
"${O[@]}" poll vm1 --json > "$T/quiet.json" || fail "quiet poll"
expect_eq "$(fleet_poll_json "$T/quiet.json" dirty_bytes)" 0 "quiet poll dirty bytes"
expect_eq "$(ls "$T" | grep -c '^vm1.qcow2.layer-')" 1 "a quiet poll rotates nothing"
"${O[@]}" list | tee "$T/list.txt"
grep -q "^base-" "$T/list.txt" || fail "list shows no base"
# status names each VM's base and its layers; the base's own row has none
"${O[@]}" status --test-signatures --json > "$T/status.json" || fail "status"
python3 - "$T/status.json" "$N" <<'PY' || fail "status fleet fields"
import json, sys
rows = {r["vm"]: r for r in map(json.loads, open(sys.argv[1]))}
bases = [n for n in rows if n.startswith("base-")]
assert len(bases) == 1 and rows[bases[0]]["base"] is None, rows
for i in range(1, int(sys.argv[2]) + 1):
    r = rows["vm%d" % i]
    assert r["base"] == bases[0] and r["max_layers"] == 2, r
    assert r["layers"] >= 1 and r["own_bytes"] > 0, r
PY
echo PASS
