# ovscan — guest-like writes through the real kernel, recorded by QEMU's
# persistent dirty bitmaps (source this; bash).
#
# A "guest" here is the same QEMU block layer that serves a running VM's
# disk: qemu-storage-daemon (qsd) opens the qcow2 read-write, which loads
# and enables every persistent bitmap in it, so every write it receives is
# recorded in them.  The disk is served over NBD on a private unix socket,
# turned into a file by nbdfuse, attached to a loop device (direct I/O, so
# no second page cache sits between the loop device and qsd) and mounted by
# the kernel (ext4) or ntfs-3g (ntfs).  Programs then write files as a guest
# would.
#
#   guest_mkfs IMG SIZE FSTYPE [SRC [MKFS_OPTS…]]  fresh qcow2 IMG with an
#                           ext4 or ntfs filesystem of SIZE (e.g. 64M),
#                           filled from SRC (may be "").
#                           (mkfs on a raw file, then qemu-img convert; the
#                           caller adds bitmaps afterwards.)
#   guest_start IMG MNT [FSTYPE]  serve IMG and mount it at MNT; FSTYPE is
#                           ext4, ntfs, auto (blkid; the default) or none
#                           (no mount: the disk is only reachable as a
#                           block device, see guest_dev MNT).
#   guest_stop MNT          sync, umount, detach, unmount nbdfuse, quit qsd
#                           cleanly through QMP (bitmaps are stored, their
#                           in-use flag cleared); fails if any bitmap of IMG
#                           is still "in-use" afterwards.
#   guest_kill MNT          kill -9 of qsd first (persistent bitmaps stay
#                           "in-use", i.e. inconsistent, as after a host
#                           crash), then tear the rest down.
#   guest_qmp MNT JSON      send one QMP command to the guest's qsd, print
#                           the "return" value as JSON (fails on "error").
#   guest_dev MNT           the loop device of the guest (e.g. /dev/loop3).
#   guest_bitmaps IMG       names of the ovscan-* bitmaps of IMG, one a line.
#   guest_bitmap_flags IMG NAME  the flags of bitmap NAME (e.g. "in-use auto").
#
# Facts verified on qemu 7.2 (test-harness-guest.sh checks them again):
#   - a persistent, enabled bitmap records the writes qsd receives even when
#     it is not listed in the NBD export's "bitmaps", so guest_start does not
#     export them (an exported bitmap is "busy": QMP cannot remove or
#     disable it while exported).  Set GUEST_EXPORT_BITMAPS=1 to export them
#     anyway (then `nbdinfo --map=qemu:dirty-bitmap:NAME` works live).
#   - qsd holds qemu-img's write lock on IMG while the guest runs.
#
# Every function cleans up what it started if it fails, and guest_start
# registers a teardown with cleanup_fn (tests/functions.sh) so nothing
# leaks when the test dies: no mount, loop device, FUSE mount or qsd.
# Requires root, qemu-storage-daemon, nbdfuse, fusermount3, losetup,
# python3 (QMP and JSON), and ntfs-3g/mkntfs for ntfs.
# Cost: guest_start ~0.3 s, guest_stop ~0.5 s on a small image.

declare -A _GUEST_DIR=()          # canonical MNT -> private state directory

