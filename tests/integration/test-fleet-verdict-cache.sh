#!/bin/bash
# Cross-VM verdict cache: one identical update (the same files, same bytes,
# one of them an EICAR) written through the kernel into each of five VM
# overlays, plus each VM's own changes.  One fleet poll: every update file
# scanned by libclamav once (one verdict_cache row per digest, hit by the
# four other VMs), the EICAR reported infected in every VM, each VM's own
# files still scanned, recall 100% per VM.  Other signatures (another
# version): the cache of the old version is not used.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/fleet.sh"
fleet_setup
N=5
mkdir -p "$T/update"
fleet_base "$T" 100
for i in $(seq 8); do head -c $((i * 7000 + 123)) /dev/urandom > "$T/update/lib$i.so"; done
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$T/update/dropper"
for i in $(seq $N); do
  qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k -b base.qcow2 -F qcow2 "$T/vm$i.qcow2"
  "${O[@]}" add vm$i --image "$T/vm$i.qcow2" --tracker layers >/dev/null || fail "add vm$i"
  FLEET_EXTRA='mkdir -p "$mnt/opt/update" && cp "$T/update"/* "$mnt/opt/update/"'
  fleet_change "$T/vm$i.qcow2" "$T/mnt" $((i + 40)) 15 "vm$i" || fail "vm$i writes"
done
set +e
"${O[@]}" poll --all --json --test-signatures > "$T/poll.json" 2> "$T/poll.err"
status=$?
set -e
expect_eq "$status" 1 "fleet poll exit (the update holds an EICAR)"
for i in $(seq $N); do
  python3 "$FLEET_WORKLOAD" check --truth "$T/truth-vm$i.json" --poll "$T/poll.json" --vm vm$i >/dev/null ||
    fail "vm$i: recall below 100%"
done
python3 - "$T/poll.json" $N <<'PY' || fail "update verdicts"
import json, sys
polls = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
polls = [p for p in polls if p.get("type", "poll") == "poll"]
assert len(polls) == int(sys.argv[2]), len(polls)
for p in polls:
    upd = {f["path"]: f for f in p["files"] if f["path"].startswith("/opt/update/")}
    assert len(upd) == 9, (p["vm"], sorted(upd))
    assert upd["/opt/update/dropper"]["verdict"] == "infected", (p["vm"], upd["/opt/update/dropper"])
    assert all(f["verdict"] == "clean" for k, f in upd.items() if k != "/opt/update/dropper"), p["vm"]
PY
version=$(fleet_db "select sig_version from verdict_cache limit 1")
for f in "$T/update"/*; do
  sha=$(sha256sum "$f" | cut -d' ' -f1)
  row=$(fleet_db "select count(*) || ' ' || coalesce(sum(hits), -1) from verdict_cache where lower(hex(sha256)) = '$sha'")
  expect_eq "$row" "1 $((N - 1))" "$(basename "$f"): scanned once, taken by the other VMs"
done
expect_eq "$(fleet_db "select verdict from verdict_cache v where signature like 'Ovscan.Test.EICAR%'")" infected \
  "the cached EICAR verdict"

# Other signatures: a new version; the old entries are not used.
cp "$OVSCAN_SIGS" "$T/extra.ndb"; echo 'Ovscan.Test.Extra:0:*:6f767363616e2d65787472612d6d61726b6572' >> "$T/extra.ndb"
FLEET_EXTRA='mkdir -p "$mnt/opt/update2" && cp "$T/update"/lib1.so "$mnt/opt/update2/"'
fleet_change "$T/vm1.qcow2" "$T/mnt" 99 5 "vm1-b" || fail "vm1 writes 2"
"${O[@]}" poll vm1 --json -d "$T/extra.ndb" > "$T/poll2.json" 2>/dev/null || true
sha=$(sha256sum "$T/update/lib1.so" | cut -d' ' -f1)
expect_eq "$(fleet_db "select count(*) from verdict_cache where lower(hex(sha256)) = '$sha'")" 2 \
  "lib1.so scanned again under the new signature version"
expect_eq "$(fleet_db "select hits from verdict_cache where lower(hex(sha256)) = '$sha' and sig_version != '$version'")" 0 \
  "no hit on the old version's entry"

# Same signatures, other scan limits: a verdict given under one
# --max-scansize (an archive maybe cut short) does not stand for another.
FLEET_EXTRA='mkdir -p "$mnt/opt/update3" && cp "$T/update"/lib1.so "$mnt/opt/update3/"'
fleet_change "$T/vm2.qcow2" "$T/mnt" 98 5 "vm2-c" || fail "vm2 writes 3"
"${O[@]}" poll vm2 --json --test-signatures --max-scansize 1M > "$T/poll3.json" 2>/dev/null || true
expect_eq "$(fleet_db "select count(*) from verdict_cache where lower(hex(sha256)) = '$sha'")" 3 \
  "lib1.so scanned again under other scan limits"
expect_eq "$(fleet_db "select count(*) from verdict_cache where lower(hex(sha256)) = '$sha' and sig_version like '%max-scansize 1048576'")" 1 \
  "the limits are part of the cache key"
echo PASS
