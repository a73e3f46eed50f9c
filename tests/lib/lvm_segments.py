#!/usr/bin/env python3
"""Move bytes between an LV image file and a disk through an LV's segment map
(lines "LV_OFFSET DISK_OFFSET LENGTH", bytes) — the test machine has no
device-mapper, so an LV stored in several runs is assembled by hand.

  lvm_segments.py put SEGS IMAGE DISK      write IMAGE into DISK's segments
  lvm_segments.py get SEGS DISK IMAGE      read the LV from DISK into IMAGE
  lvm_segments.py sync SEGS OLD NEW DISK   write the 4 KiB blocks where NEW
                                           differs from OLD; prints how many
                                           went to each segment ("seg0 N")
"""
import mmap
import os
import sys

BLOCK = 4096


def segments(path):
    segs = [tuple(int(x) for x in line.split()) for line in open(path) if line.strip()]
    end = 0
    for lv, disk, length in segs:
        assert lv == end and length % BLOCK == 0, (lv, end, length)
        end += length
    return segs


def locate(segs, off):
    for i, (lv, disk, length) in enumerate(segs):
        if lv <= off < lv + length:
            return i, disk + off - lv
    raise ValueError("offset %d outside the LV" % off)


def main():
    cmd, segs = sys.argv[1], segments(sys.argv[2])
    if cmd == "put":
        with open(sys.argv[3], "rb") as img, open(sys.argv[4], "r+b") as d:
            for lv, disk, length in segs:
                img.seek(lv)
                d.seek(disk)
                d.write(img.read(length))
    elif cmd == "get":
        # The guest's device may be opened O_DIRECT: page-aligned buffers.
        fd = os.open(sys.argv[3], os.O_RDONLY)
        buf = mmap.mmap(-1, 1 << 20)
        with open(sys.argv[4], "wb") as img:
            for lv, disk, length in segs:
                for off in range(0, length, 1 << 20):
                    n = min(1 << 20, length - off)
                    got = os.preadv(fd, [memoryview(buf)[:n]], disk + off)
                    assert got == n, (disk + off, got)
                    img.write(buf[:n])
        os.close(fd)
    elif cmd == "sync":
        counts = [0] * len(segs)
        fd = os.open(sys.argv[5], os.O_RDWR)
        buf = mmap.mmap(-1, BLOCK)
        with open(sys.argv[3], "rb") as old, open(sys.argv[4], "rb") as new:
            off = 0
            while True:
                a, b = old.read(BLOCK), new.read(BLOCK)
                if not b:
                    break
                if a != b:
                    i, where = locate(segs, off)
                    buf[:] = b
                    assert os.pwrite(fd, buf, where) == BLOCK, where
                    counts[i] += 1
                off += BLOCK
        os.fsync(fd)
        os.close(fd)
        for i, n in enumerate(counts):
            print("seg%d %d" % (i, n))
    else:
        sys.exit(__doc__)


main()
