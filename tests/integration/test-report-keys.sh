#!/bin/bash
# report dirty / report detections / status / sigs: their JSON keys are
# exactly the keys documented in docs/ovscan.1 (parsed from the man page),
# their CSV parses (python csv) with the documented header and the same
# rows as the JSON, including a guest file name holding a comma, quotes and
# a newline.  report dirty --since gives every poll since TIME, oldest
# first; report detections exits 1 while a detection is present, and a
# detection found by a poll is recorded once with its first/last poll.
# The OS summary (status "os", list) of a guest whose product name holds a
# backslash and a quote is quoted exactly once (JSON, CSV and text); it
# starts with '=', so its CSV cell gets a leading apostrophe (no formula).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/ops.sh"
requires_root
requires qemu-storage-daemon --version
requires nbdfuse --version
requires python3 --version
MAN="$OVSCAN_SOURCE_DIR/docs/ovscan.1"

mkdir -p "$T/src-vm/data"
printf 'clean\n' > "$T/src-vm/data/a"
printf '%s' "$EICAR" > "$T/src-vm/data/odd, \"name\"
with newline"
guest_mkfs "$T/vm.qcow2" 32M ext4 "$T/src-vm" || fail "guest_mkfs"
"${O[@]}" add vm --image "$T/vm.qcow2" > /dev/null || fail "add"
t0=$(date +%s)
set +e
"${O[@]}" poll vm --test-signatures -q > /dev/null; rc=$?
set -e
expect_eq "$rc" 1 "first poll finds EICAR"
ops_write vm data/new.com "$EICAR"
ops_write vm data/a "changed"
set +e
"${O[@]}" poll vm --test-signatures -q > /dev/null; rc=$?
set -e
expect_eq "$rc" 1 "second poll finds the new EICAR"

# A cached inspection whose product and hostname are hostile guest bytes
# (what libguestfs would read from the guest's /etc/os-release).
python3 - "$T/state.db" <<'PY' || fail "planting the inspection"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(disk,) = db.execute("SELECT id FROM disks WHERE name = 'vm'").fetchone()
db.execute("INSERT INTO guest_inspections (disk_id, os_type, distro, product,"
           " major, minor, hostname, inspected) VALUES (?, 'windows',"
           " 'windows', ?, 10, 0, ?, 0)",
           (disk, '=Win\\dows "Pro"', "h\x01st"))
db.commit()
PY
"${O[@]}" status vm --test-signatures > "$T/status.txt" || fail "status (text)"
"${O[@]}" list > "$T/list.txt" || fail "list"
for f in status.txt list.txt; do
  grep -qF 'os: =Win\\dows "Pro", host h\x01st' "$T/$f" || { cat "$T/$f"; fail "$f: the OS summary quoted once"; }
done

set +e
"${O[@]}" report dirty vm --since "$t0" --json > "$T/dirty.json"; r1=$?
"${O[@]}" report dirty vm --since "$t0" --csv > "$T/dirty.csv"; r2=$?
"${O[@]}" report dirty vm --json > "$T/last.json"; r3=$?
"${O[@]}" report detections --json > "$T/det.json"; r4=$?
"${O[@]}" report detections vm --csv > "$T/det.csv"; r5=$?
"${O[@]}" status --test-signatures --json > "$T/status.json"; r6=$?
"${O[@]}" status vm --test-signatures --csv > "$T/status.csv"; r7=$?
"$OVSCAN" sigs --test-signatures -d "$OVSCAN_SIGS" --json > "$T/sigs.json"; r8=$?
set -e
expect_eq "$r1/$r2/$r3/$r4/$r5/$r6/$r7/$r8" "0/0/0/1/1/0/0/0" "exit statuses"

python3 - "$MAN" "$T" <<'PY' || fail "documented keys"
import csv, io, json, re, sys
man, T = sys.argv[1], sys.argv[2]
text = open(man).read()

def section(name):
    m = re.search(r'^\.SS "%s"\n(.*?)(?=^\.S[SH] )' % re.escape(name), text, re.S | re.M)
    assert m, "no section %s in the man page" % name
    return m.group(1)

