#!/bin/bash
# Differential test of the targeted ext4 metadata path (fsmap/ext_incremental)
# against the full walk.  An ext4 guest is written through the real kernel
# (qemu-storage-daemon + bitmap + nbdfuse + loop mount) for several seeded
# rounds: workload.py's random operations plus, every round, a directory with
# files renamed, a directory moved into a new one, files moved between
# directories, hard links created and removed, a deep new directory, a
# directory emptied and removed, a truncate, an append that adds extents and
# a directory grown past one block.  After each round the image and the
# state database are copied; the original is polled with
# OVSCAN_METADATA=targeted, the copy with OVSCAN_METADATA=walk, and:
#   - both polls' dirty lists are identical (path, fs, inode, size, change,
#     verdict, signature), and both state databases hold the same files (key,
#     size, digests, paths, verdict) and the same directory state;
#   - recall is 100% (workload.py check) for the targeted poll;
#   - how each targeted poll went (targeted, or full walk and why) is
#     printed; every round but the third must be targeted (so the test
#     cannot pass vacuously by always falling back), and the third, which
#     writes an external extended-attribute block, must fall back to the walk
#     (the safety net: a dirty block nothing explains).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
requires_root
requires qemu-storage-daemon --version
requires nbdfuse --version
requires python3 --version

WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"
ROUNDS=${OVSCAN_DIFF_ROUNDS:-5}

mkdir -p "$T/src" "$T/mnt" "$T/w"
python3 "$WORKLOAD" populate --seed 7 --root "$T/src" --files 300
mkdir -p "$T/src/dd0/a/b" "$T/src/big"
for i in $(seq 1 40); do echo "file $i" > "$T/src/dd0/a/b/f$i"; done

guest_mkfs "$T/vm.qcow2" 192M ext4 "$T/src" -b 4096 || fail "guest_mkfs"

"$OVSCAN" --state "$T/state.db" add vm --image "$T/vm.qcow2" || fail "add"
"$OVSCAN" --state "$T/state.db" poll vm --json --test-signatures > "$T/poll0.json" ||
  fail "first poll"

# Structural operations the random workload does not do (round $1; they
# run before it, on files the previous round created).
structural_ops () (
  set -e
  local r=$1 m=$2 prev=$(( $1 - 1 ))
  # round 3: a large extended attribute goes to its own block, which no
  # file run or metadata area explains: the safety net must make that
  # poll walk (and say so).  First thing of the round: a block freed
  # later in this round by a known file (rm, truncate) and reused for the
  # xattr would rightly count as explained by that file's old run.
  if [ "$r" = 3 ]; then
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.big", b"x" * 3000)' \
      "$m/dd$prev/a/b/f11"
  fi
  # directory with files renamed, then moved into a brand-new directory
  mv "$m/dd$prev" "$m/dd$r"
  mkdir -p "$m/newparent$r"
  mv "$m/dd$r/a" "$m/newparent$r/a"
  mkdir -p "$m/dd$r/a/b"
  # files moved between directories (both ways) and one renamed in place
  mv "$m/newparent$r/a/b/f1" "$m/dd$r/a/b/moved-in"
  mv "$m/newparent$r/a/b/f2" "$m/f2-at-root-$r"
  mv "$m/newparent$r/a/b/f3" "$m/newparent$r/a/b/f3-renamed"
  # hard links created (one across directories) and one removed
  ln "$m/newparent$r/a/b/f4" "$m/newparent$r/a/f4-link"
  ln "$m/newparent$r/a/b/f5" "$m/dd$r/f5-link-$r"
  if [ -e "$m/f4-link-$prev" ]; then rm "$m/f4-link-$prev"; fi
  ln "$m/newparent$r/a/b/f6" "$m/f4-link-$r"
  # the previous round's fresh tree moved whole under another directory:
  # most of its files' inode-table blocks stay clean this round (few random
  # operations land there), so only the directory logic can find them
  if [ -d "$m/fresh$prev" ]; then mv "$m/fresh$prev" "$m/dir0000/fresh$prev-moved"; fi
  mkdir -p "$m/fresh$r/x/y"
  for i in $(seq 1 320); do echo "fresh $r $i" > "$m/fresh$r/x/y/g$i"; done
  # deep new directory with files
  mkdir -p "$m/deep$r/1/2/3/4/5/6/7/8/9/10"
  printf 'deep %s\n' "$r" > "$m/deep$r/1/2/3/4/5/6/7/8/9/10/leaf"
  cp "$m/newparent$r/a/b/f7" "$m/deep$r/1/2/3/copy"
  # delete, truncate, append with new extents
  rm "$m/newparent$r/a/b/f8"
  truncate -s 3 "$m/newparent$r/a/b/f9"
  dd if=/dev/urandom of="$m/newparent$r/a/b/f10" bs=64k count=40 \
     oflag=append conv=notrunc status=none
  # a directory emptied and removed (the previous round's deep tree)
  if [ -d "$m/deep$prev" ]; then rm -r "$m/deep$prev"; fi
  # a directory grown past one block (new directory block, maybe htree)
  for i in $(seq 1 120); do echo "$i" > "$m/big/r$r-entry-with-a-longish-name-$i"; done
  # and a file rewritten in place through a hard link, same size
  printf 'FILE 6\n' > "$m/f4-link-$r"
  # files for the next round's moves
  for i in $(seq 1 12); do echo "round $r file $i" > "$m/dd$r/a/b/f$i"; done
)

