#!/bin/bash
# A guest laid out as installers do: GPT with /boot ext4 (p1) and an LVM2 PV
# (p2) of VG vg0 holding / on ext4 (LV root) and /home on XFS (LV home),
# built by the real lvm2 tools (tests/lib/lvm.sh).
#   scan: detections at "p1:/…" and "vg0/root:/…" (EICAR planted in each),
#         the PV itself noted (not an error), an empty LV stored in two
#         runs reported (no filesystem), XFS reported when the
#         libguestfs appliance is not allowed (OVSCAN_NO_APPLIANCE=1).
#   poll: kernel writes into the root LV's ext4 (a loop device over exactly
#         the LV's bytes of the guest disk served by qemu-storage-daemon,
#         which records them in ovscan's dirty bitmap) are listed with 100%
#         recall over 2 seeded rounds (tests/lib/workload.py); an EICAR
#         written in round 2 is detected at vg0/root:/…; a quiet poll walks
#         nothing.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/lvm.sh"
lvm_test_requires

WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
O=("$OVSCAN" --state "$T/state.db")

mkdir -p "$T/boot/grub" "$T/root/etc" "$T/root/var/www/uploads" "$T/home/alice"
echo "set timeout=5" > "$T/boot/grub/grub.cfg"
printf '%s' "$eicar" > "$T/boot/grub/evil.mod"
echo guest1 > "$T/root/etc/hostname"
printf '%s' "$eicar" > "$T/root/var/www/uploads/shell.php"
python3 "$WORKLOAD" populate --seed 3 --root "$T/root/srv" --files 120
echo "hello" > "$T/home/alice/notes.txt"

# --- full scan, with an LV in two runs ---
lvm_guest_disk "$T/split.raw" "$T/boot" "$T/root" "$T/home" split || fail "building the LVM guest"
set +e
# No appliance here: XFS must then be reported (test-guests-xfs.sh reads it).
OVSCAN_NO_APPLIANCE=1 "$OVSCAN" scan "$T/split.raw" --format raw --test-signatures > "$T/scan.out" 2> "$T/scan.err"
status=$?
set -e
cat "$T/scan.out" "$T/scan.err"
expect_eq "$status" 1 "scan exit status"
diff <(grep ' FOUND$' "$T/scan.out" | sed -E 's/\.UNOFFICIAL FOUND$/ FOUND/' | sort) <(sort <<'LIST'
p1:/grub/evil.mod: Ovscan.Test.EICAR FOUND
vg0/root:/var/www/uploads/shell.php: Ovscan.Test.EICAR FOUND
LIST
) || fail "detections differ"
grep -q '^Filesystems: 2 scanned (p1 ext4, vg0/root ext4)' "$T/scan.out" || fail "summary"
# The LV in two runs is read through its segment map (test-guests-lvm-segments.sh);
# here it holds no filesystem, which is what must be reported.
grep -q 'not scanned: LV vg0/split (stored in 2 runs on the disk): .*no filesystem recognised' "$T/scan.err" ||
  fail "the empty LV in two runs must be reported"
grep -q 'not scanned: p2: LVM2 physical volume .*: its logical volumes are scanned as VG/LV' "$T/scan.err" ||
  fail "the PV is noted"
grep -q 'not scanned: vg0/home: XFS' "$T/scan.err" || fail "XFS must be reported, not skipped"
grep -q '^Errors: 2$' "$T/scan.out" || fail "errors: the split LV and XFS (the PV is a note)"

# --- incremental polls of the root LV ---
rm -f "$T/boot/grub/evil.mod" "$T/root/var/www/uploads/shell.php"
lvm_guest_disk "$T/vm.raw" "$T/boot" "$T/root" "$T/home" || fail "building the LVM guest"
root_off=$(awk '$1=="root"{print $2}' "$T/vm.raw.offsets")
qemu-img convert -f raw -O qcow2 "$T/vm.raw" "$T/vm.qcow2"
rm -f "$T/vm.raw"
"${O[@]}" add vm --image "$T/vm.qcow2" || fail "add"
set +e
OVSCAN_NO_APPLIANCE=1 "${O[@]}" poll vm --json --test-signatures > "$T/poll0.json" 2> "$T/poll0.err"
set -e
python3 - "$T/poll0.json" <<'PY' || fail "first poll"
import json, sys
p = [o for o in map(json.loads, open(sys.argv[1])) if "mode" in o][0]
assert p["mode"] == "full", p
paths = {f["path"] for f in p["files"]}
assert "vg0/root:/etc/hostname" in paths and "p1:/grub/grub.cfg" in paths, sorted(paths)[:10]
PY

mkdir -p "$T/mnt" "$T/lv"
for round in 1 2; do
  plant=; [ "$round" = 2 ] && plant=tmp/drop/payload.sh
  lvm_write_round "$T/vm.qcow2" "$root_off" $((96 << 20)) ext4 $((round * 23)) 150 "$round" $plant
  lvm_poll_round "$round" vg0/root: OVSCAN_NO_APPLIANCE=1
  python3 - "$T/poll$round.json" "$round" <<'PY' || fail "round $round poll record"
import json, sys
p = [o for o in map(json.loads, open(sys.argv[1])) if "mode" in o][0]
assert p["mode"] == "incremental", p["mode"]
assert all(f["path"].startswith("vg0/root:") for f in p["files"]), [f["path"] for f in p["files"]][:5]
assert "p1 " not in (p["metadata_walk"] or ""), p["metadata_walk"]
if sys.argv[2] == "2":
    hits = [f for f in p["files"] if f["path"] == "vg0/root:/tmp/drop/payload.sh"]
    assert hits and hits[0]["verdict"] == "infected", hits
print("round", sys.argv[2], ":", len(p["files"]), "listed,", p["files_scanned"], "scanned; walked:", p["metadata_walk"])
PY
  if [ "$round" = 2 ]; then expect_eq "$status" 1 "round 2 exit (EICAR planted)"; fi
done

"${O[@]}" poll vm --json --database "$T/does-not-exist" > "$T/quiet.json" 2>/dev/null || true
python3 - "$T/quiet.json" <<'PY' || fail "quiet poll record"
import json, sys
p = [o for o in map(json.loads, open(sys.argv[1])) if "mode" in o][0]
assert p["mode"] == "incremental" and p["dirty_bytes"] == 0, p
assert p["files"] == [] and p["metadata_walk"] is None, p
PY
echo PASS
