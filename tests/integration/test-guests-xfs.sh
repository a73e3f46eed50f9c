#!/bin/bash
# XFS (which The Sleuth Kit cannot read) through the libguestfs appliance,
# on the LVM guest of tests/lib/lvm.sh (/ ext4 in vg0/root, /home XFS in
# vg0/home):
#   scan   EICAR planted in /home found at vg0/home:/…, content read
#          host-side; the appliance started once.
#   poll   kernel writes into the XFS LV (a loop device over exactly the LV's
#          bytes of the guest disk, served by qemu-storage-daemon which
#          records them in ovscan's dirty bitmap) listed with 100% recall
#          over 2 seeded rounds; an EICAR written in round 2 detected.
#          A poll whose dirty blocks are all in the ext4 LV does not start
#          the appliance; a quiet poll does not either.
#   run    `poll --all` over two disks whose XFS both changed: the appliance
#          starts once for both.
# LIBGUESTFS_BACKEND_SETTINGS defaults to force_tcg (tests/lib/lvm.sh).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/lvm.sh"
lvm_test_requires
lvm_appliance_env

WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
O=("$OVSCAN" --state "$T/state.db")
poll_obj () {    # FILE KEY: print the poll object's KEY (JSON lines)
  python3 -c 'import json,sys
for o in map(json.loads, open(sys.argv[1])):
    if "mode" in o: print(json.dumps(o.get(sys.argv[2])))' "$1" "$2"
}
launches () {    # FILE: appliance launches reported in a poll's JSON lines
  python3 -c 'import json,sys
n = 0
for o in map(json.loads, open(sys.argv[1])):
    if o.get("type") == "appliance": n += o["launches"]
print(n)' "$1"
}

mkdir -p "$T/boot" "$T/root/etc" "$T/home/alice/Downloads" "$T/mnt" "$T/lv"
echo "set timeout=5" > "$T/boot/grub.cfg"
echo guest1 > "$T/root/etc/hostname"
python3 "$WORKLOAD" populate --seed 6 --root "$T/root/srv" --files 100
python3 "$WORKLOAD" populate --seed 5 --root "$T/home/alice/files" --files 150
printf '%s' "$eicar" > "$T/home/alice/Downloads/invoice.pdf.exe"
echo "notes" > "$T/home/alice/notes.txt"
ln "$T/home/alice/notes.txt" "$T/home/alice/notes-link.txt"

lvm_guest_disk "$T/vm.raw" "$T/boot" "$T/root" "$T/home" || fail "building the guest"
root_off=$(awk '$1=="root"{print $2}' "$T/vm.raw.offsets")
home_off=$(awk '$1=="home"{print $2}' "$T/vm.raw.offsets")

# --- full scan ---
set +e
"$OVSCAN" scan "$T/vm.raw" --format raw --test-signatures > "$T/scan.out" 2> "$T/scan.err"
status=$?
set -e
cat "$T/scan.out" "$T/scan.err"
expect_eq "$status" 1 "scan exit status"
diff <(grep ' FOUND$' "$T/scan.out" | sed -E 's/\.UNOFFICIAL FOUND$/ FOUND/') - <<'LIST' || fail "detections differ"
vg0/home:/alice/Downloads/invoice.pdf.exe: Ovscan.Test.EICAR FOUND
LIST
grep -q '^Filesystems: 3 scanned (p1 ext4, vg0/root ext4, vg0/home xfs)' "$T/scan.out" || fail "summary"
grep -q '^Errors: 0$' "$T/scan.out" || fail "no errors expected"
# Content read host-side equals the file (hard link: one file, two paths).
"$FSMAP_DUMP" --format raw --cat "vg0/home:/alice/notes-link.txt" "$T/vm.raw" > "$T/notes" 2> "$T/cat.err" ||
  { cat "$T/cat.err"; fail "fsmap-dump --cat"; }
cmp "$T/notes" "$T/home/alice/notes.txt" || fail "XFS content read through fsmap differs"
"$FSMAP_DUMP" --format raw "$T/vm.raw" > "$T/dump" 2> "$T/dump.err" || { cat "$T/dump.err"; fail "fsmap-dump"; }
n=$(awk -F'\t' '$1=="path" && $3 ~ /^vg0\/home:\/alice\/files\//' "$T/dump" | wc -l)
[ "$n" -ge 150 ] || fail "XFS walk listed $n of the populated files"

