#!/bin/bash
# ext4 journal replay (fsmap/ext_journal.h) on journals the kernel wrote.
#
# Part A, images copied WHILE MOUNTED (ext4 data=ordered with 4 KiB blocks,
# ext4 data=journal with 1 KiB blocks, ext3 without journal features): the
# kernel writes files (a new EICAR in a new directory, rewrites, a rename,
# a delete, a removed directory: a revoke record except with data=journal),
# commits them with fsync (sync would write every dirty block home) and the
# image file is copied before any writeback, so the copy has RECOVER set and
# committed transactions whose blocks exist only in the journal.  The test first
# proves that (dumpe2fs: needs_recovery; debugfs logdump: commit blocks;
# the un-replayed view read by debugfs lacks the EICAR or differs in
# content), else it FAILS.  Ground truth: e2fsck -fy on another copy
# (replays), extracted with debugfs rdump.  Asserts:
#   - fsmap (fsmap-dump: the walk + ov_file_pread, the scanner's path)
#     lists exactly the replayed tree's files, each with its sha256 (incl.
#     a file whose first block starts with the jbd2 magic: data=journal
#     stores it escaped);
#   - `ovscan scan` lists the same paths and sizes, finds the EICAR whose
#     inode and directory entry exist only in the journal, and the rewritten
#     file whose new content (EICAR) is only in the journal (data=journal).
# A partitioned disk (ext4 in p1 at 1 MiB): replayed the same way.
# Journals not replayed (a damaged journal superblock, an external journal
# device): the filesystem is read as on the disk and the reason is given.
# Part B, live polls over QMP (qemu-storage-daemon + kernel ext4): full
# poll, then writes (new EICAR, rewrite, rename, delete), fsync (commit),
# incremental poll while mounted: the changes are listed, the EICAR
# found, the metadata pass stays targeted (no fallback for "the journal
# needs recovery"), and the state's files (paths, sizes) are the guest's.
source "$(dirname "$0")/../functions.sh"
requires_root
requires mkfs.ext4 -V
requires e2fsck -V
requires debugfs -V
requires python3 --version
requires sfdisk --version
requires qemu-storage-daemon --version
requires nbdfuse --version
: "${FSMAP_DUMP:?FSMAP_DUMP must point at fsmap-dump (ctest sets it)}"

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

# sha256 + path of every regular file under DIR, sorted.
tree_hashes () {
  (cd "$1" && find . -type f -printf '%P\0' | xargs -0 -r sha256sum |
     sed 's#  #  /#' | LC_ALL=C sort -k2)
}

# DISK OUTFILE: "sha256  /path" of every file fsmap lists, read through
# ov_file_pread.
fsmap_hashes () {
  local x=$T/extract.$$
  rm -rf "$x"; mkdir -p "$x"
  "$FSMAP_DUMP" --extract "$x" "$1" > "$x.list" || fail "fsmap-dump $1"
  python3 - "$x" "$x.list" > "$2" <<'PY'
import hashlib, os, sys
d, lst = sys.argv[1], sys.argv[2]
out = []
for line in open(lst, "rb"):
    f = line.rstrip(b"\n").split(b"\t")
    if f[0] == b"path":
        h = hashlib.sha256(open(os.path.join(d, f[1].decode()), "rb").read()).hexdigest()
        out.append("%s  %s" % (h, f[2].decode()))
print("\n".join(sorted(out, key=lambda s: s[66:].encode())))
PY
}

