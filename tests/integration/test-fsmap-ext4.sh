#!/bin/bash
# fsmap on a partitionless ext4 disk (qcow2, through ov_disk_open/qemu-nbd),
# driven directly by tests/tools/fsmap-dump:
#  - every regular file of the source tree is found at its path and its
#    content read through ov_file_pread equals the source (cmp);
#  - hard links are one file with two paths; the sparse file has a sparse
#    run and reads right after its hole;
#  - names with a newline / invalid UTF-8 come out quoted, a ~4000-byte path
#    is found;
#  - ext4 inline data (mkfs -O inline_data) reads right as a resident run;
#  - an unlinked-but-open file (captured from a frozen, mounted fs) is an
#    orphan "/$OrphanFiles/inode-N" with the right content.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/images.sh"
: "${FSMAP_DUMP:?FSMAP_DUMP must point at fsmap-dump (ctest sets it)}"
requires qemu-img --version
requires mkfs.ext4 -V

images_tree "$T/src" posix
images_ext4 "$T/raw.img" "$T/src" 64M || fail "mkfs.ext4"
qemu-img convert -f raw -O qcow2 "$T/raw.img" "$T/disk.qcow2"

mkdir "$T/x"
"$FSMAP_DUMP" --extract "$T/x" "$T/disk.qcow2" > "$T/dump" || fail "fsmap-dump exit $?"
grep -q $'^fs\t0\t\text4\t' "$T/dump" || fail "no partitionless ext4 volume: $(head -3 "$T/dump")"
grep -q '^error' "$T/dump" && fail "unexpected errors: $(grep '^error' "$T/dump")"
images_expect_tree "$T/dump" "$T/x" "$T/src" "" || fail "tree differs"

# Hard link: one file, both paths.
n=$(awk -F'\t' '$1=="path" && $3=="/hardlink" {print $2}' "$T/dump")
m=$(awk -F'\t' '$1=="path" && $3=="/dir/small" {print $2}' "$T/dump")
[ -n "$n" ] && [ "$n" = "$m" ] || fail "hard link not merged ($n vs $m)"
expect_eq "$(awk -F'\t' -v n="$n" '$1=="path" && $2==n' "$T/dump" | wc -l)" 2 "paths of the hard link"

# Sparse file: a sparse run, and data after the hole.
n=$(awk -F'\t' '$1=="path" && $3=="/dir/sparse" {print $2}' "$T/dump")
awk -F'\t' -v n="$n" '$1=="file" && $2==n {print $7}' "$T/dump" | grep -q 'sparse@' ||
  fail "sparse file has no sparse run: $(grep -P "^file\t$n\t" "$T/dump")"

# Hostile names: quoted in the dump, content right.
for q in '/dir/new\nline' '/dir/bad\xffname'; do
  n=$(Q=$q awk -F'\t' '$1=="path" && $3==ENVIRON["Q"] {print $2}' "$T/dump")
  [ -n "$n" ] || fail "name $q not found"
done
n=$(awk -F'\t' '$1=="path" && $3=="/dir/new\\nline" {print $2}' "$T/dump")
cmp -s "$T/x/$n" "$T/src/dir/new"$'\n'"line" || fail "newline name content"
long=$(cd "$T/src" && find . -name leaf | sed 's/^\.//')
[ "${#long}" -gt 3700 ] || fail "test setup: long path only ${#long} bytes"
grep -qF "$long" "$T/dump" || fail "long path (${#long} bytes) not found"

# --cat reads one file by its raw path.
"$FSMAP_DUMP" --cat /dir/big.bin "$T/disk.qcow2" | cmp -s - "$T/src/dir/big.bin" || fail "--cat"

# Inline data (small files stored inside the inode).
mkdir "$T/isrc"; echo "inline content" > "$T/isrc/tiny"; printf 'z%.0s' $(seq 1 100) > "$T/isrc/hundred"
images_ext4 "$T/inline.img" "$T/isrc" 16M -O inline_data || fail "mkfs inline"
mkdir "$T/xi"
"$FSMAP_DUMP" --format raw --extract "$T/xi" "$T/inline.img" > "$T/idump" || fail "inline dump"
images_expect_tree "$T/idump" "$T/xi" "$T/isrc" "" || fail "inline tree"
grep -P '^file\t' "$T/idump" | grep -q 'resident@0' || fail "inline data not resident: $(cat "$T/idump")"

# Unlinked-but-open file: needs a loop mount.
if [ "$(id -u)" -eq 0 ] && command -v fsfreeze >/dev/null; then
  mkdir "$T/o" "$T/mnt"; echo seed > "$T/o/seed"
  images_ext4 "$T/orphan.img" "$T/o" 32M -O ^has_journal || fail "mkfs orphan"
  mount -o loop "$T/orphan.img" "$T/mnt" || fail "mount"
  cleanup_fn "umount '$T/mnt' 2>/dev/null"
  head -c 70000 /dev/urandom > "$T/orphan-content"
  cp "$T/orphan-content" "$T/mnt/victim"
  exec 9<"$T/mnt/victim"
  rm "$T/mnt/victim"
  sync; fsfreeze -f "$T/mnt"
  cp --sparse=always "$T/orphan.img" "$T/orphan-copy.img"
  fsfreeze -u "$T/mnt"; exec 9<&-; umount "$T/mnt"
  mkdir "$T/xo"
  "$FSMAP_DUMP" --format raw --extract "$T/xo" "$T/orphan-copy.img" > "$T/odump" || fail "orphan dump"
  n=$(awk -F'\t' '$1=="path" && $3 ~ /^\/\$OrphanFiles\/inode-[0-9]+$/ {print $2}' "$T/odump")
  [ -n "$n" ] || fail "unlinked-but-open file not reported: $(cat "$T/odump")"
  grep -P "^file\t$n\t" "$T/odump" | grep -q orphan || fail "orphan flag"
  cmp -s "$T/xo/$n" "$T/orphan-content" || fail "orphan content"
else
  echo "note: orphan check skipped (needs root and fsfreeze)" >&2
fi
echo PASS
