#!/bin/bash
# Polls when the tracker or the disk cannot be trusted: each case is noticed,
# said, and answered with a full poll (never a poll that silently scans
# nothing), or with a clear error that records nothing:
#   - bitmap left inconsistent by a killed qemu-storage-daemon -> full
#   - the image in use by a running qemu-storage-daemon -> error, nothing lost
#   - ovscan's bitmap replaced by one of another granularity -> full
#   - bitmap removed behind ovscan's back -> full
#   - the disk grew -> full
#   - the filesystem reformatted between polls -> every file new again
#   - a raw image: `add` refuses the bitmap tracker; --tracker full works
#     and every poll says it is full
#   - a disk another run is polling (lock held): skipped, said, not an error
#   - poll of an unknown disk; add of a duplicate name; a missing image
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
requires_root
requires qemu-storage-daemon --version
requires nbdfuse --version
requires python3 --version
O=("$OVSCAN" --state "$T/state.db")
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

field () {  # FILE KEY : a top-level key of a poll's JSON (its first line)
  python3 -c 'import json,sys; v=json.loads(open(sys.argv[1]).readline())[sys.argv[2]]; print("" if v is None else v)' "$1" "$2"
}
poll_json () {  # NAME OUT : poll, expect exit 0 or 1
  set +e
  "${O[@]}" poll "$1" --json --test-signatures > "$2" 2> "$2.err"
  local s=$?
  set -e
  cat "$2.err" >&2
  [ $s -le 1 ] || fail "poll $1 failed: $(cat "$2.err")"
}

mkdir -p "$T/src/etc" "$T/mnt"
echo hello > "$T/src/etc/hostname"
guest_mkfs "$T/vm.qcow2" 64M ext4 "$T/src" -b 4096 || fail "guest_mkfs"
"${O[@]}" add vm --image "$T/vm.qcow2" >/dev/null
poll_json vm "$T/p.json"
expect_eq "$(field "$T/p.json" reason)" "first poll" "first poll reason"

# 1. Inconsistent bitmap: the guest writes, then its QEMU dies.
guest_start "$T/vm.qcow2" "$T/mnt" ext4
printf '%s' "$eicar" > "$T/mnt/etc/written-before-crash"
sync
guest_kill "$T/mnt"
poll_json vm "$T/p.json"
expect_eq "$(field "$T/p.json" mode)" full "inconsistent bitmap: mode"
field "$T/p.json" reason | grep -q inconsistent || fail "inconsistent bitmap: reason"
grep -q '"path":"/etc/written-before-crash".*"verdict":"infected"' "$T/p.json" ||
  fail "inconsistent bitmap: the file written before the crash was not scanned"
poll_json vm "$T/p.json"
expect_eq "$(field "$T/p.json" mode)" incremental "re-armed after the full poll"

# 2. The image is in use: a clear error, nothing recorded, nothing lost.
guest_start "$T/vm.qcow2" "$T/mnt" ext4
echo "written while a poll was refused" > "$T/mnt/etc/later"
set +e
"${O[@]}" poll vm --test-signatures > "$T/inuse.out" 2>&1
status=$?
set -e
cat "$T/inuse.out"
expect_eq "$status" 2 "image in use: exit status"
grep -q "in use" "$T/inuse.out" || fail "image in use: message"
grep -q -- "--qmp\|running VM" "$T/inuse.out" || fail "image in use: no pointer to the running-VM path"
guest_stop "$T/mnt"
poll_json vm "$T/p.json"
grep -q '"path":"/etc/later"' "$T/p.json" || fail "the write made while the poll was refused was lost"

# 3. Another granularity under ovscan's bitmap name.
bm=$(guest_bitmaps "$T/vm.qcow2")
qemu-img bitmap --remove "$T/vm.qcow2" "$bm"
qemu-img bitmap --add --granularity 65536 "$T/vm.qcow2" "$bm"
poll_json vm "$T/p.json"
expect_eq "$(field "$T/p.json" mode)" full "granularity: mode"
field "$T/p.json" reason | grep -q granularity || fail "granularity: reason"

