# ovscan — LVM2 guest disks built by the real lvm2 tools (source this; bash).
#
# This machine has no device-mapper, so LVs cannot be activated: lvm2 writes
# the PV label and VG metadata on a loop device over the PV's byte range
# (`--driverloaded n`, LVs created with `-an -Zn`), and the filesystems
# inside the LVs are made in files (mkfs.ext4 -d, mkfs.xfs -p) and copied to
# the LV's disk offset, which lvm2 itself reports (pe_start + first PE *
# extent size).  Kernel writes into an LV go through a loop device with
# --offset/--sizelimit over the disk (lvm_lv_loop), which is exactly the
# LV's byte range for a linear LV stored in one run.
#
#   lvm_cmd CMD ARGS…          run an lvm2 command without device-mapper,
#                               seeing only the devices in $LVM_DEVS (space-
#                               separated: other loop devices on the host
#                               are never touched)
#   lvm_pv_on IMG OFFSET SIZE  print a loop device over IMG[OFFSET, +SIZE)
#   lvm_lv_offset VG LV         disk offset of LV's first extent relative to
#                               its PV (bytes); needs the PV's loop attached
#   lvm_lv_loop DEV OFFSET SIZE print a loop device over DEV[OFFSET,+SIZE)
#   lvm_detach VG LOOP          forget the VG (vgchange -an is a no-op) and
#                               detach LOOP

LVM_DEVS=
export LVM_SUPPRESS_FD_WARNINGS=1

lvm_cmd () {
  local cmd=$1 filter="" d
  shift
  for d in $LVM_DEVS; do filter+="\"a|^$d\$|\","; done
  "$cmd" --driverloaded n --config "devices { filter=[${filter}\"r|.*|\"] obtain_device_list_from_udev=0 scan_lvs=0 use_devicesfile=0 } activation { udev_sync=0 udev_rules=0 } backup { backup=0 archive=0 }" \
    "$@" 2> >(grep -v 'Activation disabled\|not zeroed\|NOT backed up' >&2)
}

lvm_pv_on () {
  losetup -f --show -o "$2" --sizelimit "$3" "$1"
}

lvm_lv_offset () {
  local vg=$1 lv=$2 pe_start ext first
  pe_start=$(lvm_cmd pvs -o pe_start --units b --nosuffix --noheadings -S "vg_name=$vg" | head -1 | tr -d ' ')
  ext=$(lvm_cmd vgs -o vg_extent_size --units b --nosuffix --noheadings "$vg" | tr -d ' ')
  first=$(lvm_cmd lvs -o seg_pe_ranges --noheadings "$vg/$lv" | head -1 | sed -E 's/.*:([0-9]+)-.*/\1/')
  echo $((pe_start + first * ext))
}

lvm_lv_loop () {
  losetup -f --show -o "$2" --sizelimit "$3" "$1"
}

lvm_detach () {
  losetup -d "$2"
}

# lvm_split_lv VG LV FIRST MORE: create LV (FIRST bytes, e.g. 8M), a 4 MiB
#   LV "pad" after it, extend LV by MORE, remove pad: LV is stored in two
#   runs on the PV with a 4 MiB gap.  Needs $LVM_DEVS (lvm_cmd).
lvm_split_lv () {
  lvm_cmd lvcreate -q -an -Zn -L "$3" -n "$2" "$1" &&
  lvm_cmd lvcreate -q -an -Zn -L 4M -n pad "$1" &&
  lvm_cmd lvextend -q -L "+$4" "$1/$2" &&
  lvm_cmd lvremove -q -y "$1/pad"
}