# One offline case: MOUNT_OPTS NAME MKFS MKFS_OPTS…
offline_case () {
  local opts=$1 name=$2 mkfs=$3
  shift 3
  local img=$T/$name.img mnt=$T/mnt-$name attempt
  mkdir -p "$T/src-$name/etc" "$T/src-$name/data" "$mnt"
  for i in $(seq 1 40); do echo "base file $i" > "$T/src-$name/data/b$i.txt"; done
  head -c 300000 /dev/urandom > "$T/src-$name/data/big.bin"
  echo "clean text" > "$T/src-$name/etc/rewritten.txt"
  "$mkfs" -q -F "$@" -d "$T/src-$name" "$img" 256M || fail "mkfs $name"
  mount -o "loop,$opts" "$img" "$mnt" || fail "mount $name"
  cleanup_fn "umount '$mnt' 2>/dev/null"
  sync                                           # the base is checkpointed
  for attempt in 1 2 3 4 5; do
    # A directory committed (syncfs), then removed: its block is freed
    # with a revoke record (not with data=journal: no revokes there).
    mkdir "$mnt/gone$attempt"; echo x > "$mnt/gone$attempt/x"; sync -f "$mnt"
    rm -r "$mnt/gone$attempt"
    mkdir -p "$mnt/new$attempt/deep"
    printf '%s' "$eicar" > "$mnt/new$attempt/deep/eicar$attempt.com"
    for i in $(seq 1 30); do echo "journal-only $attempt $i" > "$mnt/new$attempt/n$i"; done
    # A block starting with the journal's magic: data=journal stores it
    # escaped (first 4 bytes zeroed) and the replay must restore them.
    { printf '\xc0\x3b\x39\x98'; head -c 5000 /dev/urandom; } > "$mnt/new$attempt/magic.bin"
    printf '%s' "$eicar" > "$mnt/etc/rewritten.txt"    # rewritten in place
    head -c 300000 /dev/urandom | dd of="$mnt/data/big.bin" conv=notrunc status=none
    mv "$mnt/data/b$attempt.txt" "$mnt/data/renamed$attempt.txt"
    rm -f "$mnt/data/b$((attempt + 10)).txt"
    # fsync (not sync: that would write every dirty block home): the data
    # reaches the disk (delayed allocation) and the running transaction,
    # with every change above, commits; its blocks are not written back yet.
    sync "$mnt/new$attempt/deep/eicar$attempt.com" "$mnt/etc/rewritten.txt" \
      "$mnt/data/big.bin" "$mnt/new$attempt"/n* "$mnt/new$attempt/magic.bin"
    cp --sparse=always "$img" "$T/$name-copy.img"
    # Proof the copy holds journal-only state (an outside `sync` may have
    # written it back: then try again).
    cp --sparse=always "$T/$name-copy.img" "$T/$name-fixed.img"
    rc=0
    e2fsck -fy "$T/$name-fixed.img" > /dev/null 2>&1 || rc=$?
    [ $rc -le 1 ] || fail "$name: e2fsck of the copy failed ($rc)"
    rm -rf "$T/stale-$name" "$T/truth-$name"
    mkdir -p "$T/stale-$name" "$T/truth-$name"
    debugfs -R "rdump / $T/stale-$name" "$T/$name-copy.img" > /dev/null 2>&1
    debugfs -R "rdump / $T/truth-$name" "$T/$name-fixed.img" > /dev/null 2>&1
    tree_hashes "$T/truth-$name" > "$T/truth-$name.txt"
    tree_hashes "$T/stale-$name" > "$T/stale-$name.txt"
    if ! cmp -s "$T/truth-$name.txt" "$T/stale-$name.txt"; then break; fi
    echo "$name: attempt $attempt: the copy was already checkpointed; again" >&2
  done
  umount "$mnt" || fail "umount $name"
  cmp -s "$T/truth-$name.txt" "$T/stale-$name.txt" &&
    fail "$name: could not produce a copy with journal-only changes"
  dumpe2fs -h "$T/$name-copy.img" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery' ||
    fail "$name: the copy does not need recovery"
  [ "$(debugfs -R logdump "$T/$name-copy.img" 2>/dev/null | grep -c 'commit block')" -ge 1 ] ||
    fail "$name: no committed transaction in the copy's journal"
  if grep -q "eicar$attempt.com\$" "$T/stale-$name.txt"; then
    echo "$name: note: the EICAR's entry reached its home block already" >&2
  fi
  grep -q "eicar$attempt.com\$" "$T/truth-$name.txt" || fail "$name: truth lacks the EICAR"
  if [ "$name" = datajournal ]; then            # an escaped copy is in the log
    debugfs -R "logdump -a" "$T/$name-copy.img" 2>/dev/null |
      grep -q "flags 0x[0-9a-f]*[13579bdf])" || fail "$name: no escaped block in the journal"
  fi
  echo "$name: un-replayed view differs from the replayed one in" \
    "$(diff "$T/truth-$name.txt" "$T/stale-$name.txt" | grep -c '^[<>]') lines"

  # fsmap reads the replayed view: same files, same content.
  "$FSMAP_DUMP" "$T/$name-copy.img" > "$T/$name-dump.txt" || fail "fsmap-dump"
  grep "^journal" "$T/$name-dump.txt" >&2
  grep -q "^journal	.*	1	[1-9][0-9]*	.*journal replayed" "$T/$name-dump.txt" ||
    fail "$name: no complete replay reported"
  if [ "$name" != datajournal ]; then
    grep -q "^journal	.* [1-9][0-9]* revoke record" "$T/$name-dump.txt" ||
      fail "$name: no revoke record replayed"
  fi
  fsmap_hashes "$T/$name-copy.img" "$T/$name-fsmap.txt"
  grep -v ' /lost+found' "$T/truth-$name.txt" > "$T/truth-$name.cmp"
  diff "$T/$name-fsmap.txt" "$T/truth-$name.cmp" ||
    fail "$name: fsmap's files/content differ from the replayed filesystem's"

  # ovscan scan: same paths and sizes; both EICARs found.
  status=0
  "$OVSCAN" scan "$T/$name-copy.img" --test-signatures --json > "$T/$name-scan.json" \
    2> "$T/$name-scan.err" || status=$?
  cat "$T/$name-scan.err"
  expect_eq "$status" 1 "$name: scan exit status"
  python3 - "$T/$name-scan.json" "$T/truth-$name" "$attempt" <<'PY' || fail "$name: scan differs from the replayed tree"
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
root, attempt = sys.argv[2], sys.argv[3]
files = {p: r for r in recs if r["type"] == "file" for p in r["paths"]}
want = {}
for d, _, names in os.walk(root):
    for n in names:
        p = os.path.join(d, n)
        rel = "/" + os.path.relpath(p, root)
        if not rel.startswith("/lost+found"):
            want[rel] = os.stat(p).st_size
got = {p: r["size"] for p, r in files.items()}
assert got == want, (sorted(set(got) ^ set(want)), [p for p in got if p in want and got[p] != want[p]])
for p in ("/new%s/deep/eicar%s.com" % (attempt, attempt), "/etc/rewritten.txt"):
    assert files[p]["verdict"] == "infected", (p, files[p])
    assert files[p]["signature"].startswith("Ovscan.Test.EICAR"), files[p]
assert recs[-1]["errors"] == 0 and recs[-1]["metadata_errors"] == 0, recs[-1]
print("scan:", len(files), "paths, as the replayed filesystem has them")
PY
  echo "offline case $name: ok"
}

