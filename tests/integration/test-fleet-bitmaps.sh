#!/bin/bash
# 'layers' disks that also keep a dirty bitmap in their top layer
# (`add --tracker layers --bitmap`, scanner/tracker_layers_bitmap.c).  A real
# qcow2 overlay over a real ext4 base, changed through the kernel
# (qemu-storage-daemon + nbdfuse + loop mount, tests/lib/fleet.sh); every
# poll's recall is 100% against content-hash ground truth.  Asserts:
#   - add --bitmap creates ovscan-1 in TOP and records it; refused without
#     --tracker layers and for an overlay that cannot hold bitmaps (qcow2 v2);
#   - the first poll takes the layers path (the bitmap does not cover the
#     overlay's older writes) and says why, rotates, arms ovscan-2 in the
#     new TOP, drops the dead ovscan-1 from the frozen layer;
#   - later polls take the bitmap path: poll record 'bitmap', no rotation
#     (no new layer file, generation unchanged), the bitmap rolls to the
#     next generation, a poll without writes is quiet, --full takes the
#     bitmap path too (full read, nothing rotated);
#   - bitmap removed (qemu-img bitmap --remove), or left in-use by a writer
#     killed -9: the layers path, its reason in the poll record and the
#     --json line, a fresh bitmap armed in the new TOP, and the poll after
#     takes the bitmap path again;
#   - a bitmap whose granularity makes it dearer than the layers (1 GiB
#     bits on a 128 MiB disk): the layers path, reason says the sizes;
#   - SIGKILL (OVSCAN_FAULT) at every step of either path, and inside
#     `add --bitmap`: the chain stays valid, TOP holds only ovscan bitmaps
#     the next prepare understands, and the next poll (or the killed one,
#     if it committed) lists every write;
#   - status says which path the last poll took (last_poll_tracker, text);
#   - side by side on identical changes, a --bitmap VM and a plain one:
#     both exact; the poll durations are printed (numbers for the report);
#   - remove drops the bitmap from TOP.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/fleet.sh"
fleet_setup
fleet_base "$T" 200