if ! declare -F cleanup_fn >/dev/null; then
  # Standalone use (bench/): a minimal LIFO exit-trap list like functions.sh's.
  _cleanups=()
  cleanup_fn () { _cleanups+=("$*"); }
  _run_cleanups () {
    local i
    for (( i=${#_cleanups[@]}-1; i>=0; i-- )); do eval "${_cleanups[$i]}" || true; done
  }
  trap _run_cleanups EXIT
fi

_guest_log () { echo "guest: $*" >&2; }

guest_bitmaps () {
  qemu-img info -U --output=json "$1" | python3 -c '
import json, sys
info = json.load(sys.stdin)
for b in info.get("format-specific", {}).get("data", {}).get("bitmaps", []) or []:
    if b["name"].startswith("ovscan-"):
        print(b["name"])'
}

guest_bitmap_flags () {
  qemu-img info -U --output=json "$1" | python3 -c '
import json, sys
info = json.load(sys.stdin)
for b in info.get("format-specific", {}).get("data", {}).get("bitmaps", []) or []:
    if b["name"] == sys.argv[1]:
        print(" ".join(b.get("flags", [])))
        sys.exit(0)
sys.exit(1)' "$2"
}

_guest_qmp_sock () {
  # usage: _guest_qmp_sock SOCKET JSON — one command after the handshake
  python3 - "$1" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())                       # greeting
def command(cmd):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    while True:
        line = f.readline()
        if not line:
            if cmd.get("execute") == "quit":
                return {}
            sys.exit("qmp: connection closed")
        reply = json.loads(line)
        if "event" in reply:
            continue
        if "error" in reply:
            sys.exit("qmp: %s: %s" % (cmd.get("execute"), reply["error"].get("desc")))
        return reply.get("return")
command({"execute": "qmp_capabilities"})
print(json.dumps(command(json.loads(sys.argv[2]))))
EOF
}

_guest_dir_of () {
  local mnt
  mnt=$(realpath -m "$1")
  local d=${_GUEST_DIR[$mnt]:-}
  [ -n "$d" ] && [ -d "$d" ] || { _guest_log "no guest mounted at $mnt"; return 1; }
  echo "$d"
}

guest_qmp () {
  local d
  d=$(_guest_dir_of "$1") || return 1
  _guest_qmp_sock "$d/qmp.sock" "$2"
}

guest_dev () {
  local d
  d=$(_guest_dir_of "$1") || return 1
  cat "$d/loop"
}

_guest_wait_gone () {     # PID SECONDS: wait until PID has exited
  local pid=$1 i
  for (( i=0; i<$2*20; i++ )); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  return 1
}

# Tear down whatever of the guest in state dir D still exists.  MODE is
# "clean" (QMP quit) or "kill" (kill -9 of qsd before anything else).
_guest_teardown () {
  local d=$1 mode=${2:-clean} rc=0 mnt loop pid i
  [ -d "$d" ] || return 0
  mnt=$(cat "$d/mnt" 2>/dev/null || true)
  if [ "$mode" = kill ] && [ -s "$d/qsd.pid" ]; then
    kill -9 "$(cat "$d/qsd.pid")" 2>/dev/null
    _guest_wait_gone "$(cat "$d/qsd.pid")" 10
  fi
  if [ -e "$d/mounted" ]; then
    sync
    if ! umount "$mnt" 2>"$d/umount.err"; then
      [ "$mode" = kill ] || { cat "$d/umount.err" >&2; rc=1; }
      umount -l "$mnt" 2>/dev/null || true
    fi
    rm -f "$d/mounted"
  fi
  if [ -s "$d/loop" ]; then
    loop=$(cat "$d/loop")
    # ntfs-3g (FUSE) closes the device only when its daemon has exited,
    # after umount returned; the loop device detaches at its last close.
    losetup -d "$loop" 2>/dev/null || true
    for (( i=0; i<600; i++ )); do
      [ -e "/sys/block/${loop#/dev/}/loop/backing_file" ] || break
      sleep 0.05
    done
    if [ -e "/sys/block/${loop#/dev/}/loop/backing_file" ]; then
      _guest_log "loop device $loop still attached"; rc=1
    fi
    : > "$d/loop"
  fi
  if [ -s "$d/nbdfuse.pid" ]; then
    pid=$(cat "$d/nbdfuse.pid")
    fusermount3 -u "$d/fuse" 2>/dev/null || fusermount3 -u -z "$d/fuse" 2>/dev/null || true
    if ! _guest_wait_gone "$pid" 20; then
      _guest_log "nbdfuse $pid did not exit"; kill -9 "$pid" 2>/dev/null; rc=1
    fi
    : > "$d/nbdfuse.pid"
  fi
  if [ -s "$d/qsd.pid" ]; then
    pid=$(cat "$d/qsd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      if [ "$mode" = clean ]; then
        _guest_qmp_sock "$d/qmp.sock" '{"execute":"quit"}' >/dev/null || rc=1
      fi
      if ! _guest_wait_gone "$pid" 30; then
        _guest_log "qemu-storage-daemon $pid did not quit; killing it"
        kill -9 "$pid" 2>/dev/null; rc=1
      fi
    fi
    : > "$d/qsd.pid"
  fi
  [ -n "$mnt" ] && unset "_GUEST_DIR[$mnt]"
  rm -rf "$d"
  return $rc
}

guest_start () {
  local img=$1 mnt fstype=${3:-auto} d bitmaps="" name export_json i loop fpid
  mnt=$(realpath -m "$2")
  [ -f "$img" ] || { _guest_log "$img: no such image"; return 1; }
  [ -d "$mnt" ] || { _guest_log "$mnt: no such directory"; return 1; }
  [ -z "${_GUEST_DIR[$mnt]:-}" ] || { _guest_log "$mnt: a guest is already mounted there"; return 1; }
  img=$(realpath "$img")
  # Unix socket paths are limited to 107 bytes: keep the state dir short.
  d=$(mktemp -d /tmp/ovscan-guest.XXXXXX) || return 1
  _GUEST_DIR[$mnt]=$d
  echo "$mnt" > "$d/mnt"
  echo "$img" > "$d/img"
  : > "$d/loop"; : > "$d/nbdfuse.pid"
  cleanup_fn "_guest_teardown '$d' kill"

  if [ "${GUEST_EXPORT_BITMAPS:-0}" = 1 ]; then
    for name in $(guest_bitmaps "$img"); do
      bitmaps+="${bitmaps:+,}\"$name\""
    done
  fi
  export_json="{\"type\":\"nbd\",\"id\":\"nbd0\",\"node-name\":\"fmt0\",\"name\":\"vm\",\"writable\":true,\"bitmaps\":[$bitmaps]}"
  if ! qemu-storage-daemon \
      --blockdev "driver=file,node-name=file0,filename=$img" \
      --blockdev driver=qcow2,node-name=fmt0,file=file0 \
      --nbd-server "addr.type=unix,addr.path=$d/nbd.sock,max-connections=16" \
      --export "$export_json" \
      --chardev "socket,id=qmp0,path=$d/qmp.sock,server=on,wait=off" \
      --monitor chardev=qmp0 \
      --daemonize --pidfile "$d/qsd.pid" 2>"$d/qsd.err"; then
    _guest_log "qemu-storage-daemon on $img failed: $(cat "$d/qsd.err")"
    _guest_teardown "$d" kill; return 1
  fi

  mkdir "$d/fuse"
  nbdfuse -P "$d/nbdfuse.pid.tmp" "$d/fuse" "nbd+unix:///vm?socket=$d/nbd.sock" \
    </dev/null >"$d/nbdfuse.log" 2>&1 &
  # nbdfuse aborts when qsd is killed under it (guest_kill): keep bash's
  # job report of that out of the test's output.
  fpid=$!
  disown "$fpid"
  for (( i=0; i<200; i++ )); do
    [ -s "$d/nbdfuse.pid.tmp" ] && break
    kill -0 "$fpid" 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -s "$d/nbdfuse.pid.tmp" ]; then
    _guest_log "nbdfuse failed: $(cat "$d/nbdfuse.log")"
    kill "$fpid" 2>/dev/null
    _guest_teardown "$d" clean; return 1
  fi
  mv "$d/nbdfuse.pid.tmp" "$d/nbdfuse.pid"

  if ! loop=$(losetup -f --show --direct-io=on "$d/fuse/nbd" 2>"$d/losetup.err"); then
    _guest_log "losetup failed: $(cat "$d/losetup.err")"
    _guest_teardown "$d" clean; return 1
  fi
  echo "$loop" > "$d/loop"

  if [ "$fstype" = auto ]; then
    fstype=$(blkid -p -o value -s TYPE "$loop" 2>/dev/null || true)
  fi
  case "$fstype" in
    none) return 0 ;;
    ext4|ext3|ext2) mount -t "$fstype" "$loop" "$mnt" 2>"$d/mount.err" ;;
    ntfs) ntfs-3g "$loop" "$mnt" 2>"$d/mount.err" ;;
    *) echo "unsupported filesystem type '${fstype}'" > "$d/mount.err"; false ;;
  esac || {
    _guest_log "mount of $img at $mnt failed: $(cat "$d/mount.err")"
    _guest_teardown "$d" clean; return 1
  }
  : > "$d/mounted"
}

