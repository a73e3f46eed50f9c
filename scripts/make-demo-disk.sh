#!/bin/bash
# ovscan — build a small demo VM disk: OUT (qcow2, 240 MiB) with a GPT,
#   p1  ext4   a Linux-like tree, EICAR planted in /home/alice/Downloads
#   p2  FAT32  a "USB stick" with clamav-testfiles' clam.zip in /DOWNLOAD
# Everything is made by the real tools (mkfs.ext4 -d, mkfs.vfat + mtools,
# sgdisk, qemu-img); nothing is mounted, so no root is needed.
# Usage: scripts/make-demo-disk.sh OUT.qcow2
set -euo pipefail
out=${1:?usage: make-demo-disk.sh OUT.qcow2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# p1: a small Linux root.
root=$work/root
mkdir -p "$root"/{etc,home/alice/Downloads,home/alice/docs,var/www/html,usr/bin}
echo demo-vm > "$root/etc/hostname"
cp /etc/services "$root/etc/services"
cp /bin/ls /bin/cp "$root/usr/bin/"
printf 'Quarterly report\n' > "$root/home/alice/docs/report 2026.txt"
printf '<html>hello</html>\n' > "$root/var/www/html/index.html"
printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' \
  > "$root/home/alice/Downloads/invoice.pdf.exe"
mkfs.ext4 -q -F -L demo-root -d "$root" "$work/p1.img" 128M >/dev/null

# p2: a FAT32 stick with an archived test virus.
mkfs.vfat -F 32 -n DEMO-USB -C "$work/p2.img" $((100 * 1024)) >/dev/null
mmd -i "$work/p2.img" ::/DOWNLOAD
mcopy -i "$work/p2.img" /usr/share/clamav-testfiles/clam.zip ::/DOWNLOAD/setup.zip
mcopy -i "$work/p2.img" /etc/os-release ::/README.TXT

# The disk: GPT, p1 at 1 MiB, p2 right after.
truncate -s 240M "$work/disk.raw"
sgdisk -o -n 1:2048:+128M -t 1:8300 -n 2:0:+100M -t 2:0700 "$work/disk.raw" >/dev/null
p1_start=$(sgdisk -i 1 "$work/disk.raw" | awk '/First sector/ {print $3}')
p2_start=$(sgdisk -i 2 "$work/disk.raw" | awk '/First sector/ {print $3}')
dd if="$work/p1.img" of="$work/disk.raw" bs=512 seek="$p1_start" conv=notrunc,sparse status=none
dd if="$work/p2.img" of="$work/disk.raw" bs=512 seek="$p2_start" conv=notrunc,sparse status=none
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$out"
echo "demo disk: $out (GPT: p1 ext4, p2 FAT32)"