layer_count () { ls "$T" | grep -c "^$1.qcow2.layer-" || true; }
bitmaps_of () { guest_bitmaps "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
disk_col () { fleet_db "select $2 from disks where name = '$1'"; }

# poll_vm VM TAG TRACKER: poll, recall 100% against truth-TAG, tracker used.
poll_vm () {
  "${O[@]}" poll "$1" --json --test-signatures > "$T/poll-$2.json" || fail "$2: poll"
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-$2.json" --poll "$T/poll-$2.json" >/dev/null ||
    fail "$2: recall below 100%"
  expect_eq "$(fleet_poll_json "$T/poll-$2.json" tracker)" "$3" "$2: path taken"
}
reason_of () { fleet_poll_json "$T/poll-$1.json" reason; }

chain_ok () {    # VM TAG
  qemu-img info --backing-chain "$T/$1.qcow2" > "$T/chain-$2.txt" || fail "$2: chain does not open"
  grep -q "^image: .*base.qcow2$" "$T/chain-$2.txt" || fail "$2: chain lost its base"
  for f in "$T/$1.qcow2" $(ls "$T"/$1.qcow2.layer-* 2>/dev/null); do
    qemu-img check -q "$f" || fail "$2: qemu-img check $f"
  done
}

# Writes through the kernel, unmounted cleanly (every write reached qsd and
# was flushed), then qsd killed -9: its bitmaps stay "in-use".
killed_writer () {   # IMG SEED OPS TAG
  guest_start "$1" "$T/mnt" ext4 || return 1
  python3 "$FLEET_WORKLOAD" snapshot --root "$T/mnt" --out "$T/before-$4.json"
  python3 "$FLEET_WORKLOAD" run --seed "$2" --root "$T/mnt" --ops "$3" >/dev/null
  python3 "$FLEET_WORKLOAD" snapshot --root "$T/mnt" --out "$T/after-$4.json"
  umount "$T/mnt" || return 1
  guest_kill "$T/mnt"
  python3 "$FLEET_WORKLOAD" diff "$T/before-$4.json" "$T/after-$4.json" \
    --out "$T/truth-$4.json" >/dev/null
}

# --- add --bitmap ---------------------------------------------------------
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/vm.qcow2"
"${O[@]}" add vm --image "$T/vm.qcow2" --tracker layers --bitmap --max-chain 2 > "$T/add.txt" ||
  fail "add --bitmap"
grep -q "dirty bitmap ovscan-1" "$T/add.txt" || fail "add does not name the bitmap: $(cat "$T/add.txt")"
expect_eq "$(bitmaps_of "$T/vm.qcow2")" "ovscan-1" "add --bitmap: ovscan-1 in TOP"
expect_eq "$(disk_col vm bitmap)" "ovscan-1" "add --bitmap: recorded"
"${O[@]}" add x --image "$T/vm.qcow2" --bitmap 2> "$T/err" && fail "--bitmap without --tracker layers accepted"
grep -q -- "--bitmap is for" "$T/err" || fail "--bitmap misuse message: $(cat "$T/err")"
qemu-img create -q -f qcow2 -o compat=0.10 -b base.qcow2 -F qcow2 "$T/v2.qcow2"
"${O[@]}" add v2 --image "$T/v2.qcow2" --tracker layers --bitmap 2> "$T/err" &&
  fail "a qcow2 v2 overlay (no bitmaps) accepted --bitmap"
grep -q "Cannot store dirty bitmaps in qcow2 v2" "$T/err" || fail "qcow2 v2 message: $(cat "$T/err")"
expect_eq "$(fleet_db "select count(*) from disks where name = 'v2'")" 0 "qcow2 v2: not registered"
# The bitmap is made before the fleet row; a refused overlay (no base)
# keeps no bitmap.
qemu-img create -q -f qcow2 "$T/nobase.qcow2" 64M
"${O[@]}" add nobase --image "$T/nobase.qcow2" --tracker layers --bitmap 2> "$T/err" &&
  fail "an image without a base accepted as a layers disk"
grep -q "no base image" "$T/err" || fail "no-base message: $(cat "$T/err")"
expect_eq "$(bitmaps_of "$T/nobase.qcow2")" "" "refused add: its bitmap dropped again"

# --- first poll: layers path, a fresh bitmap in the new TOP -----------------
fleet_change "$T/vm.qcow2" "$T/mnt" 11 30 r1 || fail "r1 writes"
poll_vm vm r1 layers
case "$(reason_of r1)" in
  *"does not cover"*) ;;
  *) fail "r1: reason: $(reason_of r1)" ;;
esac
expect_eq "$(layer_count vm)" 1 "r1: rotated once"
expect_eq "$(bitmaps_of "$T/vm.qcow2")" "ovscan-2" "r1: fresh bitmap armed in the new TOP"
expect_eq "$(bitmaps_of "$T/vm.qcow2.layer-1")" "" "r1: the dead bitmap dropped from the frozen layer"
expect_eq "$(disk_col vm bitmap)" "ovscan-2" "r1: recorded bitmap"
expect_eq "$(disk_col vm generation)" 1 "r1: covered layer"
chain_ok vm r1

# --- bitmap path: no rotation ---------------------------------------------
for r in 2 3; do
  fleet_change "$T/vm.qcow2" "$T/mnt" $((r * 7)) 30 r$r || fail "r$r writes"
  poll_vm vm r$r bitmap
  expect_eq "$(reason_of r$r)" None "r$r: no reason on the bitmap path"
  expect_eq "$(layer_count vm)" 1 "r$r: no rotation"
  expect_eq "$(disk_col vm generation)" 1 "r$r: covered layer unchanged"
  expect_eq "$(bitmaps_of "$T/vm.qcow2")" "ovscan-$((r + 1))" "r$r: bitmap rolled over"
  expect_eq "$(disk_col vm bitmap)" "ovscan-$((r + 1))" "r$r: recorded bitmap"
  [ "$(fleet_poll_json "$T/poll-r$r.json" dirty_bytes)" -gt 0 ] || fail "r$r: nothing dirty"
