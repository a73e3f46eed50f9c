#!/bin/bash
# Guest inspection and guest paths, on the LVM guest of tests/lib/lvm.sh made
# to look like a Debian install: /etc/os-release, /etc/hostname and an
# /etc/fstab naming /boot (p1 ext4), / (vg0/root ext4) and /home (vg0/home
# XFS) by UUID.
#   inspect   `ovscan inspect vm` finds Debian 12 (libguestfs takes the
#             product name from /etc/debian_version), hostname guest1, the three
#             mountpoints mapped to fsmap's filesystems; cached (--show
#             needs no appliance).
#   paths     the first poll reports EICARs planted in each filesystem at
#             /boot/…, /etc/…, /home/… with JSON fs p1 / vg0/root / vg0/home;
#             `report dirty` too.
#   refresh   a kernel write of a new /etc/fstab (and hostname) into the root
#             LV: the next poll re-inspects (hostname changes in the cache);
#             a poll that does not touch /etc/fstab does not.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/lvm.sh"
lvm_test_requires
requires uuidgen --version
lvm_appliance_env

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
O=("$OVSCAN" --state "$T/state.db")
export BOOT_UUID=$(uuidgen) ROOT_UUID=$(uuidgen) HOME_UUID=$(uuidgen)

mkdir -p "$T/boot/grub" "$T/root/etc/cron.d" "$T/root/bin" "$T/root/sbin" "$T/root/usr/bin" \
  "$T/root/boot" "$T/root/home" "$T/root/var/log" "$T/home/alice" "$T/mnt" "$T/lv"
cat > "$T/root/etc/os-release" <<'OS'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
OS
echo 12.5 > "$T/root/etc/debian_version"
echo guest1 > "$T/root/etc/hostname"
fstab () {
  cat <<FSTAB
UUID=$ROOT_UUID / ext4 errors=remount-ro 0 1
UUID=$BOOT_UUID /boot ext4 defaults 0 2
UUID=$HOME_UUID /home xfs defaults 0 2
FSTAB
}
fstab > "$T/root/etc/fstab"
cp /bin/true "$T/root/bin/sh"
echo "set timeout=5" > "$T/boot/grub/grub.cfg"
printf '%s' "$eicar" > "$T/boot/grub/evil.mod"
printf '%s' "$eicar" > "$T/root/etc/cron.d/evil"
printf '%s' "$eicar" > "$T/home/alice/evil.txt"

lvm_guest_disk "$T/vm.raw" "$T/boot" "$T/root" "$T/home" || fail "building the guest"
root_off=$(awk '$1=="root"{print $2}' "$T/vm.raw.offsets")
qemu-img convert -f raw -O qcow2 "$T/vm.raw" "$T/vm.qcow2"
rm -f "$T/vm.raw"
"${O[@]}" add vm --image "$T/vm.qcow2" || fail "add"

"${O[@]}" inspect vm --show > "$T/show0" || fail "inspect --show"
grep -q 'not inspected yet' "$T/show0" || fail "nothing cached before the first inspection"
"${O[@]}" inspect vm --json > "$T/inspect.json" || { cat "$T/inspect.json"; fail "inspect"; }
cat "$T/inspect.json"
python3 - "$T/inspect.json" <<'PY' || fail "inspection result"
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["os"] == "linux" and o["distro"] == "debian" and o["version"].startswith("12."), o
assert o["hostname"] == "guest1", o
m = {x["fs"]: x["mountpoint"] for x in o["mounts"]}
assert m == {"vg0/root": "/", "p1": "/boot", "vg0/home": "/home"}, m
PY
OVSCAN_NO_APPLIANCE=1 "${O[@]}" inspect vm --show > "$T/show1" || fail "inspect --show"
grep -Eq '^vm: .+ \(linux debian 12\.[0-9]+\), hostname guest1$' "$T/show1" ||
  { cat "$T/show1"; fail "cached inspection"; }
"${O[@]}" list > "$T/list" || fail "list"
cat "$T/list"
grep -Eq '^ +os: .+, host guest1$' "$T/list" || fail "list shows the OS"
"${O[@]}" status vm --test-signatures --json > "$T/status.json" || fail "status"
python3 -c 'import json,sys; os_=json.load(open(sys.argv[1]))["os"]; assert os_ and os_.endswith(", host guest1"), os_' \
  "$T/status.json" || fail "status shows the OS"

# First poll: guest paths.
set +e
"${O[@]}" poll vm --json --test-signatures > "$T/poll0.json" 2> "$T/poll0.err"
status=$?
set -e
cat "$T/poll0.err"
expect_eq "$status" 1 "first poll exit (EICARs)"
python3 - "$T/poll0.json" <<'PY' || fail "guest paths in the poll"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
p = [o for o in objs if "mode" in o][0]
inf = sorted((f["path"], f["fs"], f.get("fs_path")) for f in p["files"] if f["verdict"] == "infected")
assert inf == [("/boot/grub/evil.mod", "p1", "p1:/grub/evil.mod"),
               ("/etc/cron.d/evil", "vg0/root", "vg0/root:/etc/cron.d/evil"),
               ("/home/alice/evil.txt", "vg0/home", "vg0/home:/alice/evil.txt")], inf
det = sorted(o["path"] for o in objs if o.get("type") == "detection")
assert det == ["/boot/grub/evil.mod", "/etc/cron.d/evil", "/home/alice/evil.txt"], det
PY
"${O[@]}" report dirty vm --poll 1 > "$T/report.txt"
grep -q ' /etc/cron.d/evil ' "$T/report.txt" || grep -q '/etc/cron.d/evil' "$T/report.txt" || fail "report dirty: guest path"

# Writes into the root LV: a new /etc/fstab and hostname -> re-inspected.
guest_start "$T/vm.qcow2" "$T/mnt" none || fail "guest_start"
lvloop=$(lvm_lv_loop "$(guest_dev "$T/mnt")" "$root_off" $((96 << 20))) || fail "LV loop"
cleanup_fn "umount -q '$T/lv' 2>/dev/null; losetup -d $lvloop 2>/dev/null"
mount -t ext4 "$lvloop" "$T/lv" || fail "mount LV"
echo web7 > "$T/lv/etc/hostname"
{ fstab; echo "# edited"; } > "$T/lv/etc/fstab"
umount "$T/lv"; losetup -d "$lvloop"
guest_stop "$T/mnt" || fail "guest_stop"
"${O[@]}" poll vm --json --test-signatures > "$T/poll1.json" 2> "$T/poll1.err" || true
cat "$T/poll1.err"
OVSCAN_NO_APPLIANCE=1 "${O[@]}" inspect vm --show > "$T/show2"
grep -q 'hostname web7' "$T/show2" || { cat "$T/show2"; fail "a changed /etc/fstab must re-inspect"; }
python3 - "$T/poll1.json" <<'PY' || fail "poll 1 paths"
import json, sys
p = [o for o in map(json.loads, open(sys.argv[1])) if "mode" in o][0]
paths = {f["path"] for f in p["files"]}
assert "/etc/fstab" in paths and "/etc/hostname" in paths, paths
PY
echo PASS
