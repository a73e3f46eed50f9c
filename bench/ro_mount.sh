# ovscan bench — a qcow2 image's filesystem mounted read-only for the
# clamscan side: qemu-storage-daemon FUSE export (read-only) + loop mount
# ro,noload (no journal replay, so the image is never written).  One mount
# at a time; sourced by run-poll.sh and run-fleet.sh after they define $R,
# die and cleanup_fn (tests/lib/guest.sh).
#   ro_mount IMAGE MOUNTPOINT      ro_umount
RO_QSD= RO_MNT=
ro_mount () {
  local img=$1
  RO_MNT=$2
  : > "$R/ro.disk"
  qemu-storage-daemon \
    --blockdev "driver=file,node-name=file0,filename=$img,read-only=on" \
    --blockdev driver=qcow2,node-name=fmt0,file=file0,read-only=on \
    --export "type=fuse,id=exp0,node-name=fmt0,mountpoint=$R/ro.disk,writable=off" \
    --daemonize --pidfile "$R/ro.qsd.pid" 2>"$R/ro.qsd.err" || die "qsd (ro): $(cat "$R/ro.qsd.err")"
  RO_QSD=$(cat "$R/ro.qsd.pid")
  mount -o loop,ro,noload "$R/ro.disk" "$RO_MNT" || die "ro mount of $img failed"
}
ro_umount () {
  local i
  if [ -n "$RO_MNT" ] && mountpoint -q "$RO_MNT"; then umount "$RO_MNT"; fi
  if [ -n "$RO_QSD" ]; then
    kill "$RO_QSD" 2>/dev/null || true
    for (( i=0; i<200; i++ )); do kill -0 "$RO_QSD" 2>/dev/null || break; sleep 0.05; done
    RO_QSD=
  fi
}
cleanup_fn ro_umount