dump_state () {   # DB OUT: files and directories, order-free, ids left out
  python3 - "$1" "$2" <<'PY'
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
files = []
for row in db.execute("SELECT id, inode, attr_type, attr_id, size, orphan, hex(runs_digest),"
                      " hex(content_digest), hex(meta_digest), hex(paths_digest), verdict,"
                      " signature FROM files"):
    paths = sorted(bytes(p).decode("latin-1") for (p,) in
                   db.execute("SELECT path FROM paths WHERE file_id = ?", (row[0],)))
    files.append(list(row[1:]) + [paths])
dirs = []
for inode, path, entries, runs in db.execute("SELECT inode, path, entries, runs FROM dirs"):
    ents, pos = [], 0
    while pos < len(entries):
        ino = int.from_bytes(entries[pos:pos+8], "little"); typ = entries[pos+8]
        l = int.from_bytes(entries[pos+9:pos+13], "little")
        ents.append((entries[pos+13:pos+13+l].decode("latin-1"), ino, typ)); pos += 13 + l
    dirs.append([inode, bytes(path).decode("latin-1"), sorted(ents), bytes(runs).hex()])
json.dump({"files": sorted(files), "dirs": sorted(dirs)}, open(sys.argv[2], "w"), indent=0)
PY
}

targeted=0
for round in $(seq 1 "$ROUNDS"); do
  guest_start "$T/vm.qcow2" "$T/mnt" ext4 || fail "guest_start round $round"
  python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/before$round.json"
  structural_ops "$round" "$T/mnt" || fail "structural ops round $round"
  python3 "$WORKLOAD" run --seed $((round * 31 + 5)) --root "$T/mnt" --ops 80 >/dev/null
  python3 "$WORKLOAD" snapshot --root "$T/mnt" --out "$T/after$round.json"
  guest_stop "$T/mnt" || fail "guest_stop round $round"
  python3 "$WORKLOAD" diff "$T/before$round.json" "$T/after$round.json" --out "$T/truth$round.json"

  # The same image and state, twice: the copy is polled by the full walk.
  cp "$T/vm.qcow2" "$T/w/vm.qcow2"
  rm -rf "$T/w/state.db"*
  python3 - "$T/state.db" "$T/w/state.db" "$T/w/vm.qcow2" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2])
src.backup(dst); src.close()
dst.execute("UPDATE disks SET image = ?", (sys.argv[3],)); dst.commit(); dst.close()
PY
  if [ -n "${OVSCAN_DIFF_KEEP:-}" ]; then   # debugging: the pre-poll state
    mkdir -p "$OVSCAN_DIFF_KEEP"; cp "$T/w/vm.qcow2" "$T/w/state.db" "$OVSCAN_DIFF_KEEP/"
  fi
  OVSCAN_METADATA=targeted "$OVSCAN" --state "$T/state.db" poll vm --json --test-signatures \
    > "$T/t$round.json" 2> "$T/t$round.err" || { cat "$T/t$round.err"; fail "targeted poll round $round"; }
  OVSCAN_METADATA=walk "$OVSCAN" --state "$T/w/state.db" poll vm --json --test-signatures \
    > "$T/w$round.json" 2> "$T/w$round.err" || { cat "$T/w$round.err"; fail "walk poll round $round"; }

  how=$(python3 - "$T/t$round.json" "$T/w$round.json" <<'PY'
import json, sys
t, w = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda f: (f["path"], f["fs"], f["inode"], f["size"], f["change"], f["verdict"],
                 f.get("signature"))
a, b = sorted(map(key, t["files"])), sorted(map(key, w["files"]))
if a != b:
    sa, sb = set(a), set(b)
    for x in sorted(sa - sb): print("only targeted:", x, file=sys.stderr)
    for x in sorted(sb - sa): print("only walk:    ", x, file=sys.stderr)
    sys.exit(1)
assert "targeted" not in (w["metadata_walk"] or ""), w["metadata_walk"]
print(t["metadata_walk"])
PY
) || fail "round $round: targeted and walk dirty lists differ"
  echo "round $round: ${how}; $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["files"]))' "$T/t$round.json") files listed"
  case "$how" in
    *targeted*) targeted=$((targeted + 1))
                [ "$round" != 3 ] || fail "round 3: the xattr block did not make the poll walk" ;;
    *"full walk:"*) [ "$round" = 3 ] || fail "round $round fell back to the walk: $how" ;;
    *) fail "round $round: metadata_walk says neither targeted nor full walk: $how" ;;
  esac

  dump_state "$T/state.db" "$T/t$round.state"
  dump_state "$T/w/state.db" "$T/w$round.state"
  cmp -s "$T/t$round.state" "$T/w$round.state" || {
    diff "$T/t$round.state" "$T/w$round.state" | head -20
    fail "round $round: state databases differ after the polls"
  }
  python3 "$WORKLOAD" check --truth "$T/truth$round.json" --poll "$T/t$round.json" > "$T/check$round.txt" ||
    { cat "$T/check$round.txt"; fail "round $round: recall below 100%"; }
done

echo "targeted in $targeted of $ROUNDS rounds"
echo PASS
