#!/bin/bash
# backends: bad images fail with one clear message naming the image (and
# qemu-nbd's reason), never a hang, a crash, or qemu-nbd text on stderr
# outside our message.
source "$OVSCAN_SOURCE_DIR/tests/functions.sh"
requires qemu-img --version
requires qemu-nbd --version
: "${DISK_READ:?DISK_READ must point at the disk-read tool (ctest sets it)}"
cd "$T"

# expect_error MESSAGE-REGEX disk-read-args...: fails with exactly one line.
expect_error () {
  local want=$1; shift
  local rc=0
  timeout 60 "$DISK_READ" "$@" > out 2> err || rc=$?
  [ "$rc" -eq 1 ] || fail "disk-read $*: exit status $rc, expected 1 ($(cat err))"
  [ "$(wc -l < err)" -eq 1 ] || fail "disk-read $*: expected one line on stderr, got: $(cat err)"
  grep -Eq "^disk-read: $want\$" err || fail "disk-read $*: message '$(cat err)' does not match '$want'"
}

qemu-img create -q -f qcow2 good.qcow2 16M

expect_error 'missing\.qcow2: No such file or directory' missing.qcow2 size
mkdir adir
expect_error 'adir: Is a directory' adir size
expect_error "$T/missing/x\\.qcow2: No such file or directory" "$T/missing/x.qcow2" size

# A text file is no image format: qemu probes it as raw, a disk of one
# sector (qemu rounds up to 512 bytes; the tail reads as zeros).  That is
# not an error here; finding no filesystem on it is fsmap's business.
echo "just some text" > notes.txt
expect_eq "$("$DISK_READ" notes.txt size)" 512 "text file as raw: size"
"$DISK_READ" notes.txt raw 0 15 | cmp - <(echo "just some text") || fail "text file as raw: data"
# Asked to be qcow2, it is an error.
expect_error "notes\\.txt: qemu-nbd: Failed to blk_new_open '\\./notes\\.txt': Image is not in qcow2 format" \
  --format qcow2 notes.txt size

# Truncated qcow2: header cut short.
cp good.qcow2 short.qcow2; truncate -s 100 short.qcow2
expect_error "short\\.qcow2: qemu-nbd: .*qcow2 header too short" short.qcow2 size
expect_error "short\\.qcow2: qemu-nbd: .*qcow2 header too short" --format qcow2 short.qcow2 size

# Corrupt magic: with the format given, an error; probed, it is raw data.
cp good.qcow2 magic.qcow2
printf 'XXXX' | dd of=magic.qcow2 conv=notrunc status=none
expect_error "magic\\.qcow2: qemu-nbd: .*Image is not in qcow2 format" --format qcow2 magic.qcow2 size
expect_eq "$("$DISK_READ" magic.qcow2 size)" $(( ($(stat -c %s magic.qcow2) + 511) / 512 * 512 )) \
  "bad magic, probed: raw size (rounded up to a sector by qemu)"

# Unsupported version (bytes 4-7).
cp good.qcow2 version.qcow2
printf '\0\0\0\x63' | dd of=version.qcow2 bs=1 seek=4 conv=notrunc status=none
expect_error "version\\.qcow2: qemu-nbd: .*Unsupported qcow2 version 99" version.qcow2 size

# Absurd size field (bytes 24-31): 2^63.
cp good.qcow2 hugesize.qcow2
printf '\x80\0\0\0\0\0\0\0' | dd of=hugesize.qcow2 bs=1 seek=24 conv=notrunc status=none
expect_error "hugesize\\.qcow2: qemu-nbd: Failed to blk_new_open '\\./hugesize\\.qcow2': Image is too big" hugesize.qcow2 size

# Backing file missing.
qemu-img create -q -f qcow2 -u -b "$T/gone.qcow2" -F qcow2 orphan.qcow2 16M
expect_error "orphan\\.qcow2: qemu-nbd: .*Could not open backing file: Could not open '$T/gone\\.qcow2': No such file or directory" \
  orphan.qcow2 size

# A backing file name with terminal escapes is quoted in our message.
qemu-img create -q -f qcow2 -u -b "$T/evil"$'\e[2J'".qcow2" -F qcow2 evil.qcow2 16M
expect_error "evil\\.qcow2: qemu-nbd: .*Could not open '$T/evil\\\\x1b\\[2J\\.qcow2': No such file or directory" evil.qcow2 size

# A bitmap that is not there.
expect_error "good\\.qcow2: qemu-nbd: Bitmap 'nope' is not found" \
  --bitmap nope good.qcow2 size

# A meta context that was not asked for at open.
expect_error "good\\.qcow2: block status of qemu:allocation-depth over 16777216 bytes at offset 0: the NBD server did not agree to meta context qemu:allocation-depth .*" \
  good.qcow2 map qemu:allocation-depth

# Reads and block status past the end, and at offsets near 2^64.
expect_error "good\\.qcow2: read of 2 bytes at offset 16777215 is beyond the end of the disk \\(size 16777216\\)" \
  good.qcow2 raw 16777215 2
expect_error "good\\.qcow2: read of 2 bytes at offset 18446744073709551615 is beyond the end of the disk \\(size 16777216\\)" \
  good.qcow2 raw 18446744073709551615 2
expect_error "good\\.qcow2: block status of 1 bytes at offset 16777216 is beyond the end of the disk \\(size 16777216\\)" \
  good.qcow2 map base:allocation 16777216 1

# An image opened for writing by someone else (as a running VM holds it).
rm -f w.sock
qemu-nbd -f qcow2 -k "$T/w.sock" good.qcow2 2> /dev/null &
qpid=$!
cleanup_fn "kill $qpid 2> /dev/null"
for i in $(seq 100); do [ -S w.sock ] && break; sleep 0.1; done
expect_error "good\\.qcow2: qemu-nbd: .*Failed to get shared \"write\" lock; Is another process using the image .*" good.qcow2 size
kill $qpid; wait $qpid 2> /dev/null

# No qemu-nbd processes left behind by the failures above.
sleep 0.2
if pgrep -f "qemu-nbd --read-only.*$T" > /dev/null; then
  fail "qemu-nbd left running: $(pgrep -af "qemu-nbd --read-only.*$T")"
fi
# No stderr files left behind.
echo OK