# lvm_fs_image FILE SIZE FSTYPE SRC [UUID]: a filesystem image in FILE filled
# from SRC (ext4: mkfs.ext4 -d; xfs: mkfs.xfs then a kernel loop mount and
# cp -a), with that filesystem UUID if given.
lvm_fs_image () {
  local file=$1 size=$2 fstype=$3 src=$4 uuid=${5:-} m rc=0
  rm -f "$file"
  truncate -s "$size" "$file"
  case "$fstype" in
    ext4) mkfs.ext4 -q -F ${uuid:+-U "$uuid"} -d "$src" "$file" ;;
    xfs)
      mkfs.xfs -q -f ${uuid:+-m uuid="$uuid"} "$file" || return 1
      m=$(mktemp -d)
      mount -o loop -t xfs "$file" "$m" || { rmdir "$m"; return 1; }
      cp -a "$src"/. "$m"/ || rc=1
      umount "$m" || rc=1
      rmdir "$m"
      return $rc ;;
    *) echo "lvm_fs_image: unsupported $fstype" >&2; return 1 ;;
  esac
}

# lvm_guest_disk RAW BOOT_SRC ROOT_SRC HOME_SRC [split]
#   a 512 MiB raw disk: GPT p1 (1 MiB, 32 MiB) /boot ext4 from BOOT_SRC;
#   p2 (33 MiB to the end) an LVM2 PV of VG "vg0" holding LV "root" (96 MiB,
#   ext4 from ROOT_SRC), LV "home" (320 MiB: mkfs.xfs's minimum is 300 MiB,
#   XFS from HOME_SRC), and with `split` an empty LV "split" stored in two
#   runs (8+8 MiB, another LV was between them when it was extended).
#   Filesystem UUIDs from $BOOT_UUID, $ROOT_UUID, $HOME_UUID if set.
#   Writes the LVs' disk offsets to RAW.offsets ("root 12345").
lvm_guest_disk () {
  local raw=$1 boot=$2 root=$3 home=$4 split=${5:-} tmp loop lv off p2=$((33 << 20)) ext
  tmp=$(mktemp -d)
  rm -f "$raw"
  truncate -s 512M "$raw"
  sgdisk -o -n1:2048:+32M -t1:8300 -n2:67584:0 -t2:8e00 "$raw" >/dev/null || return 1
  lvm_fs_image "$tmp/boot" 32M ext4 "$boot" "${BOOT_UUID:-}" || return 1
  dd if="$tmp/boot" of="$raw" bs=1M seek=1 conv=notrunc status=none
  loop=$(lvm_pv_on "$raw" $p2 $(( (512 - 33 - 1) << 20 ))) || return 1
  LVM_DEVS=$loop
  { lvm_cmd pvcreate -q "$loop" && lvm_cmd vgcreate -q vg0 "$loop" &&
    lvm_cmd lvcreate -q -an -Zn -L 96M -n root vg0 &&
    lvm_cmd lvcreate -q -an -Zn -L 320M -n home vg0 &&
    if [ "$split" = split ]; then lvm_split_lv vg0 split 8M 8M; fi; } >/dev/null || { losetup -d "$loop"; return 1; }
  : > "$raw.offsets"
  for lv in root home; do
    off=$(( p2 + $(lvm_lv_offset vg0 $lv) ))
    echo "$lv $off" >> "$raw.offsets"
  done
  losetup -d "$loop"
  lvm_fs_image "$tmp/root" 96M ext4 "$root" "${ROOT_UUID:-}" || return 1
  lvm_fs_image "$tmp/home" 320M xfs "$home" "${HOME_UUID:-}" || return 1
  ext=$(awk '$1=="root"{print $2}' "$raw.offsets")
  dd if="$tmp/root" of="$raw" bs=1M seek=$((ext >> 20)) conv=notrunc status=none
  ext=$(awk '$1=="home"{print $2}' "$raw.offsets")
  dd if="$tmp/home" of="$raw" bs=1M seek=$((ext >> 20)) conv=notrunc status=none
  rm -rf "$tmp"
}

# lvm_test_requires: skip (exit 77, saying why) unless this machine can build
# and write LVM guests: root, qemu-img, qemu-storage-daemon, nbdfuse, sgdisk,
# lvm2, mkfs.xfs, python3, and a kernel that mounts XFS.  Needs
# tests/functions.sh.
lvm_test_requires () {
  requires_root
  requires qemu-img --version
  requires qemu-storage-daemon --version
  requires nbdfuse --version
  requires sgdisk --version
  requires pvcreate --version
  requires mkfs.xfs -V
  requires python3 --version
  grep -qw xfs /proc/filesystems ||
    { echo "SKIP: the kernel cannot mount XFS (needed to write the guest)" >&2; exit 77; }
}

