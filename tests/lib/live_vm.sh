# ovscan — a real VM for the live tests (source after functions.sh):
# qemu-system-x86_64 with TCG (no KVM here), the Debian kernel from /boot and
# a busybox initramfs whose /init is the caller's script.  The VM's disk is a
# qcow2 on virtio-blk (-blockdev node "disk0", -device id "vd0"), its QMP
# monitor a unix socket, its serial console a file.
#
#   live_vm_requires               exit 77 (skip, saying why) unless root,
#                                  qemu-system-x86_64, busybox, cpio,
#                                  modprobe and a kernel with modules
#   live_vm_init_head              prints the start of a guest /init: mount
#                                  proc, sys, dev; load the modules; wait
#                                  for /dev/vda, mount it (ext4) on /mnt;
#                                  mkdir /mnt/data; echo GUEST-READY
#   live_vm_kernel                 the newest /boot/vmlinuz-* with modules
#                                  (prints its path; fails if none)
#   live_vm_initramfs OUT SCRIPT   OUT (cpio.gz): busybox, the virtio-blk
#                                  and ext4 modules of that kernel (insmod
#                                  list in /modules.order), SCRIPT as /init
#   live_vm_start DIR IMG INITRD   boot; QMP DIR/qmp.sock, console
#                                  DIR/console.log; registers a kill at exit
#   live_vm_wait DIR TEXT SECONDS  until TEXT appears on the console
#   live_vm_quit DIR               QMP quit, wait for the process
# Requires qemu-system-x86_64, busybox (static), cpio, gzip, modprobe.
# Cost: building the initramfs ~1 s; a TCG boot to /init 10-40 s.

live_vm_requires () {
  requires_root
  requires qemu-system-x86_64 --version
  requires busybox true
  requires cpio --version
  requires modprobe --version
  if ! live_vm_kernel >/dev/null; then
    echo "SKIP: no kernel with modules in /boot (install linux-image-amd64)" >&2
    exit 77
  fi
}

live_vm_init_head () {
  cat <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod "$m" 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /mnt || { echo GUEST-FAIL mount; poweroff -f; }
mkdir -p /mnt/data
echo GUEST-READY
EOF
}

live_vm_kernel () {
  local k v
  for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -rV); do
    v=${k#/boot/vmlinuz-}
    [ -d "/lib/modules/$v" ] && { echo "$k"; return 0; }
  done
  return 1
}

live_vm_initramfs () {
  local out=$1 script=$2 kernel v root m bb
  kernel=$(live_vm_kernel) || return 1
  v=${kernel#/boot/vmlinuz-}
  bb=$(command -v busybox) || return 1
  root=$(mktemp -d) || return 1
  mkdir -p "$root"/{bin,dev,proc,sys,mnt,lib/modules}
  cp "$bb" "$root/bin/busybox"
  for m in sh mount umount mkdir echo cat sleep sync dd insmod poweroff ls \
           printf seq head date rm mv mdev test; do
    ln -s busybox "$root/bin/$m"
  done
  : > "$root/modules.order"
  for m in $(for x in virtio_pci virtio_blk ext4; do
               modprobe -S "$v" --show-depends "$x" | awk '$1 == "insmod" { print $2 }'
             done | awk '!seen[$0]++'); do
    cp "$m" "$root/lib/modules/"
    echo "/lib/modules/$(basename "$m")" >> "$root/modules.order"
  done
  cp "$script" "$root/init"
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
  local rc=$?
  rm -rf "$root"
  return $rc
}

live_vm_start () {
  local dir=$1 img=$2 initrd=$3 kernel
  kernel=$(live_vm_kernel) || return 1
  mkdir -p "$dir"
  qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 -nodefaults -display none \
    -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3" \
    -serial "file:$dir/console.log" \
    -blockdev "driver=file,node-name=disk0-file,filename=$img" \
    -blockdev driver=qcow2,node-name=disk0,file=disk0-file \
    -device virtio-blk-pci,drive=disk0,id=vd0 \
    -qmp "unix:$dir/qmp.sock,server=on,wait=off" \
    -no-reboot -daemonize -pidfile "$dir/vm.pid" || return 1
  cleanup_fn "live_vm_kill '$dir'"
}

live_vm_wait () {
  local dir=$1 text=$2 i
  for (( i=0; i<$3*10; i++ )); do
    grep -q "$text" "$dir/console.log" 2>/dev/null && return 0
    [ -s "$dir/vm.pid" ] && ! kill -0 "$(cat "$dir/vm.pid")" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}

live_vm_kill () {
  [ -s "$1/vm.pid" ] || return 0
  kill -9 "$(cat "$1/vm.pid")" 2>/dev/null
  rm -f "$1/vm.pid"
}

live_vm_quit () {
  local pid i
  [ -s "$1/vm.pid" ] || return 0
  pid=$(cat "$1/vm.pid")
  _guest_qmp_sock "$1/qmp.sock" '{"execute":"quit"}' >/dev/null || true
  for (( i=0; i<200; i++ )); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$1/vm.pid"; return 0; }
    sleep 0.05
  done
  return 1
}