done
chain_ok vm r3
"${O[@]}" poll vm --json > "$T/quiet.json" || fail "quiet poll"
expect_eq "$(fleet_poll_json "$T/quiet.json" dirty_bytes)" 0 "quiet poll dirty bytes"
expect_eq "$(fleet_poll_json "$T/quiet.json" tracker)" bitmap "quiet poll tracker"
expect_eq "$(bitmaps_of "$T/vm.qcow2")" "ovscan-4" "a quiet poll arms nothing"
expect_eq "$(layer_count vm)" 1 "a quiet poll rotates nothing"
# --full with a usable bitmap: the bitmap path too (nothing to rotate).
"${O[@]}" poll vm --full --json --test-signatures > "$T/full.json" || fail "--full poll"
expect_eq "$(fleet_poll_json "$T/full.json" tracker)/$(fleet_poll_json "$T/full.json" mode)" \
  bitmap/full "--full: path and mode"
expect_eq "$(layer_count vm)" 1 "--full rotates nothing"
expect_eq "$(bitmaps_of "$T/vm.qcow2")" "ovscan-5" "--full: the bitmap rolled over"

# --- bitmap removed: layers path, then bitmap again -------------------------
qemu-img bitmap --remove "$T/vm.qcow2" ovscan-5
fleet_change "$T/vm.qcow2" "$T/mnt" 41 30 r4 || fail "r4 writes"
poll_vm vm r4 layers
case "$(reason_of r4)" in
  *"ovscan-5"*"missing"*) ;;
  *) fail "r4: reason: $(reason_of r4)" ;;
esac
"${O[@]}" report dirty vm > "$T/report-r4.txt" || fail "r4: report"
grep -q "missing" "$T/report-r4.txt" || fail "r4: report does not say why: $(head -1 "$T/report-r4.txt")"
expect_eq "$(disk_col vm generation)" 2 "r4: rotated, layer 2 covered"
expect_eq "$(layer_count vm)" 1 "r4: merged back to --max-chain 2"
expect_eq "$(bitmaps_of "$T/vm.qcow2")" "ovscan-6" "r4: fresh bitmap in the new TOP"
chain_ok vm r4
fleet_change "$T/vm.qcow2" "$T/mnt" 51 30 r5 || fail "r5 writes"
poll_vm vm r5 bitmap

# --- bitmap left in-use by a killed writer: layers path ---------------------
killed_writer "$T/vm.qcow2" 61 30 r6 || fail "r6 writes"
case "$(guest_bitmap_flags "$T/vm.qcow2" ovscan-7)" in
  *in-use*) ;;
  *) fail "r6: the killed writer left ovscan-7 consistent" ;;
esac
poll_vm vm r6 layers
case "$(reason_of r6)" in
  *"inconsistent"*) ;;
  *) fail "r6: reason: $(reason_of r6)" ;;
esac
expect_eq "$(bitmaps_of "$T/vm.qcow2")" "ovscan-8" "r6: fresh bitmap in the new TOP"
chain_ok vm r6
fleet_change "$T/vm.qcow2" "$T/mnt" 71 30 r7 || fail "r7 writes"
poll_vm vm r7 bitmap
"${O[@]}" status vm --test-signatures --json > "$T/status.json" || fail "status --json"
python3 - "$T/status.json" <<'PY' || fail "status: the last poll's path"
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["tracker"] == "layers" and r["last_poll_tracker"] == "bitmap", r
PY
"${O[@]}" status vm --test-signatures > "$T/status.txt" || fail "status"
grep -q "last poll read the bitmap" "$T/status.txt" || fail "status text: $(cat "$T/status.txt")"
echo "ok: bitmap path, layers path on a removed / inconsistent bitmap"

