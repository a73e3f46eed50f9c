#!/bin/bash
# Incremental polls of an ext4 guest, written through the real kernel while
# qemu-storage-daemon records the writes in ovscan's dirty bitmap.  Each
# round runs a seeded random workload covering every change issue 3 lists
# (same-size rewrite, mtime set back, modify+rename, write through a hard
# link, truncate+rewrite, hole filled, append, new deep dir, delete, rename,
# chmod), takes ground truth from content hashes of the mounted tree, and
# asserts recall = 100% (workload.py check); precision is printed.
# Also: the first poll is full; a poll with no writes is incremental, reads
# no metadata and loads no engine; report dirty repeats the poll's list;
# an EICAR file planted in round 2 is detected.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/../lib/guest.sh"
source "$(dirname "$0")/../lib/recall.sh"
requires_root
requires qemu-storage-daemon --version
requires nbdfuse --version
requires python3 --version
recall_test ext4 128M -b 4096
echo PASS
