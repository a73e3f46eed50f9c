#!/bin/bash
# ovscan scan, end to end, on partitioned disks built with the real tools:
# GPT with ext4 (p1) + NTFS (p2), the NTFS one hiding EICAR in an alternate
# data stream; MBR with FAT32 (p1) + exFAT in a logical partition (p5) + swap
# (p6).  Asserts every detection at its exact "pN:/path[:stream]", nothing
# clean flagged, swap noted but not an error, exit status 1.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/images.sh"
requires_root
requires qemu-img --version
requires sgdisk --version
requires mkntfs --version
requires ntfs-3g --version
requires command -v mkfs.exfat
requires command -v mount.exfat-fuse
requires mcopy --version
[ -f "$TESTFILES/clam.exe" ] || { echo "SKIP: clamav-testfiles not installed" >&2; exit 77; }

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
normalise () { sed -E 's/\.UNOFFICIAL FOUND$/ FOUND/' | sort; }

# --- GPT: ext4 + NTFS with an ADS ---
images_tree "$T/ntfs"      # the NTFS builder links its dir/small
mkdir -p "$T/ext/var/www/uploads" "$T/ext/etc" "$T/ntfs/Users/Bob/Downloads" "$T/ntfs/Windows"
echo hostname > "$T/ext/etc/hostname"
cp "$TESTFILES/clam.exe.bz2" "$T/ext/var/www/uploads/update.bz2"
cp "$TESTFILES/clam.zip" "$T/ntfs/Users/Bob/Downloads/setup zip.zip"
cp /bin/true "$T/ntfs/Windows/notepad.exe"
echo "a clean document" > "$T/ntfs/Users/Bob/report.txt"
images_gpt_ext4_ntfs "$T/gpt.raw" "$T/ext" "$T/ntfs" || fail "building the GPT image"
# EICAR in an alternate data stream of a clean file.
loop=$(losetup -f --show -o $((67584 * 512)) --sizelimit $((32 << 20)) "$T/gpt.raw")
cleanup_fn "losetup -d $loop"
mkdir "$T/mnt"
ntfs-3g -o streams_interface=windows "$loop" "$T/mnt"
printf '%s' "$eicar" > "$T/mnt/Users/Bob/report.txt:Zone.Hidden"
umount "$T/mnt"
qemu-img convert -f raw -O qcow2 "$T/gpt.raw" "$T/gpt.qcow2"

set +e
"$OVSCAN" scan "$T/gpt.qcow2" --test-signatures > "$T/gpt.out" 2> "$T/gpt.err"
status=$?
set -e
cat "$T/gpt.out" "$T/gpt.err"
expect_eq "$status" 1 "GPT: exit status"
diff <(grep ' FOUND$' "$T/gpt.out" | normalise) <(sort <<'LIST'
p1:/var/www/uploads/update.bz2: Ovscan.Test.ClamExe FOUND
p2:/Users/Bob/Downloads/setup zip.zip: Ovscan.Test.ClamExe FOUND
p2:/Users/Bob/report.txt:Zone.Hidden: Ovscan.Test.EICAR FOUND
LIST
) || fail "GPT detections differ"
grep -q '^Filesystems: 2 scanned (p1 ext4, p2 ntfs)' "$T/gpt.out" || fail "GPT: summary"
[ ! -s "$T/gpt.err" ] || fail "GPT: unexpected errors"

# --- MBR: FAT32 + logical exFAT + swap ---
mkdir -p "$T/fat/DOCS/Deep/Er"
cp "$TESTFILES/clam-upx.exe" "$T/fat/DOCS/Deep/Er/packed.exe"
printf '%s' "$eicar" > "$T/fat/DOCS/eicar long name.txt"
echo clean > "$T/fat/DOCS/clean.txt"
images_mbr_fat_exfat "$T/mbr.raw" "$T/fat" || fail "building the MBR image"
set +e
"$OVSCAN" scan "$T/mbr.raw" --format raw --test-signatures > "$T/mbr.out" 2> "$T/mbr.err"
status=$?
set -e
cat "$T/mbr.out" "$T/mbr.err"
expect_eq "$status" 1 "MBR: exit status"
diff <(grep ' FOUND$' "$T/mbr.out" | normalise) <(sort <<'LIST'
p1:/DOCS/Deep/Er/packed.exe: Ovscan.Test.ClamExe FOUND
p1:/DOCS/eicar long name.txt: Ovscan.Test.EICAR FOUND
p5:/DOCS/Deep/Er/packed.exe: Ovscan.Test.ClamExe FOUND
p5:/DOCS/eicar long name.txt: Ovscan.Test.EICAR FOUND
LIST
) || fail "MBR detections differ"
grep -q '^Filesystems: 2 scanned (p1 fat32, p5 exfat)' "$T/mbr.out" || fail "MBR: summary"
grep -q '^Errors: 0$' "$T/mbr.out" || fail "MBR: swap must not count as an error"
echo PASS