# --- polls ---
qemu-img convert -f raw -O qcow2 "$T/vm.raw" "$T/vm.qcow2"
cp "$T/vm.qcow2" "$T/vm2.qcow2"
rm -f "$T/vm.raw"
"${O[@]}" add vm --image "$T/vm.qcow2" || fail "add"
"${O[@]}" poll vm --json --test-signatures > "$T/poll0.json" 2> "$T/poll0.err" || true
cat "$T/poll0.err"
expect_eq "$(poll_obj "$T/poll0.json" mode)" '"full"' "first poll mode"
expect_eq "$(launches "$T/poll0.json")" 1 "first poll: appliance launches"


for round in 1 2; do
  plant=; [ "$round" = 2 ] && plant=bob/.cache/update.sh
  lvm_write_round "$T/vm.qcow2" "$home_off" $((320 << 20)) xfs $((round * 31)) 120 "$round" $plant
  lvm_poll_round "$round" vg0/home:
  expect_eq "$(poll_obj "$T/poll$round.json" mode)" '"incremental"' "round $round mode"
  expect_eq "$(launches "$T/poll$round.json")" 1 "round $round: appliance launches"
  poll_obj "$T/poll$round.json" metadata_walk | grep -q 'vg0/home (xfs' || fail "round $round: the XFS walk is said"
  if [ "$round" = 2 ]; then
    expect_eq "$status" 1 "round 2 exit (EICAR planted)"
    python3 - "$T/poll2.json" <<'PY' || fail "round 2 detection"
import json, sys
files = [f for o in map(json.loads, open(sys.argv[1])) if "mode" in o for f in o["files"]]
hits = [f for f in files if f["path"] == "vg0/home:/bob/.cache/update.sh"]
assert hits and hits[0]["verdict"] == "infected", hits
PY
  fi
done

# Writes only in the ext4 root LV: no appliance.
lvm_write_round "$T/vm.qcow2" "$root_off" $((96 << 20)) ext4 77 120 3
"${O[@]}" poll vm --json --test-signatures > "$T/poll3.json" 2> "$T/poll3.err" || true
python3 "$WORKLOAD" check --truth "$T/truth3.json" --poll "$T/poll3.json" --prefix vg0/root: ||
  fail "round 3: recall below 100%"
expect_eq "$(launches "$T/poll3.json")" 0 "ext4-only poll: appliance launches"
walk3=$(poll_obj "$T/poll3.json" metadata_walk)
grep -q 'vg0/root (ext4' <<< "$walk3" || fail "ext4-only poll: the ext4 walk is said: $walk3"
grep -q 'vg0/home' <<< "$walk3" && fail "ext4-only poll walked XFS: $walk3"

# Quiet poll: no appliance, nothing walked.
"${O[@]}" poll vm --json --database "$T/does-not-exist" > "$T/quiet.json" 2>/dev/null || true
expect_eq "$(poll_obj "$T/quiet.json" dirty_bytes)" 0 "quiet poll dirty bytes"
expect_eq "$(launches "$T/quiet.json")" 0 "quiet poll: appliance launches"

# Two disks with XFS changes in one run: one launch.
"${O[@]}" add vm2 --image "$T/vm2.qcow2" || fail "add vm2"
"${O[@]}" poll vm2 --json --test-signatures > /dev/null 2>&1 || true     # first (full) poll
lvm_write_round "$T/vm.qcow2" "$home_off" $((320 << 20)) xfs 91 120 4
lvm_write_round "$T/vm2.qcow2" "$home_off" $((320 << 20)) xfs 92 120 5
"${O[@]}" poll --all --json --test-signatures > "$T/run.json" 2> "$T/run.err" || true
cat "$T/run.err"
expect_eq "$(launches "$T/run.json")" 1 "two-disk run: appliance launches"
expect_eq "$(python3 -c 'import json,sys
print(sum(o.get("mode") == "incremental" for o in map(json.loads, open(sys.argv[1]))))' "$T/run.json")" 2 "two incremental polls"
echo PASS
