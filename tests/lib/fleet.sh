# ovscan — helpers of the fleet tests (source after functions.sh, guest.sh).
#   fleet_setup              what every fleet test needs: root,
#                            qemu-storage-daemon, nbdfuse, python3 (else
#                            exit 77 naming the one absent); sets
#                            O=(ovscan --state $T/state.db), makes $T/mnt
#   fleet_base DIR FILES     DIR/base.qcow2: ext4 (128M) filled with FILES
#                            seeded files (workload.py populate)
#   fleet_change IMG MNT SEED OPS TAG   mount IMG through qsd + nbdfuse + the
#                            kernel, run the seeded workload, write the
#                            ground truth to $T/truth-TAG.json
#   fleet_db SQL             one value from the state db ($T/state.db)
#   fleet_poll_json FILE KEY   KEY of the poll object in FILE
FLEET_WORKLOAD="$OVSCAN_SOURCE_DIR/tests/lib/workload.py"

fleet_setup () {
  requires_root
  requires qemu-storage-daemon --version
  requires nbdfuse --version
  requires python3 --version
  O=("$OVSCAN" --state "$T/state.db")
  mkdir -p "$T/mnt"
}

fleet_base () {
  mkdir -p "$1/src"
  python3 "$FLEET_WORKLOAD" populate --seed 1 --root "$1/src" --files "$2"
  guest_mkfs "$1/base.qcow2" 128M ext4 "$1/src" -b 4096
}

fleet_change () {
  local img=$1 mnt=$2 seed=$3 ops=$4 tag=$5
  guest_start "$img" "$mnt" ext4 || return 1
  python3 "$FLEET_WORKLOAD" snapshot --root "$mnt" --out "$T/before-$tag.json"
  python3 "$FLEET_WORKLOAD" run --seed "$seed" --root "$mnt" --ops "$ops" >/dev/null
  if [ -n "${FLEET_EXTRA:-}" ]; then eval "$FLEET_EXTRA"; fi
  python3 "$FLEET_WORKLOAD" snapshot --root "$mnt" --out "$T/after-$tag.json"
  guest_stop "$mnt" || return 1
  python3 "$FLEET_WORKLOAD" diff "$T/before-$tag.json" "$T/after-$tag.json" \
    --out "$T/truth-$tag.json" >/dev/null
}

fleet_db () {
  python3 - "$T/state.db" "$1" <<'PY'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
print(row[0] if row else "")
PY
}

fleet_poll_json () {
  python3 - "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]).read().splitlines():
    if line.strip():
        o = json.loads(line)
        if o.get("type", "poll") == "poll":
            print(o[sys.argv[2]]); break
PY
}
