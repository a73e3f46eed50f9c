#!/usr/bin/env python3
"""ovscan bench helper for bench/run-live.sh (stdlib only).

  live_bench.py qmp SOCKET disable-all NODE   disable every dirty bitmap of NODE
  live_bench.py qmp SOCKET enable-all NODE    enable them again
  live_bench.py qmp SOCKET exports            ids of ovscan's exports, one a line
  live_bench.py report RESULTS --commit C --disk-mb N [--json OUT]
        RESULTS lines: "<workload> <state> <round> <seconds>" and
        "arm <round> <seconds>"; prints a Markdown table: median throughput
        per workload and state, ratio to "none", and the median time from
        poll start to view exported.
"""
import argparse
import json
import socket
import statistics
import sys

BYTES = {"sparse4k": 16384 * 4096, "seq64k": 8192 * 65536}


def qmp(path, cmds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    f = s.makefile("rw")
    json.loads(f.readline())
    out = []
    for c in [{"execute": "qmp_capabilities"}] + cmds:
        f.write(json.dumps(c) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "event" in r:
                continue
            if "error" in r:
                sys.exit("qmp %s: %s" % (c["execute"], r["error"]["desc"]))
            out.append(r.get("return"))
            break
    return out[1:]


def bitmaps(path, node):
    nodes = qmp(path, [{"execute": "query-named-block-nodes", "arguments": {"flat": True}}])[0]
    for n in nodes:
        if n["node-name"] == node:
            return [b["name"] for b in n.get("dirty-bitmaps", []) if b.get("name")]
    return []


def main():
    if sys.argv[1] == "qmp":
        path, what = sys.argv[2], sys.argv[3]
        if what in ("disable-all", "enable-all"):
            node = sys.argv[4]
            act = "block-dirty-bitmap-" + what.split("-")[0]
            cmds = [{"execute": act, "arguments": {"node": node, "name": b}}
                    for b in bitmaps(path, node)]
            if cmds:
                qmp(path, cmds)
        elif what == "exports":
            for e in qmp(path, [{"execute": "query-block-exports"}])[0]:
                if e["id"].startswith("ovscan-"):
                    print(e["id"])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("results")
    ap.add_argument("--commit", required=True)
    ap.add_argument("--disk-mb", type=int, required=True)
    ap.add_argument("--json")
    a = ap.parse_args()
    runs, arms, by_round = {}, [], {}
    for line in open(a.results):
        p = line.split()
        if p[0] == "arm":
            arms.append(float(p[2]))
        else:
            runs.setdefault((p[0], p[1]), []).append(float(p[3]))
            by_round[(p[0], p[1], int(p[2]))] = float(p[3])

    def paired(w, st):
        """Per-round throughput ratio st / none (same round: drift cancels)."""
        rs = sorted(by_round[(w, "none", r)] / by_round[(w, st, r)]
                    for (ww, s2, r) in by_round if ww == w and s2 == st
                    and (w, "none", r) in by_round)
        q = statistics.quantiles(rs, n=4) if len(rs) >= 2 else [rs[0]] * 3
        return statistics.median(rs), q[0], q[2]
    report = {"commit": a.commit, "disk_mb": a.disk_mb, "workloads": {},
              "view_exported_s": {"median": statistics.median(arms), "min": min(arms),
                                  "max": max(arms), "n": len(arms)}}
    print("ovscan %s, %d MiB qcow2 node, qemu-storage-daemon, NBD writes, queue depth 8, "
          "%d rounds (median)\n" % (a.commit, a.disk_mb, len(arms)))
    print("| workload | none MB/s | bitmap MB/s | view MB/s | bitmap / none | view / none |")
    print("|---|---|---|---|---|---|")
    rows = []
    for w in ("sparse4k", "seq64k"):
        mbs = {}
        for st in ("none", "bitmap", "view"):
            secs = runs.get((w, st), [])
            mbs[st] = BYTES[w] / statistics.median(secs) / 1e6 if secs else float("nan")
        report["workloads"][w] = {st: {"mb_s": mbs[st], "seconds": runs.get((w, st), [])}
                                  for st in mbs}
        pb, pv = paired(w, "bitmap"), paired(w, "view")
        report["workloads"][w]["paired_ratio"] = {"bitmap": pb, "view": pv}
        print("| %s | %.1f | %.1f | %.1f | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) |" % (
            w, mbs["none"], mbs["bitmap"], mbs["view"], *pb, *pv))
    print("\nMB/s: median over the rounds; ratios: median (quartiles) of the "
          "per-round ratios (each round runs the three states back to back)")
    print("\npoll start to view exported (OVSCAN_FAULT=after-arm, whole process): "
          "median %.3f s (min %.3f, max %.3f, n=%d)" % (
              statistics.median(arms), min(arms), max(arms), len(arms)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
