#!/bin/bash
# ovscan scan, end to end, on a partitionless ext4 disk written by mkfs.ext4 -d:
# as qcow2, as raw, and as a qcow2 overlay whose planted file lives in the
# base.  Planted: EICAR and clamav-testfiles variants in deep directories,
# names with spaces and UTF-8, a sparse file with EICAR after a 1 MiB hole,
# a hard link.  Asserts every detection at its exact guest path, nothing clean
# flagged, exit status 1, JSON records, --exclude, --max-filesize, and that
# the sum of sizes ovscan reports equals the tree's.
source "$(dirname "$0")/../functions.sh"
requires qemu-img --version
requires mkfs.ext4 -V
[ -f "$TESTFILES/clam.exe" ] || { echo "SKIP: clamav-testfiles not installed" >&2; exit 77; }

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
root=$T/root
mkdir -p "$root/home/bob/a/b/c/d/e" "$root/srv/dir with spaces" "$root/opt/ünïcødé" "$root/usr/bin"
printf '%s' "$eicar" > "$root/home/bob/a/b/c/d/e/eicar.com"
cp "$TESTFILES/clam.exe" "$root/srv/dir with spaces/clam.exe"
cp "$TESTFILES/clam.zip" "$root/opt/ünïcødé/clam.zip"
cp "$TESTFILES/clam.exe.bz2" "$root/home/bob/a/b/clam.exe.bz2"
cp "$TESTFILES/clam-upx.exe" "$root/home/bob/a/b/c/packed.exe"
cp /bin/ls /bin/bash /bin/cat "$root/usr/bin/"
cp /etc/services "$root/srv/"
ln "$root/home/bob/a/b/c/d/e/eicar.com" "$root/srv/eicar-link"
# A sparse file: a 1 MiB hole (under the 2M limit used below), then EICAR.
printf '%s' "$eicar" | dd of="$root/srv/sparse.bin" bs=1M seek=1 conv=notrunc status=none
# A clean file bigger than --max-filesize used below, with EICAR inside.
{ head -c 3M /dev/zero; printf '%s' "$eicar"; } > "$root/srv/big.bin"
# Many small clean files.
mkdir -p "$root/usr/share/many"
for i in $(seq 1 300); do echo "file $i" > "$root/usr/share/many/f$i.txt"; done

mkfs.ext4 -q -F -d "$root" "$T/disk.raw" 256M >/dev/null
qemu-img convert -f raw -O qcow2 "$T/disk.raw" "$T/disk.qcow2"

expected_infected () {
  cat <<'LIST' | sort
/home/bob/a/b/c/d/e/eicar.com: Ovscan.Test.EICAR FOUND
/srv/eicar-link: Ovscan.Test.EICAR FOUND
/srv/dir with spaces/clam.exe: Ovscan.Test.ClamExe FOUND
/opt/ünïcødé/clam.zip: Ovscan.Test.ClamExe FOUND
/home/bob/a/b/clam.exe.bz2: Ovscan.Test.ClamExe FOUND
/home/bob/a/b/c/packed.exe: Ovscan.Test.ClamExe FOUND
/srv/sparse.bin: Ovscan.Test.EICAR FOUND
LIST
}
# Signature names may carry libclamav's unpacker suffixes (".UNOFFICIAL"):
normalise () { sed -E 's/\.UNOFFICIAL FOUND$/ FOUND/' | sort; }

for img in "$T/disk.qcow2" "$T/disk.raw"; do
  set +e
  "$OVSCAN" scan "$img" --test-signatures --max-filesize 2M > "$T/out" 2> "$T/err"
  status=$?
  set -e
  cat "$T/out" "$T/err"
  expect_eq "$status" 1 "exit status for $img"
  diff <(grep ' FOUND$' "$T/out" | normalise) <(expected_infected) ||
    fail "detections differ for $img"
  grep -q '^Filesystems: 1 scanned (ext4)' "$T/out" || fail "summary lacks the filesystem"
  grep -q '^Errors: 0$' "$T/out" || fail "errors reported on a clean image"
  [ ! -s "$T/err" ] || fail "unexpected stderr output"
done

# JSON: every file once, exact sizes, the big file skipped for its size.
"$OVSCAN" scan "$T/disk.qcow2" --test-signatures --max-filesize 2M --json > "$T/json" || true
python3 - "$T/json" "$root" <<'PY'
import json, os, sys
records = [json.loads(l) for l in open(sys.argv[1])]
files = [r for r in records if r["type"] == "file"]
summary = records[-1]
assert summary["type"] == "summary", summary
root = sys.argv[2]
want = {}
for d, _, names in os.walk(root):
    for n in names:
        p = os.path.join(d, n)
        want["/" + os.path.relpath(p, root)] = os.stat(p).st_size
got = {}
for f in files:
    for p in f["paths"]:
        got[p] = f["size"]
    for k in ("path", "fs", "fstype", "inode", "size", "verdict", "signature", "error"):
        assert k in f, (k, f)
missing = set(want) - set(got)
extra = set(got) - set(want) - {"/lost+found"}
assert not missing, ("files not reported", sorted(missing)[:10])
assert not extra, ("unknown files reported", sorted(extra)[:10])
for p, size in want.items():
    assert got[p] == size, (p, got[p], size)
big = [f for f in files if f["path"] == "/srv/big.bin"][0]
assert big["verdict"] == "skipped" and "max-filesize" in big["error"], big
links = [f for f in files if "/srv/eicar-link" in f["paths"]][0]
assert sorted(links["paths"]) == ["/home/bob/a/b/c/d/e/eicar.com", "/srv/eicar-link"], links
clean_flagged = [f["path"] for f in files if f["verdict"] == "infected"
                 and not any(s in f["path"] for s in ("eicar", "clam", "packed", "sparse"))]
assert not clean_flagged, clean_flagged
assert summary["infected"] == 6, summary   # 6 files (one has two links)
assert summary["exit_status"] == 1
print("json ok:", len(files), "files")
PY

# --exclude on the filesystem-relative path; nothing found -> exit 0.
set +e
"$OVSCAN" scan "$T/disk.qcow2" --test-signatures --max-filesize 2M -q \
  --exclude '/home/*' --exclude '/srv/*' --exclude '/opt/*' > "$T/out" 2>&1
status=$?
set -e
cat "$T/out"
expect_eq "$status" 0 "exit status with everything infected excluded"
[ ! -s "$T/out" ] || fail "--quiet printed something on a clean scan"

# A qcow2 overlay: the planted files live only in the base image.
qemu-img create -q -f qcow2 -b "$T/disk.qcow2" -F qcow2 "$T/overlay.qcow2"
set +e
"$OVSCAN" scan "$T/overlay.qcow2" --test-signatures --max-filesize 2M -q > "$T/out" 2>&1
status=$?
set -e
expect_eq "$status" 1 "exit status on the overlay"
diff <(grep ' FOUND$' "$T/out" | normalise) <(expected_infected) || fail "overlay detections differ"
# The progress line: drawn on a terminal (script(1) gives a pty; the first
# result draws it), erased before the summary, never written to a pipe.
requires script --version
script -qec "'$OVSCAN' scan '$T/disk.qcow2' --test-signatures" /dev/null > "$T/tty.out" || true
grep -q 'files, .* MB/s, ETA' "$T/tty.out" || fail "no progress line on a terminal"
"$OVSCAN" scan "$T/disk.qcow2" --test-signatures 2> "$T/pipe.err" > /dev/null || true
grep -q 'ETA' "$T/pipe.err" && fail "progress line written to a non-terminal"
echo PASS