# --- a bitmap dearer than the layers: layers chosen by cost ------------------
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/coarse.qcow2"
"${O[@]}" add coarse --image "$T/coarse.qcow2" --tracker layers --bitmap \
  --bitmap-granularity 1G > /dev/null || fail "add coarse"
fleet_change "$T/coarse.qcow2" "$T/mnt" 81 10 c1 || fail "c1 writes"
poll_vm coarse c1 layers
fleet_change "$T/coarse.qcow2" "$T/mnt" 82 5 c2 || fail "c2 writes"
poll_vm coarse c2 layers
case "$(reason_of c2)" in
  *"more than twice"*) ;;
  *) fail "c2: reason: $(reason_of c2)" ;;
esac
echo "ok: layers chosen by cost"

# --- SIGKILL at every step ------------------------------------------------
killed_poll () {   # POINT
  local st=0
  OVSCAN_FAULT=$1 "${O[@]}" poll vm --json --test-signatures > /dev/null 2>&1 || st=$?
  expect_eq "$st" 137 "$1: poll killed"
}
# TOP may hold only the recorded bitmap and, after a kill, one stale
# successor or the old one: nothing else, nothing in-use.
top_bitmaps_ok () {
  local rec n
  rec=$(disk_col vm bitmap)
  guest_bitmaps "$T/vm.qcow2" | grep -q "^$rec\$" ||
    [ "$2" = may-miss ] || fail "$1: recorded $rec not in TOP ($(bitmaps_of "$T/vm.qcow2"))"
  n=$(guest_bitmaps "$T/vm.qcow2" | wc -l)
  [ "$n" -le 2 ] || fail "$1: $n ovscan bitmaps in TOP"
}
# kill_round PATH:POINT: writes, then a poll killed at POINT taking PATH
# (layers: the recorded bitmap is removed first); sets tag, polls_before.
seed=200
kill_round () {
  local path=${1%%:*} point=${1#*:}
  tag=k-$path-$point
  seed=$((seed + 1))
  if [ "$path" = layers ]; then
    qemu-img bitmap --remove "$T/vm.qcow2" "$(disk_col vm bitmap)" || fail "$tag: remove bitmap"
  fi
  fleet_change "$T/vm.qcow2" "$T/mnt" $seed 30 "$tag" || fail "$tag: writes"
  polls_before=$(fleet_db "select count(*) from polls")
  killed_poll "$point"
}
for spec in bitmap:after-prepare bitmap:after-arm bitmap:during-scan bitmap:before-commit \
            layers:after-prepare layers:layers-after-rotate layers:after-arm \
            layers:during-scan layers:before-commit; do
  kill_round "$spec"
  expect_eq "$(fleet_db "select count(*) from polls")" "$polls_before" "$tag: nothing committed"
  chain_ok vm "$tag"
  top_bitmaps_ok "$tag" may-miss
  # The next poll: layers path if the killed one had rotated (an
  # uncovered frozen layer) or the bitmap was removed; exact either way.
  "${O[@]}" poll vm --json --test-signatures > "$T/poll-$tag.json" || fail "$tag: next poll"
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-$tag.json" --poll "$T/poll-$tag.json" >/dev/null ||
    fail "$tag: the next poll missed writes"
  chain_ok vm "$tag-next"
  top_bitmaps_ok "$tag-next"
  echo "ok: $tag (next poll: $(fleet_poll_json "$T/poll-$tag.json" tracker))"
done
for spec in bitmap:after-commit layers:after-commit; do
  kill_round "$spec"
  expect_eq "$(fleet_db "select count(*) from polls")" "$((polls_before + 1))" "$tag: the poll committed"
  expect_eq "$(fleet_db "select tracker from polls order by id desc limit 1")" "${spec%%:*}" \
    "$tag: path of the killed poll"
  "${O[@]}" report dirty vm --json > "$T/report-$tag.json" || fail "$tag: report"
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-$tag.json" --poll "$T/report-$tag.json" >/dev/null ||
    fail "$tag: the committed poll missed writes"
  chain_ok vm "$tag"
  top_bitmaps_ok "$tag"
  fleet_change "$T/vm.qcow2" "$T/mnt" $((seed + 50)) 20 "$tag-2" || fail "$tag: writes 2"
  poll_vm vm "$tag-2" bitmap
  top_bitmaps_ok "$tag-2"
  expect_eq "$(guest_bitmaps "$T/vm.qcow2" | wc -l)" 1 "$tag: the leftover bitmap dropped"
  echo "ok: $tag"
done

# SIGKILL inside `add --bitmap`, after the bitmap, before the row: a second
# add drops the leftover and starts again from ovscan-1.
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/late.qcow2"
st=0
OVSCAN_FAULT=add-after-bitmap "${O[@]}" add late --image "$T/late.qcow2" --tracker layers --bitmap > /dev/null 2>&1 || st=$?
expect_eq "$st" 137 "add killed"
expect_eq "$(fleet_db "select count(*) from disks where name = 'late'")" 0 "killed add: no row"
expect_eq "$(bitmaps_of "$T/late.qcow2")" "ovscan-1" "killed add: its bitmap left"
qemu-img bitmap --add "$T/late.qcow2" ovscan-7
"${O[@]}" add late --image "$T/late.qcow2" --tracker layers --bitmap > /dev/null || fail "add again"
expect_eq "$(bitmaps_of "$T/late.qcow2")" "ovscan-1" "add again: leftovers dropped, ovscan-1 afresh"
echo "ok: add --bitmap killed"

# --- side by side: the same change, bitmap VM vs plain layers VM -----------
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/withbm.qcow2"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/plain.qcow2"
"${O[@]}" add withbm --image "$T/withbm.qcow2" --tracker layers --bitmap --max-chain 2 > /dev/null
"${O[@]}" add plain --image "$T/plain.qcow2" --tracker layers --max-chain 2 > /dev/null
for r in 0 1 2 3; do
  for v in withbm plain; do
    fleet_change "$T/$v.qcow2" "$T/mnt" $((300 + r)) 40 "s$r-$v" || fail "s$r-$v writes"
    start=$(date +%s%N)
    "${O[@]}" poll $v --json --test-signatures > "$T/poll-s$r-$v.json" || fail "s$r-$v: poll"
    end=$(date +%s%N)
    python3 "$FLEET_WORKLOAD" check --truth "$T/truth-s$r-$v.json" --poll "$T/poll-s$r-$v.json" >/dev/null ||
      fail "s$r-$v: recall below 100%"
    echo "side-by-side round $r $v: tracker $(fleet_poll_json "$T/poll-s$r-$v.json" tracker)" \
      "dirty $(fleet_poll_json "$T/poll-s$r-$v.json" dirty_bytes) B," \
      "files $(fleet_poll_json "$T/poll-s$r-$v.json" files_scanned)," \
      "poll $(fleet_poll_json "$T/poll-s$r-$v.json" duration_s) s, wall $(( (end - start) / 1000000 )) ms"
  done
  [ "$r" = 0 ] || expect_eq "$(fleet_poll_json "$T/poll-s$r-withbm.json" tracker)" bitmap "s$r: withbm path"
done
expect_eq "$(layer_count withbm)" 1 "withbm: rotated once (first poll) only"
"${O[@]}" remove withbm > /dev/null || fail "remove withbm"
expect_eq "$(bitmaps_of "$T/withbm.qcow2")" "" "remove: the bitmap dropped from TOP"
echo PASS