offline_case "commit=1" ordered mkfs.ext4 -b 4096
offline_case "data=journal,commit=1" datajournal mkfs.ext4 -b 1024 -J size=16
# ext3: no journal features (8-byte tags, 4-byte revoke records, no
# checksums), the journal inode mapped by indirect blocks.
offline_case "commit=1" ext3 mkfs.ext3 -b 4096

# ---- A partitioned disk: the journal of p1 (at 1 MiB) replayed ----
truncate -s 300M "$T/pdisk.img"
printf 'label: dos\nstart=2048, size=409600, type=83\n' | sfdisk -q "$T/pdisk.img" || fail "sfdisk"
ploop=$(losetup -f --show -o 1048576 --sizelimit 209715200 "$T/pdisk.img") || fail "losetup p1"
cleanup_fn "losetup -d $ploop 2>/dev/null"
mkfs.ext4 -q -F -b 4096 "$ploop" || fail "mkfs p1"
mkdir -p "$T/mnt-p1"
mount "$ploop" "$T/mnt-p1" || fail "mount p1"
sync
for attempt in 1 2 3 4 5; do
  mkdir "$T/mnt-p1/new$attempt"
  for i in $(seq 1 20); do echo "p1 $attempt $i" > "$T/mnt-p1/new$attempt/f$i"; done
  sync "$T/mnt-p1/new$attempt"/f*
  cp --sparse=always "$T/pdisk.img" "$T/pdisk-copy.img"
  dd if="$T/pdisk-copy.img" of="$T/p1-stale.img" bs=1M skip=1 count=200 status=none
  debugfs -R "ls /new$attempt" "$T/p1-stale.img" 2>&1 | grep -q "not found" && break
  echo "p1: attempt $attempt: already written back; again" >&2