def tp_keys(body):
    return re.findall(r'^\.TP\n\.B (\w+)\n', body, re.M)

def bold_list(body, after, until):
    part = body.split(after, 1)[1].split(until, 1)[0]
    return re.findall(r'^\.BR? (\w+)', part, re.M)

def jsonl(path):
    return [json.loads(l) for l in open(path)]

def check_csv(path, keys, nrows):
    rows = list(csv.reader(open(path, newline="")))
    assert rows[0] == keys, (path, rows[0], keys)
    assert len(rows) - 1 == nrows, (path, len(rows) - 1, nrows)
    for r in rows[1:]:
        assert len(r) == len(keys), (path, r)
    return [dict(zip(keys, r)) for r in rows[1:]]

# report dirty
dirty = section("report dirty")
file_keys = bold_list(dirty, "one object per changed file with the keys", "CSV:")
csv_keys = bold_list(dirty, "CSV: one row per file with the keys", "\n.SS")
assert file_keys == ["path", "fs", "inode", "size", "change", "verdict", "signature", "error"], file_keys
polls = jsonl(T + "/dirty.json")
assert [p["type"] for p in polls] == ["poll", "poll"], polls
assert polls[0]["poll"] < polls[1]["poll"], "oldest first"
assert jsonl(T + "/last.json")[0]["poll"] == polls[1]["poll"]
files = [f for p in polls for f in p["files"]]
for f in files:
    assert sorted(f) == sorted(file_keys), f
changes = sorted((f["path"], f["change"], f["verdict"]) for f in polls[1]["files"])
assert ("/data/a", "modified", "clean") in changes and ("/data/new.com", "new", "infected") in changes, changes
rows = check_csv(T + "/dirty.csv", csv_keys, len(files))
odd = [r for r in rows if r["path"].startswith("/data/odd")]
assert odd and odd[0]["path"] == '/data/odd, "name"\\nwith newline', odd
assert {int(r["poll"]) for r in rows} == {p["poll"] for p in polls}

# report detections
dkeys = tp_keys(section("report detections"))
det = jsonl(T + "/det.json")
assert len(det) == 2, det
for d in det:
    assert list(d) == dkeys, (list(d), dkeys)
    assert d["found_by"] == "poll" and d["present"] is True and d["cleared_poll"] is None, d
by_path = {d["path"]: d for d in det}
assert by_path['/data/odd, "name"\\nwith newline']["first_poll"] == polls[0]["poll"]
assert by_path["/data/new.com"]["first_poll"] == polls[1]["poll"]
check_csv(T + "/det.csv", dkeys, 2)

# status
skeys = tp_keys(section("status"))
st = jsonl(T + "/status.json")
assert len(st) == 1 and list(st[0]) == skeys, (list(st[0]), skeys)
s = st[0]
assert s["vm"] == "vm" and s["last_poll"] == polls[1]["poll"] and s["detections"] == 2, s
assert s["coverage_files_pct"] == 100.0 and s["infected_files"] == 2, s
row = check_csv(T + "/status.csv", skeys, 1)[0]
assert row["vm"] == "vm" and float(row["coverage_bytes_pct"]) == 100.0, row
# quoted once: the guest's one backslash is \\, its \x01 is \\x01
os_once = '=Win\\\\dows "Pro", host h\\x01st'
assert s["os"] == os_once, s["os"]
assert row["os"] == "'" + os_once, row["os"]     # CSV: no formula
assert all(not v.startswith("'") for k, v in row.items() if k != "os"), row

# sigs
sigs_doc = section("sigs")
top = bold_list(sigs_doc, "prints one object:", "one object per file")
db_keys = bold_list(sigs_doc, "one object per file with the keys", "\n.SH")
o = json.load(open(T + "/sigs.json"))
assert list(o) == top, (list(o), top)
for d in o["databases"]:
    assert list(d) == db_keys, (list(d), db_keys)
print("documented keys match:", len(file_keys), len(dkeys), len(skeys), len(top), len(db_keys))
PY
echo PASS
