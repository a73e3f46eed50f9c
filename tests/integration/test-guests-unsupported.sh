#!/bin/bash
# Volumes ovscan cannot read are reported, never silently skipped: a GPT
# disk with p1 ext4 (EICAR, still found), p2 btrfs (mkfs.btrfs) and p3 LUKS2
# (cryptsetup luksFormat): each named "not scanned" with its reason, in
# text and JSON, and the scan's exit status says errors happened (1 wins
# because of the detection; without it, 2).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/lvm.sh"
requires_root
requires sgdisk --version
requires mkfs.btrfs --version
requires cryptsetup --version

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
mkdir -p "$T/p1"
printf '%s' "$eicar" > "$T/p1/evil.txt"
img=$T/disk.raw
truncate -s 200M "$img"
sgdisk -o -n1:2048:+32M -n2:67584:+120M -n3:313344:+20M "$img" >/dev/null
lvm_fs_image "$T/p1.img" 32M ext4 "$T/p1" || fail "ext4"
truncate -s 120M "$T/btrfs.img"
mkfs.btrfs -q -f "$T/btrfs.img" >/dev/null 2>&1 || fail "mkfs.btrfs"
truncate -s 20M "$T/luks.img"
printf 'secret' | cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 \
  --pbkdf-force-iterations 1000 "$T/luks.img" - || fail "luksFormat"
dd if="$T/p1.img" of="$img" bs=1M seek=1 conv=notrunc status=none
dd if="$T/btrfs.img" of="$img" bs=1M seek=33 conv=notrunc status=none
dd if="$T/luks.img" of="$img" bs=1M seek=153 conv=notrunc status=none

set +e
"$OVSCAN" scan "$img" --format raw --test-signatures > "$T/out" 2> "$T/err"
status=$?
"$OVSCAN" scan "$img" --format raw --test-signatures --json > "$T/json" 2>/dev/null
set -e
cat "$T/out" "$T/err"
expect_eq "$status" 1 "exit status"
grep -q '^p1:/evil.txt: Ovscan.Test.EICAR' "$T/out" || fail "p1 must still be scanned"
grep -q 'not scanned: p2: btrfs at offset 34603008: The Sleuth Kit 4.11 cannot read btrfs' "$T/err" || fail "btrfs"
grep -q 'not scanned: p3: LUKS2 encrypted volume at offset 160432128: encrypted, and ovscan has no key' "$T/err" || fail "LUKS"
grep -q '^Errors: 2$' "$T/out" || fail "two volumes not scanned are two errors"
python3 - "$T/json" <<'PY' || fail "JSON errors"
import json, sys
errs = {o["fs"]: o for o in map(json.loads, open(sys.argv[1])) if o.get("type") == "error"}
assert errs["p2"]["fatal"] and "btrfs" in errs["p2"]["error"], errs
assert errs["p3"]["fatal"] and "LUKS2" in errs["p3"]["error"], errs
PY
echo PASS