done
umount "$T/mnt-p1"
debugfs -R "ls /new$attempt" "$T/p1-stale.img" 2>&1 | grep -q "not found" ||
  fail "p1: could not produce a copy with journal-only changes"
cp --sparse=always "$T/p1-stale.img" "$T/p1-fixed.img"
rc=0; e2fsck -fy "$T/p1-fixed.img" > /dev/null 2>&1 || rc=$?
[ $rc -le 1 ] || fail "p1: e2fsck ($rc)"
mkdir -p "$T/truth-p1"
debugfs -R "rdump / $T/truth-p1" "$T/p1-fixed.img" > /dev/null 2>&1
tree_hashes "$T/truth-p1" | grep -v ' /lost+found' | sed 's#  /#  p1:/#' > "$T/truth-p1.txt"
fsmap_hashes "$T/pdisk-copy.img" "$T/p1-fsmap.txt"
grep -q "new$attempt/f20\$" "$T/truth-p1.txt" || fail "p1: truth lacks the new files"
diff "$T/p1-fsmap.txt" "$T/truth-p1.txt" || fail "p1: fsmap differs from the replayed partition"
echo "partitioned disk: ok"

# ---- Journals that are not replayed: today's view, the reason said ----
# A damaged journal superblock (checksum): the copy opens, un-replayed.
bad=$T/ordered-badjournal.img
cp --sparse=always "$T/ordered-copy.img" "$bad"
jblock=$(debugfs -R "bmap <8> 0" "$bad" 2>/dev/null)
[ -n "$jblock" ] || fail "no journal block 0"
printf '\x55' | dd of="$bad" bs=1 seek=$((jblock * 4096 + 0x200)) conv=notrunc status=none
"$FSMAP_DUMP" "$bad" > "$T/bad.txt" || fail "fsmap-dump on a damaged journal"
grep -q "^journal		0	0	journal not replayed: journal superblock checksum mismatch" "$T/bad.txt" ||
  fail "damaged journal: $(grep ^journal "$T/bad.txt")"
grep -q "^path" "$T/bad.txt" || fail "damaged journal: no file listed"

# An external journal device: refused with the reason.
truncate -s 16M "$T/jdev.img"
mkfs.ext4 -q -F -O journal_dev -b 4096 "$T/jdev.img" || fail "mkfs journal_dev"
jloop=$(losetup -f --show "$T/jdev.img") || fail "losetup"
cleanup_fn "losetup -d $jloop 2>/dev/null"
truncate -s 64M "$T/ext.img"
mkfs.ext4 -q -F -b 4096 -J device="$jloop" "$T/ext.img" || fail "mkfs with external journal"
mkdir -p "$T/mnt-ext"
mount -o loop "$T/ext.img" "$T/mnt-ext" || fail "mount with external journal"
echo "external" > "$T/mnt-ext/file"; sync "$T/mnt-ext/file"
cp --sparse=always "$T/ext.img" "$T/ext-copy.img"
umount "$T/mnt-ext"
dumpe2fs -h "$T/ext-copy.img" 2>/dev/null | grep -q 'needs_recovery' ||
  fail "external journal copy does not need recovery"
"$FSMAP_DUMP" "$T/ext-copy.img" > "$T/ext.txt" || fail "fsmap-dump (external journal)"
grep -q "^journal		0	0	journal not replayed: external journal device" "$T/ext.txt" ||
  fail "external journal: $(grep ^journal "$T/ext.txt")"

