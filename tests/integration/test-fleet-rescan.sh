#!/bin/bash
# Rolling rescan of a copy-on-write fleet: a base's content is rescanned
# once for all its VMs.  A base holds a file that only a later signature
# catches ($keep/marker.txt, out of the workload's reach); three VM overlays
# change their own files through the kernel, vm2 also writes its own copy of
# the marker under another name and vm3 overwrites the base's marker with
# clean bytes.  After the fleet's first polls, new signatures: the rescan
# must scan the base's files once plus exactly each VM's own files (rows a
# VM poll read), give every other VM row the base's new verdict
# (files_inherited), and report the marker in base, vm1 and vm2 (inherited,
# under their names), vm2's own copy, and not vm3's overwritten file.
# Afterwards every file is covered and a second run has nothing to do.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/fleet.sh"
fleet_setup
mkdir -p "$T/src/\$keep"
python3 "$FLEET_WORKLOAD" populate --seed 1 --root "$T/src" --files 60
printf 'header ovscan-extra-marker trailer\n' > "$T/src/\$keep/marker.txt"
guest_mkfs "$T/base.qcow2" 128M ext4 "$T/src" -b 4096
for i in 1 2 3; do
  qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/vm$i.qcow2"
  "${O[@]}" add vm$i --image "$T/vm$i.qcow2" --tracker layers >/dev/null || fail "add vm$i"
  case $i in
    2) FLEET_EXTRA='printf "own ovscan-extra-marker\n" > "$mnt/own-marker.txt"' ;;
    3) FLEET_EXTRA='printf "clean bytes now\n" > "$mnt/\$keep/marker.txt"' ;;
    *) FLEET_EXTRA= ;;
  esac
  fleet_change "$T/vm$i.qcow2" "$T/mnt" $((i + 20)) 8 "vm$i" || fail "vm$i writes"
done
"${O[@]}" poll --all --test-signatures --rescan-budget 0 > "$T/poll1.out" 2>&1 ||
  fail "first fleet poll: $(cat "$T/poll1.out")"

base_poll=$(fleet_db "select max(id) from polls where disk_id = (select id from disks where tracker = 'base')")
base_files=$(fleet_db "select count(*) from files f join filesystems fs on fs.id = f.fs_id
  join disks d on d.id = fs.disk_id where d.tracker = 'base' and f.verdict in ('clean','infected')")
own=$(fleet_db "select count(*) from files f join filesystems fs on fs.id = f.fs_id
  join disks d on d.id = fs.disk_id where d.tracker = 'layers' and f.verdict in ('clean','infected')
  and f.scanned_poll <> $base_poll")
vm_files=$(fleet_db "select count(*) from files f join filesystems fs on fs.id = f.fs_id
  join disks d on d.id = fs.disk_id where d.tracker = 'layers' and f.verdict in ('clean','infected')")
[ "$own" -gt 3 ] && [ "$vm_files" -gt $((own + 100)) ] ||
  fail "setup: $own own of $vm_files VM rows (expected a few own, most inherited)"

cp "$OVSCAN_SIGS" "$T/extra.ndb"
echo 'Ovscan.Test.Extra:0:*:6f767363616e2d65787472612d6d61726b6572' >> "$T/extra.ndb"
set +e
"${O[@]}" poll --all --json -d "$T/extra.ndb" > "$T/rescan.json" 2> "$T/rescan.err"
status=$?
set -e
expect_eq "$status" 1 "exit status of the run whose rescan finds the marker"
python3 - "$T/rescan.json" "$base_files" "$own" "$vm_files" <<'PY' || fail "rescan results: $(cat "$T/rescan.err")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
base_files, own, vm_files = map(int, sys.argv[2:5])
summary = [o for o in objs if o.get("type") == "rescan"]
assert len(summary) == 1, summary
s = summary[0]
assert s["files_scanned"] == base_files + own, (s, base_files, own)
assert s["files_inherited"] == vm_files - own, (s, vm_files, own)
assert s["stale_after"] == 0, s
finds = sorted((o["vm"].split("-")[0], o["path"]) for o in objs
               if o.get("type") == "detection" and o.get("found_by") == "rescan")
want = sorted([("base", "/$keep/marker.txt"), ("vm1", "/$keep/marker.txt"),
               ("vm2", "/$keep/marker.txt"), ("vm2", "/own-marker.txt")])
assert finds == want, finds
assert s["infected"] == 4, s
PY
expect_eq "$(fleet_db "select count(*) from detections d join disks k on k.id = d.disk_id
  where k.name = 'vm1' and d.found_by = 'rescan' and d.cleared_poll is null")" 1 \
  "vm1's inherited detection is recorded"
# Nothing left: a second run neither scans nor reports.
"${O[@]}" poll --all --json -d "$T/extra.ndb" > "$T/rescan2.json" 2>&1 || true
if grep -q '"type":"detection"' "$T/rescan2.json"; then fail "second run reported again"; fi
if grep -q '"files_scanned":[1-9]' "$T/rescan2.json"; then fail "second run rescanned files"; fi
grep "\"type\":\"rescan\"" "$T/rescan.json"
echo PASS
