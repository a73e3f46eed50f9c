#!/bin/bash
# fsmap on partitioned disks built by the real tools:
#  GPT (sgdisk): p1 ext4, p2 NTFS (mkntfs + ntfs-3g) — labels "p1:"/"p2:",
#    every file's content equal to the source, the NTFS alternate data
#    stream "p2:/f.txt:hidden" found and read, NTFS hard link merged;
#  MBR (sfdisk): p1 FAT32 (mtools), p2 extended holding p5 exFAT (exfat-fuse)
#    and p6 swap — Linux numbering of logical partitions, every file right,
#    swap reported with not_scanned_ok and a reason, no extended container;
#  a partition table entry past the end of the disk: that partition has an
#    error naming it and its offsets, the others are still read.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/images.sh"
: "${FSMAP_DUMP:?FSMAP_DUMP must point at fsmap-dump (ctest sets it)}"
requires qemu-img --version
requires sgdisk --version
requires sfdisk --version
requires mkntfs --version
requires ntfs-3g --version
requires mcopy --version
requires command -v mkfs.exfat
requires_root
command -v mount.exfat-fuse >/dev/null || { echo "SKIP: exfat-fuse not installed" >&2; exit 77; }

images_tree "$T/src"

# --- GPT: ext4 + NTFS -------------------------------------------------------
images_gpt_ext4_ntfs "$T/gpt.img" "$T/src" "$T/src" || fail "building the GPT disk"
qemu-img convert -f raw -O qcow2 "$T/gpt.img" "$T/gpt.qcow2"
mkdir "$T/xg"
"$FSMAP_DUMP" --extract "$T/xg" "$T/gpt.qcow2" > "$T/gdump" || fail "fsmap-dump gpt"
grep -q $'^fs\t0\tp1\text4\t1048576\t' "$T/gdump" || fail "p1 ext4: $(grep ^fs "$T/gdump")"
grep -q $'^fs\t1\tp2\tntfs\t34603008\t' "$T/gdump" || fail "p2 ntfs: $(grep ^fs "$T/gdump")"
grep -q '^error' "$T/gdump" && fail "unexpected errors: $(grep '^error' "$T/gdump")"
images_expect_tree "$T/gdump" "$T/xg" "$T/src" "p1:" || fail "p1 tree"
images_expect_tree "$T/gdump" "$T/xg" "$T/src" "p2:" || fail "p2 tree"
n=$(awk -F'\t' '$1=="path" && $3=="p2:/f.txt:hidden" {print $2}' "$T/gdump")
[ -n "$n" ] || fail "ADS p2:/f.txt:hidden not found"
expect_eq "$(cat "$T/xg/$n")" "alternate data stream content" "ADS content"
grep -P "^file\t$n\t" "$T/gdump" | grep -q 'stream=hidden' || fail "ADS stream name"
n=$(awk -F'\t' '$1=="path" && $3=="p2:/hl" {print $2}' "$T/gdump")
m=$(awk -F'\t' '$1=="path" && $3=="p2:/dir/small" {print $2}' "$T/gdump")
[ -n "$n" ] && [ "$n" = "$m" ] || fail "NTFS hard link not merged ($n vs $m)"

# --- MBR: FAT32 + extended(exFAT, swap) ------------------------------------
images_mbr_fat_exfat "$T/mbr.img" "$T/src" || fail "building the MBR disk"
mkdir "$T/xm"
"$FSMAP_DUMP" --format raw --extract "$T/xm" "$T/mbr.img" > "$T/mdump" || fail "fsmap-dump mbr"
grep -q $'^fs\t0\tp1\tfat32\t1048576\t' "$T/mdump" || fail "p1 fat32: $(grep ^fs "$T/mdump")"
grep -q $'^fs\t1\tp5\texfat\t45088768\t' "$T/mdump" || fail "p5 exfat: $(grep ^fs "$T/mdump")"
grep -P '^fs\t2\tp6\tswap\t' "$T/mdump" | grep -qP '\t1\t[^\t]*swap' || fail "p6 swap: $(grep ^fs "$T/mdump")"
expect_eq "$(grep -c '^fs' "$T/mdump")" 3 "volumes (no extended container)"
grep -q '^error' "$T/mdump" && fail "unexpected errors: $(grep '^error' "$T/mdump")"
# FAT has no hard links or holes: mcopy wrote two copies and a full file.
images_expect_tree "$T/mdump" "$T/xm" "$T/src" "p1:" || fail "p1 FAT tree"
images_expect_tree "$T/mdump" "$T/xm" "$T/src" "p5:" || fail "p5 exFAT tree"

# --- A partition past the end of the disk ----------------------------------
cp "$T/mbr.img" "$T/bad.img"
# Slot 3 (p3): start sector 10,000,000 (past the 80 MiB disk), 2048 sectors.
printf '\x83' | dd of="$T/bad.img" bs=1 seek=$((446 + 32 + 4)) conv=notrunc status=none
printf '\x80\x96\x98\x00\x00\x08\x00\x00' | dd of="$T/bad.img" bs=1 seek=$((446 + 32 + 8)) conv=notrunc status=none
"$FSMAP_DUMP" --format raw "$T/bad.img" > "$T/bdump" || fail "fsmap-dump bad table"
grep -P '^fs\t\d+\tp3\t' "$T/bdump" | grep -q 'partition 3: start byte 5120000000' ||
  fail "p3 past the end not reported: $(grep ^fs "$T/bdump")"
grep -q $'^path\t[0-9]*\tp1:/f.txt' "$T/bdump" || fail "p1 not read next to the bad p3"
grep -q $'^path\t[0-9]*\tp5:/f.txt' "$T/bdump" || fail "p5 not read next to the bad p3"
echo PASS
