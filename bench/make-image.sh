#!/bin/bash
# ovscan bench — the full-scan guest disk: an ext4 filesystem holding real
# files (copies of this machine's /usr) plus planted detections.
#
# Usage: make-image.sh OUTDIR        (as root: mkfs.ext4 -d needs to read /usr)
#
# Produces, in OUTDIR:
#   fullscan.raw      the raw ext4 filesystem (no partition table), kept for
#                     clamscan's side (mount -o loop,ro)
#   fullscan.qcow2    the same bytes converted by qemu-img (ovscan's side)
#   fullscan.manifest what went in: tree list, every source file's
#                     path/size/mtime, planted files, script version.  The image
#                     is rebuilt only when this manifest changes.
#   fullscan.files    guest path, size of every regular file (sorted)
#   fullscan.expected guest paths that must be detected (planted + the
#                     clamav-testfiles copies that come along with /usr/share)
#
# Determinism: fixed tree list, fixed UUID and htree hash seed, fixed fake
# time for mke2fs (E2FSPROGS_FAKE_TIME), root owner 0:0, files copied with
# their mtimes.  Content is this machine's /usr, so two machines agree only
# when their packages do; the manifest records exactly what went in.
# Installing or upgrading any package under those trees changes the manifest
# and so rebuilds the image; REUSE_IMAGE=1 keeps an existing image as it is.
# If the trees hold fewer than MIN_FILES regular files, they are copied again
# under /usr-copyN until there are enough.
#
# Cost: ~3 GB copied three times (stage, raw, qcow2), a few minutes; needs
# ~3x the content size free in OUTDIR while building (the stage is removed).
set -euo pipefail

MIN_FILES=${MIN_FILES:-50000}
MIN_IMAGE_GIB=${MIN_IMAGE_GIB:-2}
# Fixed list of source trees (relative to /): binaries, shared libraries,
# headers, scripts, docs, man pages, icons, locale data — a realistic mix.
TREES=(
  usr/bin usr/sbin usr/libexec usr/include
  usr/lib/x86_64-linux-gnu usr/lib/python3 usr/lib/python3.11
  usr/share
)
TESTFILES=/usr/share/clamav-testfiles
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
UUID=0b5ca11e-0000-4000-8000-00000000be7c
FAKE_TIME=1700000000          # 2023-11-14, for mke2fs inode/superblock times
SCRIPT_VERSION=1

die () { echo "make-image: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: make-image.sh OUTDIR"
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ "$(id -u)" -eq 0 ] || die "run as root (reads all of /usr, used for loop mounts later)"
for t in mkfs.ext4 qemu-img python3; do
  command -v "$t" >/dev/null || die "$t not found"
done
[ -f "$TESTFILES/clam.exe" ] || die "$TESTFILES/clam.exe missing (package clamav-testfiles)"

# Planted detections: guest path -> source ("eicar" = the EICAR string).
# Deep directories, one name with a space, archive and plain variants.
PLANTED=(
  "/home/alice/Downloads/2024/invoices/q3/archive/eicar.com=eicar"
  "/var/www/html/wp-content/uploads/2023/11/cache/tmp/x/eicar.txt=eicar"
  "/home/bob/.cache/mozilla/firefox/abc.default/cache2/entries/deep/clam.exe=$TESTFILES/clam.exe"
  "/srv/share/Accounting Dept/2022/old stuff/backup/clam.zip=$TESTFILES/clam.zip"
  "/opt/vendor/app/lib/plugins/a/b/c/d/e/f/clam.zip=$TESTFILES/clam.zip"
  "/tmp/.hidden/.x/eicar=eicar"
)

manifest () {
  echo "ovscan bench fullscan image v$SCRIPT_VERSION"
  echo "min_files $MIN_FILES min_image_gib $MIN_IMAGE_GIB uuid $UUID fake_time $FAKE_TIME"
  echo "mkfs $(mkfs.ext4 -V 2>&1 | head -1)"
  printf 'planted %s\n' "${PLANTED[@]}"
  local t
  for t in "${TREES[@]}"; do
    echo "tree /$t"
    # every entry's type, size, mtime, path: a changed package changes this
    (cd / && find "$t" -xdev \( -type f -o -type d -o -type l \) -printf '%y %s %T@ %p\n' | LC_ALL=C sort -k4)
  done
}

if [ -n "${REUSE_IMAGE:-}" ] && [ -f "$OUT/fullscan.qcow2" ] && [ -f "$OUT/fullscan.raw" ] &&
   [ -f "$OUT/fullscan.files" ] && [ -f "$OUT/fullscan.manifest" ]; then
  echo "make-image: REUSE_IMAGE set: keeping $OUT/fullscan.qcow2 without checking /usr" >&2
  exit 0