# 4. The bitmap removed behind ovscan's back.
qemu-img bitmap --remove "$T/vm.qcow2" "$(guest_bitmaps "$T/vm.qcow2")"
poll_json vm "$T/p.json"
expect_eq "$(field "$T/p.json" mode)" full "missing bitmap: mode"
field "$T/p.json" reason | grep -q missing || fail "missing bitmap: reason"

# 5. The disk grew.
qemu-img resize -q "$T/vm.qcow2" +16M
poll_json vm "$T/p.json"
expect_eq "$(field "$T/p.json" mode)" full "grown disk: mode"
field "$T/p.json" reason | grep -q "size changed" || fail "grown disk: reason"

# 6. Reformatted between polls (same size, new filesystem, new files).
guest_start "$T/vm.qcow2" "$T/mnt" none
mkfs.ext4 -q -F -b 4096 "$(guest_dev "$T/mnt")" >/dev/null
mount "$(guest_dev "$T/mnt")" "$T/mnt"
mkdir -p "$T/mnt/etc"; echo new > "$T/mnt/etc/hostname"
umount "$T/mnt"
guest_stop "$T/mnt"
poll_json vm "$T/p.json"
grep -q '"path":"/etc/hostname".*"change":"new"' "$T/p.json" || fail "reformat: files not new again"
grep -q '"change":"deleted"' "$T/p.json" && fail "reformat: old files reported as deleted one by one"
grep -q "reformatted" "$T/p.json.err" || fail "reformat: not said"

# 7. Raw images.
qemu-img convert -O raw "$T/vm.qcow2" "$T/vm.raw"
set +e
"${O[@]}" add rawvm --image "$T/vm.raw" > "$T/raw.out" 2>&1
status=$?
set -e
expect_eq "$status" 2 "raw + bitmap tracker: exit status"
grep -q -- "--tracker full" "$T/raw.out" || fail "raw: no hint to --tracker full"
"${O[@]}" add rawvm --image "$T/vm.raw" --tracker full | grep -q "every poll reads every file" ||
  fail "raw: --tracker full does not say what it means"
poll_json rawvm "$T/p.json"
poll_json rawvm "$T/p.json"
expect_eq "$(field "$T/p.json" mode)" full "raw: second poll mode"
field "$T/p.json" reason | grep -q "no write tracking" || fail "raw: reason"

# 8. Another run is polling the disk (its lock held): skipped and said, not
#    an error, nothing recorded.
polls=$(sqlite3 "$T/state.db" 'SELECT count(*) FROM polls')
set +e
flock "$T/state.db.locks/vm" "${O[@]}" poll vm --test-signatures > "$T/lock.out" 2>&1
status=$?
set -e
cat "$T/lock.out"
expect_eq "$status" 0 "locked disk: exit status"
grep -q "vm: skipped: another ovscan is polling it" "$T/lock.out" || fail "locked disk: not said"
expect_eq "$(sqlite3 "$T/state.db" 'SELECT count(*) FROM polls')" "$polls" "locked disk: a poll was recorded"
"${O[@]}" poll vm --test-signatures > /dev/null || fail "the lock outlived its holder"

# 9. Usage errors.
set +e
"${O[@]}" poll nosuchvm > "$T/e.out" 2>&1; expect_eq $? 2 "unknown disk"
grep -q "no disk named 'nosuchvm'" "$T/e.out" || fail "unknown disk: message"
"${O[@]}" add vm --image "$T/vm.qcow2" > "$T/e.out" 2>&1; expect_eq $? 2 "duplicate name"
grep -q "already exists" "$T/e.out" || fail "duplicate: message"
"${O[@]}" add other --image "$T/missing.qcow2" > "$T/e.out" 2>&1; expect_eq $? 2 "missing image"
grep -q "missing.qcow2: No such file" "$T/e.out" || fail "missing image: message"
set -e
echo PASS
