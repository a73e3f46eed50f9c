# ovscan — checks of a running VM's copy-on-write chain (source after
# functions.sh, guest.sh, fleet.sh): what `--tracker layers --qmp` leaves
# on disk and in the VM (QMP through guest_qmp).
#
#   fleet_live_chain_ok TOP MAX WHAT   the chain opens with force-share
#                            (qemu-img info -U --backing-chain), TOP is its
#                            first image, the base is last, at most MAX own
#                            layers, every frozen layer passes qemu-img
#                            check -U (the top too once the VM stopped),
#                            no temporary top left
#   fleet_live_no_strays MNT WHAT  no ovscan-* node that nothing uses and
#                            no ovscan-* job in the VM
#   fleet_live_no_strays_sock QMP_SOCKET WHAT  the same for a VM's monitor
#   fleet_live_own_layers TOP      TOP and its TOP.layer-N in the chain now
#   fleet_live_settle MNT    flush the guest's filesystem to its home blocks
#                            (fsfreeze: the journal is checkpointed; ovscan
#                            reads home blocks, it does not replay journals)

fleet_live_own_layers () {
  qemu-img info -U --backing-chain --output=json "$1" | python3 -c '
import json, sys
top = sys.argv[1]
n = 0
for img in json.load(sys.stdin):
    f = img["filename"]
    name = f.rsplit("/", 1)[-1]
    if name == top.rsplit("/", 1)[-1] or name.startswith(top.rsplit("/", 1)[-1] + ".layer-"):
        n += 1
print(n)' "$1"
}

fleet_live_chain_ok () {
  local top=$1 max=$2 what=$3 f n
  qemu-img info -U --backing-chain --output=json "$top" > "$T/chain.json" ||
    fail "$what: the chain does not open"
  python3 - "$T/chain.json" "$top" <<'PY' || fail "$what: chain shape: $(cat "$T/chain.json" | head -c 600)"
import json, os, sys
chain = json.load(open(sys.argv[1]))
top = sys.argv[2]
assert os.path.realpath(chain[0]["filename"]) == os.path.realpath(top), chain[0]["filename"]
assert chain[-1]["filename"].endswith("base.qcow2"), chain[-1]["filename"]
for img in chain[:-1]:
    assert img.get("backing-filename", "").startswith("./") or img is chain[-2], img
PY
  n=$(fleet_live_own_layers "$top")
  [ "$n" -le "$max" ] || fail "$what: $n own layers, limit $max"
  # A top being written is checked only once the VM stopped: under -U
  # qemu-img check races QEMU's allocations (the file grows, refcounts and
  # L2 tables reach it at different times) and reports leaks or clusters
  # past the end that are not there.  Frozen layers must be clean.
  if qemu-img info "$top" > /dev/null 2>&1; then
    qemu-img check -q "$top" || fail "$what: qemu-img check $top"
  fi
  for f in $(ls "$top".layer-* 2>/dev/null); do
    qemu-img check -U -q "$f" || fail "$what: qemu-img check -U $f"
  done
  [ ! -e "$top.ovscan-new" ] || fail "$what: temporary top left"
}

fleet_live_no_strays () {
  local d
  d=$(_guest_dir_of "$1") || fail "$2: no guest at $1"
  fleet_live_no_strays_sock "$d/qmp.sock" "$2"
}

fleet_live_no_strays_sock () {
  local sock=$1 what=$2 out
  out=$(python3 - <(_guest_qmp_sock "$sock" '{"execute":"x-debug-query-block-graph"}') \
          <(_guest_qmp_sock "$sock" '{"execute":"query-jobs"}') <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
jobs = json.load(open(sys.argv[2]))
children = {e["child"] for e in g["edges"]}
for n in g["nodes"]:
    if n["name"].startswith("ovscan-") and n["id"] not in children:
        print("unused node", n["name"])
for j in jobs:
    if j["id"].startswith("ovscan-"):
        print("job", j["id"])
PY
)
  [ -z "$out" ] || fail "$what: left in the VM: $out"
}

fleet_live_settle () {
  sync -f "$1"
  fsfreeze -f "$1" && fsfreeze -u "$1"
}
