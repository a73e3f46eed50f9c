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

live_node_bitmaps () {
  guest_qmp "$1" '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' |
    python3 -c '
import json, sys
for n in json.load(sys.stdin):
    if n["node-name"] != sys.argv[1]:
        continue
    for b in n.get("dirty-bitmaps", []):
        if b["name"].startswith("ovscan-"):
            print("%s:%s:%d" % (b["name"], "rec" if b["recording"] else "off", b["count"]))' "$2"
}

live_strays () {
  {
    guest_qmp "$1" '{"execute":"query-block-exports"}' | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["id"].startswith("ovscan-"): print("export", e["id"])'
    guest_qmp "$1" '{"execute":"query-named-block-nodes","arguments":{"flat":true}}' | python3 -c '
import json, sys
for n in json.load(sys.stdin):
    if n["node-name"].startswith("ovscan-"): print("node", n["node-name"])'
    guest_qmp "$1" '{"execute":"query-jobs"}' | python3 -c '
import json, sys
for j in json.load(sys.stdin):
    if j["id"].startswith("ovscan-"): print("job", j["id"])'
  }
}

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
