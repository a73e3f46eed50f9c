# ovscan — checks for the live-poll tests (source after functions.sh and
# guest.sh): what ovscan leaves in a running VM (seen through guest_qmp)
# and in its private directory.
#
#   live_node_bitmaps MNT NODE     "name:recording:count" of every ovscan-*
#                                  bitmap of NODE, one a line
#   live_strays MNT                ovscan-* exports, block nodes and jobs of
#                                  the VM, one a line ("export ID" …)
#   live_assert_clean MNT DIR WHAT fail unless: no strays, exactly one
#                                  ovscan bitmap on fmt0 and it records, and
#                                  DIR holds nothing but lock files
#   live_setup                     requires + OVSCAN_LIVE_DIR + O=(ovscan …)

# The common start of a live test: skip (77) without root or the tools;
# OVSCAN_LIVE_DIR private to the test; O = ovscan with the test's state db.
live_setup () {
  requires_root
  requires qemu-storage-daemon --version
  requires nbdfuse --version
  requires python3 --version
  requires sqlite3 --version
  export OVSCAN_LIVE_DIR="$T/live"
  O=("$OVSCAN" --state "$T/state.db")
}

# Parsers of query-named-block-nodes / query-block-exports / query-jobs
# replies (JSON on stdin), shared by the guest.sh and the bare-qsd helpers.
_live_bitmaps_of () {
  python3 -c '
import json, sys
for n in json.load(sys.stdin):
    if n["node-name"] != sys.argv[1]:
        continue
    for b in n.get("dirty-bitmaps", []):
        if b.get("name", "").startswith("ovscan-"):
            print("%s:%s:%d%s" % (b["name"], "rec" if b["recording"] else "off", b["count"],
                                  ":inconsistent" if b.get("inconsistent") else ""))' "$1"
}

_live_ovscan_ids () {    # KIND KEY
  python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e[sys.argv[2]].startswith("ovscan-"): print(sys.argv[1], e[sys.argv[2]])' "$1" "$2"
}

# QMP_FN TARGET: the strays through QMP_FN (guest_qmp or live_qsd_qmp).
_live_strays_via () {
  "$1" "$2" '{"execute":"query-block-exports"}' | _live_ovscan_ids export id
  "$1" "$2" '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' |
    _live_ovscan_ids node node-name
  "$1" "$2" '{"execute":"query-jobs"}' | _live_ovscan_ids job id
}

live_node_bitmaps () {
  guest_qmp "$1" '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' |
    _live_bitmaps_of "$2"
}

live_strays () { _live_strays_via guest_qmp "$1"; }

live_assert_clean () {
  local mnt=$1 dir=$2 what=$3 strays bitmaps files
  strays=$(live_strays "$mnt")
  [ -z "$strays" ] || fail "$what: left in the VM: $strays"
  bitmaps=$(live_node_bitmaps "$mnt" fmt0)
  [ "$(echo "$bitmaps" | grep -c .)" = 1 ] || fail "$what: ovscan bitmaps: $bitmaps"
  case "$bitmaps" in *:rec:*) ;; *) fail "$what: the bitmap does not record: $bitmaps" ;; esac
  files=$(ls -A "$dir" 2>/dev/null | grep -v '\.lock$' || true)
  [ -z "$files" ] || fail "$what: left in $dir: $files"
}

# A bare VM stand-in without a guest mount: qemu-storage-daemon with the
# image's qcow2 node (NODE, default fmt0) and a QMP monitor, and no NBD
# server (ovscan then starts its own, as with a real VM).
#   live_qsd_start IMG DIR [NODE]   QMP socket DIR/qmp.sock
#   live_qsd_qmp DIR JSON           one command, prints the "return" JSON
#   live_qsd_stop DIR               quit through QMP (bitmaps saved)
#   live_qsd_kill DIR               kill -9 (bitmaps left inconsistent)
live_qsd_start () {
  local img=$1 dir=$2 node=${3:-fmt0}
  mkdir -p "$dir"
  qemu-storage-daemon \
    --blockdev "driver=file,node-name=${node}-file,filename=$img" \
    --blockdev "driver=qcow2,node-name=$node,file=${node}-file" \
    --chardev "socket,id=qmp0,path=$dir/qmp.sock,server=on,wait=off" \
    --monitor chardev=qmp0 --daemonize --pidfile "$dir/qsd.pid" || return 1
  cleanup_fn "live_qsd_kill '$dir'"
}

live_qsd_qmp () { _guest_qmp_sock "$1/qmp.sock" "$2"; }

_live_qsd_wait () {
  local pid=$1 i
  for (( i=0; i<400; i++ )); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  return 1
}

live_qsd_stop () {
  local pid
  [ -s "$1/qsd.pid" ] || return 0
  pid=$(cat "$1/qsd.pid")
  live_qsd_qmp "$1" '{"execute":"quit"}' >/dev/null || true
  _live_qsd_wait "$pid" || { kill -9 "$pid"; return 1; }
  rm -f "$1/qsd.pid"
}

live_qsd_kill () {
  local pid
  [ -s "$1/qsd.pid" ] || return 0
  pid=$(cat "$1/qsd.pid")
  kill -9 "$pid" 2>/dev/null
  _live_qsd_wait "$pid"
  rm -f "$1/qsd.pid"
}

# Like live_strays / live_node_bitmaps, for a bare qsd (or VM) in DIR.
live_qsd_strays () { _live_strays_via live_qsd_qmp "$1"; }

live_qsd_bitmaps () {
  live_qsd_qmp "$1" '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' |
    _live_bitmaps_of "${2:-fmt0}"
}
