#!/bin/bash
# fsmap on crafted, hostile disks: nothing crashes or hangs (each run under
# `timeout`; run this test from the sanitizer build too), each problem comes
# through the error callback naming label, type and inode, and the rest of
# the filesystem is still walked and read right.
#  - ext4, corrupted with debugfs: an extent pointing past the filesystem's
#    end, an extent header with an absurd depth, a file size of 2^63-1, a
#    directory loop (an entry in /dir/sub pointing back to /dir);
#  - NTFS: the run list of a non-resident $DATA overwritten with garbage;
#  - garbage where the ext4 superblock should be; an all-random disk.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/images.sh"
: "${FSMAP_DUMP:?FSMAP_DUMP must point at fsmap-dump (ctest sets it)}"
requires debugfs -V
requires python3 --version

# Under ASan: TSK 4.11 itself leaks one block buffer when an ext4 extent
# tree is corrupt (allocated below tsk_fs_file_attr_getsize, freed by no
# error path of TSK's).  Suppress exactly that stack; our own leaks (a TSK
# file or dir not closed) have other stacks and stay fatal.
echo "leak:tsk_fs_file_attr_getsize" > "$T/lsan.supp"
export LSAN_OPTIONS="suppressions=$T/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"   # libtsk has no frame pointers

dump () {   # dump IMG OUT XDIR: fsmap-dump must exit 0 or 3 (a read error), never crash
  local rc=0
  mkdir -p "$3"
  timeout 120 "$FSMAP_DUMP" --format raw --extract "$3" "$1" > "$2" 2> "$2.err" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "fsmap-dump on $1 exited $rc: $(tail -5 "$2.err")"
}

images_tree "$T/src"
mkdir -p "$T/src/clean"; echo "still read" > "$T/src/clean/witness"

# --- ext4 corruptions ---------------------------------------------------------
images_ext4 "$T/e.img" "$T/src" 32M >/dev/null 2>&1 || fail mkfs
ino_big=$(debugfs -R "stat /dir/big.bin" "$T/e.img" 2>/dev/null | awk '/^Inode:/ {print $2}')
ino_small=$(debugfs -R "stat /dir/small" "$T/e.img" 2>/dev/null | awk '/^Inode:/ {print $2}')
debugfs -w -f - "$T/e.img" >/dev/null 2>&1 <<'EOF'
sif /dir/big.bin block[5] 0xfffffff0
sif /dir/small block[1] 0xffff0004
sif /dir/sub/deeper/one-byte size 0x7fffffffffffffff
ln /dir /dir/sub/loop
EOF
debugfs -R "ls /dir/sub" "$T/e.img" 2>/dev/null | grep -q loop || fail "setup: loop entry not made"
dump "$T/e.img" "$T/ed" "$T/ex"
grep -P "^error\t\t.*ext4.*inode $ino_big " "$T/ed" | grep -q 'outside the filesystem' ||
  fail "extent past the end not reported: $(grep ^error "$T/ed")"
grep -P "^error\t\t.*ext4.*inode $ino_small " "$T/ed" > /dev/null ||
  fail "corrupt extent header not reported: $(grep ^error "$T/ed")"
grep -P '^error\t\t.*directory loop' "$T/ed" > /dev/null || fail "loop not reported: $(grep ^error "$T/ed")"
n=$(awk -F'\t' '$1=="path" && $3=="/clean/witness" {print $2}' "$T/ed")
[ -n "$n" ] && cmp -s "$T/xx/$n" "$T/src/clean/witness" 2>/dev/null || cmp -s "$T/ex/$n" "$T/src/clean/witness" ||
  fail "the rest of the ext4 fs was not walked"
# The 2^63-1 sized file: rejected with an error or bounded, never a crash.
grep -qP "^error.*one-byte|^path\t[0-9]+\t/dir/sub/deeper/one-byte" "$T/ed" || fail "huge file vanished silently"

# --- NTFS broken run list -----------------------------------------------------
requires mkntfs --version
requires ntfs-3g --version
if [ "$(id -u)" -eq 0 ]; then
  images_ntfs_fill "$T/n.img" "$T/src" || fail "ntfs"
  python3 - "$T/n.img" <<'EOF' || fail "setup: could not corrupt the NTFS run list"
import sys, struct
data = bytearray(open(sys.argv[1], 'rb').read())
name = 'big.bin'.encode('utf-16-le')
done = False
for rec in range(0, len(data) - 1024, 1024):
    if data[rec:rec+4] != b'FILE' or name not in data[rec:rec+1024]:
        continue
    off = struct.unpack_from('<H', data, rec + 0x14)[0]
    while off < 1024 - 16:
        atype, alen = struct.unpack_from('<II', data, rec + off)
        if atype == 0xffffffff or alen == 0:
            break
        if atype == 0x80 and data[rec + off + 8] == 1:       # non-resident $DATA
            rl = struct.unpack_from('<H', data, rec + off + 0x20)[0]
            p = rec + off + rl
            # length 8 bytes, offset 8 bytes: absurd values
            data[p:p+17] = b'\x88' + b'\xff' * 8 + b'\x7f' * 8
            done = True
            break
        off += alen
    if done:
        break
open(sys.argv[1], 'wb').write(data)
sys.exit(0 if done else 1)
EOF
  dump "$T/n.img" "$T/nd" "$T/nx"
  grep -P '^error\t\t.*ntfs' "$T/nd" > /dev/null || fail "broken NTFS run list not reported: $(cat "$T/nd")"
  n=$(awk -F'\t' '$1=="path" && $3=="/clean/witness" {print $2}' "$T/nd")
  [ -n "$n" ] && cmp -s "$T/nx/$n" "$T/src/clean/witness" || fail "rest of NTFS not walked"
fi

# --- garbage superblock, random disk -------------------------------------------
images_ext4 "$T/g.img" "$T/src" 32M >/dev/null 2>&1 || fail mkfs
dd if=/dev/urandom of="$T/g.img" bs=1024 seek=1 count=1 conv=notrunc status=none
dump "$T/g.img" "$T/gd" "$T/gx"
grep -P '^fs\t0\t\t\t0\t.*no filesystem recognised' "$T/gd" > /dev/null || fail "garbage superblock: $(cat "$T/gd")"
head -c 8M /dev/urandom > "$T/r.img"
dump "$T/r.img" "$T/rd" "$T/rx"
grep -q '^fs' "$T/rd" || fail "random disk: no volume line"
echo PASS
