# ovscan — helpers of the operations tests (tests/integration/test-ops-*.sh;
# source after functions.sh and lib/guest.sh).
#
#   O=(…)                      ovscan with the test's state db (set here)
#   ops_disk NAME              a 32M ext4 qcow2 $T/NAME.qcow2 with a few clean
#                              files, registered as NAME (bitmap tracker)
#   ops_write NAME FILE TEXT   write TEXT to /FILE inside NAME through the
#                              guest path (QEMU records it in the bitmap)
#   ops_polls NAME             number of committed polls of NAME
#   ops_requires_guest         skip unless root, qsd, nbdfuse, sqlite3, python3
#   ops_fleet NAME…            ops_disk each, their first polls, then
#                              /home/NAME.txt written into each
#   EICAR                      the EICAR test string
O=("$OVSCAN" --state "$T/state.db")
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

ops_disk () {
  local name=$1
  mkdir -p "$T/src-$name/etc"
  echo "$name" > "$T/src-$name/etc/hostname"
  head -c 20000 /dev/urandom > "$T/src-$name/etc/blob"
  guest_mkfs "$T/$name.qcow2" 32M ext4 "$T/src-$name" || fail "guest_mkfs $name"
  "${O[@]}" add "$name" --image "$T/$name.qcow2" >/dev/null || fail "add $name"
}

ops_write () {
  local name=$1 file=$2 text=$3
  mkdir -p "$T/mnt-$name"
  guest_start "$T/$name.qcow2" "$T/mnt-$name" ext4 || fail "guest_start $name"
  mkdir -p "$(dirname "$T/mnt-$name/$file")"
  printf '%s' "$text" > "$T/mnt-$name/$file"
  guest_stop "$T/mnt-$name" || fail "guest_stop $name"
}

ops_polls () {
  sqlite3 "$T/state.db" "SELECT count(*) FROM polls p JOIN disks d ON d.id = p.disk_id WHERE d.name = '$1'"
}

ops_requires_guest () {
  requires_root
  requires qemu-storage-daemon --version
  requires nbdfuse --version
  requires sqlite3 --version
  requires python3 --version
}

ops_fleet () {
  local n
  for n in "$@"; do ops_disk "$n"; done
  "${O[@]}" poll "$@" --test-signatures > /dev/null || fail "first polls"
  for n in "$@"; do ops_write "$n" "home/$n.txt" "written to $n"; done
}