guest_stop () {
  local d img name flags rc=0
  d=$(_guest_dir_of "$1") || return 1
  img=$(cat "$d/img")
  _guest_teardown "$d" clean || rc=1
  for name in $(guest_bitmaps "$img"); do
    flags=$(guest_bitmap_flags "$img" "$name")
    case " $flags " in
      *" in-use "*) _guest_log "$img: bitmap $name still in-use after a clean stop"; rc=1 ;;
    esac
  done
  return $rc
}

guest_kill () {
  local d
  d=$(_guest_dir_of "$1") || return 1
  _guest_teardown "$d" kill
  return 0
}

guest_mkfs () {
  local img=$1 size=$2 fstype=$3 src=${4:-} raw m i rc=0
  shift 4 2>/dev/null || shift $#
  raw=$(mktemp "${img}.raw.XXXXXX") || return 1
  rm -f "$img"
  truncate -s "$size" "$raw" || { rm -f "$raw"; return 1; }
  case "$fstype" in
    ext4)
      mkfs.ext4 -q -F ${src:+-d "$src"} "$@" "$raw" || rc=1 ;;
    ntfs)
      mkntfs -q -F -f "$@" "$raw" >"$raw.log" 2>&1 || { cat "$raw.log" >&2; rc=1; }
      rm -f "$raw.log"
      if [ $rc = 0 ] && [ -n "$src" ]; then
        m=$(mktemp -d)
        if ntfs-3g "$raw" "$m"; then
          cp -a --no-preserve=ownership "$src"/. "$m"/ || rc=1
          umount "$m" || rc=1
          # ntfs-3g writes back after umount returns: wait for its exit.
          for (( i=0; i<200; i++ )); do
            pgrep -f "ntfs-3g $raw" >/dev/null || break
            sleep 0.05
          done
        else
          rc=1
        fi
        rmdir "$m"
      fi ;;
    *) _guest_log "guest_mkfs: unsupported filesystem '$fstype'"; rc=1 ;;
  esac
  if [ $rc = 0 ]; then
    qemu-img convert -q -f raw -O qcow2 "$raw" "$img" || rc=1
  fi
  rm -f "$raw"
  return $rc
}