# lvm_appliance_env: skip unless $OVSCAN has libguestfs and /boot has a
# kernel for its appliance; LIBGUESTFS_BACKEND_SETTINGS defaults to
# force_tcg (nested KVM does not work on the test machine; set it to "" to
# use KVM) and OVSCAN_FS_WALK to the helper built next to $OVSCAN.
lvm_appliance_env () {
  ldd "$OVSCAN" | grep -q libguestfs ||
    { echo "SKIP: ovscan was built without libguestfs" >&2; exit 77; }
  ls /boot/vmlinuz-* >/dev/null 2>&1 ||
    { echo "SKIP: no kernel in /boot for the libguestfs appliance (install linux-image-amd64)" >&2; exit 77; }
  export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}
  export OVSCAN_FS_WALK=${OVSCAN_FS_WALK:-$(dirname "$OVSCAN")/ovscan-fs-walk}
}

# lvm_write_round IMG OFFSET SIZE FSTYPE SEED OPS TAG [EICAR_REL]
#   One round of guest writes into an LV: serve IMG (guest_start, dirty
#   bitmaps record), mount the LV's bytes [OFFSET, +SIZE) through a loop
#   device at $T/lv, snapshot, run `$WORKLOAD run --seed SEED --ops OPS`,
#   write $eicar to $T/lv/EICAR_REL if given, snapshot, stop the guest;
#   ground truth in $T/truthTAG.json.  Needs tests/functions.sh and
#   tests/lib/guest.sh, $T/mnt and $T/lv directories, $WORKLOAD.
lvm_write_round () {
  local img=$1 off=$2 size=$3 fstype=$4 seed=$5 ops=$6 tag=$7 plant=${8:-} lvloop
  guest_start "$img" "$T/mnt" none || fail "guest_start ($tag)"
  lvloop=$(lvm_lv_loop "$(guest_dev "$T/mnt")" "$off" "$size") || fail "LV loop ($tag)"
  cleanup_fn "umount -q '$T/lv' 2>/dev/null; losetup -d $lvloop 2>/dev/null"
  mount -t "$fstype" "$lvloop" "$T/lv" || fail "mount LV ($tag)"
  python3 "$WORKLOAD" snapshot --root "$T/lv" --out "$T/before$tag.json"
  python3 "$WORKLOAD" run --seed "$seed" --root "$T/lv" --ops "$ops" >/dev/null
  if [ -n "$plant" ]; then
    mkdir -p "$(dirname "$T/lv/$plant")"; printf '%s' "$eicar" > "$T/lv/$plant"
  fi
  python3 "$WORKLOAD" snapshot --root "$T/lv" --out "$T/after$tag.json"
  umount "$T/lv"
  losetup -d "$lvloop"
  guest_stop "$T/mnt" || fail "guest_stop ($tag)"
  python3 "$WORKLOAD" diff "$T/before$tag.json" "$T/after$tag.json" --out "$T/truth$tag.json"
}

# lvm_poll_round TAG PREFIX [VAR=VALUE…]
#   Poll vm once (`${O[@]} poll vm --json --test-signatures`, run with the
#   given environment assignments) into $T/pollTAG.json and .err, print
#   the errors, set $status to its exit code, and fail unless every change
#   of $T/truthTAG.json under PREFIX is in the poll (100% recall).  Needs
#   O, T, $WORKLOAD and tests/functions.sh.
lvm_poll_round () {
  local tag=$1 prefix=$2
  shift 2
  set +e
  env "$@" "${O[@]}" poll vm --json --test-signatures > "$T/poll$tag.json" 2> "$T/poll$tag.err"
  status=$?
  set -e
  cat "$T/poll$tag.err"
  python3 "$WORKLOAD" check --truth "$T/truth$tag.json" --poll "$T/poll$tag.json" \
    --prefix "$prefix" || fail "round $tag: recall below 100%"
}
