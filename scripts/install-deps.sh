#!/bin/sh
# Installs the Debian 12 packages ovscan needs to build, test and benchmark.
# Run as root (or with sudo) on a fresh machine; safe to re-run.
set -eu
export DEBIAN_FRONTEND=noninteractive
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential cmake pkg-config \
    libnbd-dev libnbd-bin nbdfuse nbdkit qemu-utils qemu-block-extra qemu-system-common \
    libclamav-dev clamav clamav-testfiles \
    libsqlite3-dev sqlite3 libcmocka-dev libtsk-dev sleuthkit libjson-c-dev \
    e2fsprogs ntfs-3g dosfstools exfatprogs exfat-fuse mtools gdisk parted fdisk util-linux \
    fuse3 file xxd time python3 \
    libguestfs-dev libguestfs-tools linux-image-amd64 lvm2 xfsprogs uuid-runtime btrfs-progs cryptsetup-bin \
    qemu-system-x86 busybox-static cpio kmod systemd
