# ovscan — builders of real disk images for the integration tests (source this).
# Every image is made by the real tools (mkfs.*, sgdisk/sfdisk, ntfs-3g,
# mtools, exfat-fuse); nothing is faked.  Functions take the output path
# first; they fail (return non-zero) rather than skip — callers `requires`
# the tools they use.
#
#   images_tree SRC [posix]     a source tree: nested dirs, a 300 KB random
#                               file, an empty file, a sparse file with data
#                               after a 1 MiB hole, a hard link; with `posix`
#                               also names with a newline and an invalid
#                               UTF-8 byte and a path of ~4000 bytes.
#   images_ext4 IMG SRC [SIZE] [MKFS_OPTS…]   partitionless ext4 (mkfs.ext4 -d)
#   images_ntfs_fill IMG SRC    mkntfs a file-backed volume, copy SRC in
#                               through ntfs-3g, add ADS "f.txt:hidden",
#                               hard link "d/small" <-> "hl"
#   images_gpt_ext4_ntfs IMG SRC_EXT SRC_NTFS
#                               GPT: p1 ext4 (32 MiB at 1 MiB), p2 NTFS
#                               (32 MiB at 33 MiB)
#   images_mbr_fat_exfat IMG SRC
#                               MBR: p1 FAT32 (40 MiB), p2 extended with
#                               p5 exFAT (16 MiB) and p6 Linux swap (4 MiB)
#   images_expect_tree DUMP XDIR SRC PREFIX
#                               every regular file of SRC (plain names) has
#                               path PREFIX/rel in DUMP (fsmap-dump output)
#                               and its content equals the extracted copy

images_tree () {
  local src=$1 posix=${2:-}
  mkdir -p "$src/dir/sub/deeper" "$src/empty dir"
  echo "hello world" > "$src/f.txt"
  head -c 300000 /dev/urandom > "$src/dir/big.bin"
  : > "$src/dir/empty"
  printf 'x' > "$src/dir/sub/deeper/one-byte"
  echo "small file" > "$src/dir/small"
  # data, a hole of 1 MiB, then data again
  printf 'head' > "$src/dir/sparse"
  dd if=/dev/urandom of="$src/dir/sparse" bs=4096 count=3 seek=256 conv=notrunc status=none
  ln "$src/dir/small" "$src/hardlink"
  if [ "$posix" = posix ]; then
    echo "newline" > "$src/dir/new"$'\n'"line"
    echo "invalid" > "$src/dir/bad"$'\xff'"name"
    local long="$src/long" i
    for i in $(seq 1 15); do
      long="$long/$(printf 'd%.0s' $(seq 1 250))"
    done
    mkdir -p "$long"
    echo "deep" > "$long/leaf"
  fi
}

images_ext4 () {
  local img=$1 src=$2 size=${3:-64M}
  shift 3 2>/dev/null || shift $#
  rm -f "$img"
  mkfs.ext4 -q -F -d "$src" "$@" "$img" "$size"
}

images_ntfs_fill () {
  local img=$1 src=$2 mnt
  mnt=$(mktemp -d)
  rm -f "$img"
  truncate -s 32M "$img"
  mkntfs -q -F -f "$img" >/dev/null 2>&1 || return 1
  ntfs-3g -o streams_interface=windows "$img" "$mnt" || return 1
  cp -r "$src"/. "$mnt"/ &&
  echo "alternate data stream content" > "$mnt/f.txt:hidden" &&
  ln "$mnt/dir/small" "$mnt/hl"
  local rc=$?
  umount "$mnt"; rmdir "$mnt"
  return $rc
}

images_gpt_ext4_ntfs () {
  local img=$1 src_ext=$2 src_ntfs=$3 tmp
  tmp=$(mktemp -d)
  rm -f "$img"
  truncate -s 80M "$img"
  sgdisk -o -n1:2048:+32M -t1:8300 -n2:67584:+32M -t2:0700 "$img" >/dev/null || return 1
  images_ext4 "$tmp/p1" "$src_ext" 32M || return 1
  images_ntfs_fill "$tmp/p2" "$src_ntfs" || return 1
  dd if="$tmp/p1" of="$img" bs=512 seek=2048 conv=notrunc status=none
  dd if="$tmp/p2" of="$img" bs=512 seek=67584 conv=notrunc status=none
  rm -rf "$tmp"
}

images_mbr_fat_exfat () {
  local img=$1 src=$2 tmp loop mnt
  tmp=$(mktemp -d)
  rm -f "$img"
  truncate -s 80M "$img"
  sfdisk -q "$img" >/dev/null <<'EOF' || return 1
label: dos
start=2048, size=81920, type=c
start=86016, size=65536, type=5
start=88064, size=32768, type=7
start=122880, size=8192, type=82
EOF
  truncate -s 40M "$tmp/fat"
  mkfs.vfat -F 32 "$tmp/fat" >/dev/null || return 1
  mcopy -s -i "$tmp/fat" "$src"/* ::/ || return 1
  truncate -s 16M "$tmp/exfat"
  mkfs.exfat "$tmp/exfat" >/dev/null || return 1
  loop=$(losetup -f --show "$tmp/exfat") || return 1
  mkdir "$tmp/mnt"
  if mount.exfat-fuse "$loop" "$tmp/mnt" >/dev/null 2>&1; then
    cp -r "$src"/. "$tmp/mnt"/; umount "$tmp/mnt"
  else
    losetup -d "$loop"; return 1
  fi
  losetup -d "$loop"
  truncate -s 4M "$tmp/swap"
  mkswap "$tmp/swap" >/dev/null || return 1
  dd if="$tmp/fat" of="$img" bs=512 seek=2048 conv=notrunc status=none
  dd if="$tmp/exfat" of="$img" bs=512 seek=88064 conv=notrunc status=none
  dd if="$tmp/swap" of="$img" bs=512 seek=122880 conv=notrunc status=none
  rm -rf "$tmp"
}

images_expect_tree () {
  local dump=$1 xdir=$2 src=$3 prefix=$4 rel n count=0
  declare -A index=()
  while IFS=$'\t' read -r tag n p; do
    [ "$tag" = path ] && index["$p"]=$n
  done < "$dump"
  while IFS= read -r -d '' rel; do
    rel=${rel#./}
    case "$rel" in *[![:print:]]*) continue ;; esac   # checked by the caller
    n=${index["$prefix/$rel"]:-}
    [ -n "$n" ] || { echo "FAIL: $prefix/$rel not found by fsmap" >&2; return 1; }
    cmp -s "$src/$rel" "$xdir/$n" ||
      { echo "FAIL: $prefix/$rel: content read through fsmap differs" >&2; return 1; }
    count=$((count + 1))
  done < <(cd "$src" && find . -type f -print0)
  echo "checked $count files under $prefix" >&2
  [ "$count" -gt 0 ]
}
