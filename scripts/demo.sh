#!/bin/sh
# ovscan — the main job end to end, from a fresh Debian 12 machine:
# installs the dependencies, builds ovscan, creates a demo VM disk
# (demo/demo-vm.qcow2: GPT with an ext4 and a FAT32 partition and two planted
# test viruses) and scans it from outside the VM with ovscan's own test
# signatures (this machine has no ClamAV database: freshclam cannot reach
# its servers here).  Expected: two detections, exit status 1.
# Usage: sudo scripts/demo.sh        (OVSCAN_SKIP_DEPS=1 to skip the install)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "${OVSCAN_SKIP_DEPS:-0}" != 1 ]; then
  scripts/install-deps.sh
fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DOVSCAN_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)"
mkdir -p demo
[ -f demo/demo-vm.qcow2 ] || scripts/make-demo-disk.sh demo/demo-vm.qcow2
set +e
build/release/ovscan scan demo/demo-vm.qcow2 --test-signatures
status=$?
set -e
echo "ovscan exit status: $status (0 clean, 1 detections, 2 errors)"
[ "$status" -eq 1 ]