fi
NEW_MANIFEST=$OUT/fullscan.manifest.new
manifest > "$NEW_MANIFEST"
if [ -f "$OUT/fullscan.qcow2" ] && [ -f "$OUT/fullscan.raw" ] && [ -f "$OUT/fullscan.files" ] &&
   cmp -s "$NEW_MANIFEST" "$OUT/fullscan.manifest"; then
  rm -f "$NEW_MANIFEST"
  echo "make-image: $OUT/fullscan.qcow2 is up to date" >&2
  exit 0
fi

STAGE=$OUT/stage
rm -rf "$STAGE" "$OUT/fullscan.raw" "$OUT/fullscan.qcow2" "$OUT/fullscan.manifest"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"

t0=$(date +%s.%N)
for t in "${TREES[@]}"; do
  [ -e "/$t" ] || { echo "make-image: /$t absent on this machine, skipped" >&2; continue; }
  mkdir -p "$STAGE/$(dirname "$t")"
  cp -a --no-preserve=links "/$t" "$STAGE/$t"
done
count_files () { find "$STAGE" -type f | wc -l; }
nfiles=$(count_files)
copy=1
base=$nfiles
while [ "$nfiles" -lt "$MIN_FILES" ]; do
  [ "$base" -gt 0 ] || die "no source files found"
  echo "make-image: only $nfiles files; duplicating the trees as /usr-copy$copy" >&2
  mkdir -p "$STAGE/usr-copy$copy"
  for t in "${TREES[@]}"; do
    [ -e "$STAGE/$t" ] || continue
    mkdir -p "$STAGE/usr-copy$copy/$(dirname "${t#usr/}")"
    cp -a "$STAGE/$t" "$STAGE/usr-copy$copy/${t#usr/}"
  done
  copy=$((copy + 1))
  nfiles=$(count_files)
done

: > "$OUT/fullscan.expected.new"
for p in "${PLANTED[@]}"; do
  dst=${p%%=*} src=${p#*=}
  mkdir -p "$STAGE$(dirname "$dst")"
  if [ "$src" = eicar ]; then
    printf '%s' "$EICAR" > "$STAGE$dst"
  else
    cp "$src" "$STAGE$dst"
  fi
  touch -d @$FAKE_TIME "$STAGE$dst"
  echo "$dst" >> "$OUT/fullscan.expected.new"
done
# Every copy of clamav-testfiles that came along with /usr/share is a
# detection too (for the project's clam.exe signature, via the unpackers):
# listed here for information; the bench compares the two tools' sets.
(cd "$STAGE" && find . -path '*/share/clamav-testfiles/*' -type f | sed 's|^\.||') >> "$OUT/fullscan.expected.new"
LC_ALL=C sort -o "$OUT/fullscan.expected" "$OUT/fullscan.expected.new"
rm -f "$OUT/fullscan.expected.new"

(cd "$STAGE" && find . -type f -printf '%s %p\n' | sed 's| \./| /|' | LC_ALL=C sort -k2) > "$OUT/fullscan.files"
nfiles=$(wc -l < "$OUT/fullscan.files")
content_kib=$(du -sk "$STAGE" | cut -f1)
# size: content + 25 % + 512 MiB for metadata, at least MIN_IMAGE_GIB, whole GiB
gib=$(( (content_kib * 5 / 4 / 1024 + 512 + 1023) / 1024 ))
[ "$gib" -ge "$MIN_IMAGE_GIB" ] || gib=$MIN_IMAGE_GIB
t1=$(date +%s.%N)

echo "make-image: $nfiles regular files, $((content_kib / 1024)) MiB -> ${gib} GiB ext4" >&2
E2FSPROGS_FAKE_TIME=$FAKE_TIME mkfs.ext4 -q -F -t ext4 -b 4096 -L ovscan-bench \
  -U "$UUID" -E "hash_seed=$UUID,root_owner=0:0,lazy_itable_init=0,nodiscard" \
  -d "$STAGE" "$OUT/fullscan.raw" "${gib}G"
t2=$(date +%s.%N)
qemu-img convert -f raw -O qcow2 "$OUT/fullscan.raw" "$OUT/fullscan.qcow2"
t3=$(date +%s.%N)
rm -rf "$STAGE"
mv "$NEW_MANIFEST" "$OUT/fullscan.manifest"

python3 - "$t0" "$t1" "$t2" "$t3" "$nfiles" "$content_kib" "$gib" "$OUT" <<'EOF'
import json, os, sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
info = {"regular_files": int(sys.argv[5]), "content_mib": int(sys.argv[6]) // 1024,
        "virtual_gib": int(sys.argv[7]),
        "qcow2_bytes": os.path.getsize(os.path.join(sys.argv[8], "fullscan.qcow2")),
        "seconds_stage_copy": round(t1 - t0, 1), "seconds_mkfs": round(t2 - t1, 1),
        "seconds_qcow2_convert": round(t3 - t2, 1), "seconds_total": round(t3 - t0, 1)}
with open(os.path.join(sys.argv[8], "fullscan.build.json"), "w") as f:
    json.dump(info, f, indent=1)
print("make-image:", json.dumps(info), file=sys.stderr)
EOF