# ---- Part B: live polls of a mounted guest over QMP ----
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/live.sh"
live_setup
mkdir -p "$T/lsrc/etc" "$T/lsrc/data" "$T/lmnt"
for i in $(seq 1 60); do echo "live base $i" > "$T/lsrc/data/b$i.txt"; done
echo "clean text" > "$T/lsrc/etc/rewritten.txt"
guest_mkfs "$T/vm.qcow2" 256M ext4 "$T/lsrc" -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 ||
  fail "guest_mkfs"
guest_start "$T/vm.qcow2" "$T/lmnt" ext4 || fail "guest_start"
mount -o remount,commit=1 "$T/lmnt" || fail "remount commit=1"
D=$(_guest_dir_of "$T/lmnt")
"${O[@]}" add vm --qmp "$D/qmp.sock" --node fmt0 --nbd-socket "$D/nbd.sock" || fail "add --qmp"
P=(poll vm --json --test-signatures)
"${O[@]}" "${P[@]}" > "$T/lpoll0.json" || fail "first live poll"

for round in 1 2; do
  mkdir -p "$T/lmnt/drop$round"
  printf '%s' "$eicar" > "$T/lmnt/drop$round/eicar.com"
  echo "new clean $round" > "$T/lmnt/drop$round/clean.txt"
  [ $round = 2 ] && printf '%s' "$eicar" > "$T/lmnt/etc/rewritten.txt"
  mv "$T/lmnt/data/b$round.txt" "$T/lmnt/data/moved$round.txt"
  rm "$T/lmnt/data/b$((round + 20)).txt"
  # fsync: data on disk, the transaction committed, nothing written back.
  sync "$T/lmnt/drop$round/eicar.com" "$T/lmnt/drop$round/clean.txt" "$T/lmnt/etc/rewritten.txt"
  status=0
  "${O[@]}" "${P[@]}" > "$T/lpoll$round.json" 2> "$T/lpoll$round.err" || status=$?
  cat "$T/lpoll$round.err"
  expect_eq "$status" 1 "live round $round: exit (EICAR)"
  python3 - "$T/lpoll$round.json" "$round" <<'PY' || fail "live round $round"
import json, sys
p = json.loads(open(sys.argv[1]).readline())
r = sys.argv[2]
assert p["mode"] == "incremental", p["mode"]
files = {(f["path"], f["change"]): f for f in p["files"]}
want = [("/drop%s/eicar.com" % r, "new"), ("/drop%s/clean.txt" % r, "new"),
        ("/data/moved%s.txt" % r, "renamed"), ("/data/b%d.txt" % (int(r) + 20), "deleted")]
if r == "2":
    want.append(("/etc/rewritten.txt", "modified"))
for k in want:
    assert k in files, (k, sorted(files))
assert files[("/drop%s/eicar.com" % r, "new")]["verdict"] == "infected"
if r == "2":
    assert files[("/etc/rewritten.txt", "modified")]["verdict"] == "infected"
walk = p["metadata_walk"] or ""
assert "targeted" in walk and "recovery" not in walk, walk
print("live round", r, ":", len(p["files"]), "listed; metadata:", walk)
PY
  # The state after the poll is the guest's own view (every change was
  # fsynced): same paths, same sizes.
  sqlite3 "$T/state.db" "SELECT CAST(p.path AS TEXT) || ' ' || f.size FROM paths p
    JOIN files f ON f.id = p.file_id" | LC_ALL=C sort > "$T/ldb$round.txt"
  (cd "$T/lmnt" && find . -path ./lost+found -prune -o -type f -printf '/%P %s\n') |
    LC_ALL=C sort > "$T/lmnt$round.txt"
  diff "$T/ldb$round.txt" "$T/lmnt$round.txt" ||
    fail "live round $round: the state differs from the guest's files"
done
guest_stop "$T/lmnt" || fail "guest_stop"
echo PASS
