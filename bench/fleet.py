#!/usr/bin/env python3
"""ovscan bench — the fleet benchmark's table (bench/run-fleet.sh).

  fleet.py RUN_DIR N CLAM_VMS COMMIT OUT_PREFIX
writes OUT_PREFIX.json and OUT_PREFIX.md from the raw outputs in RUN_DIR.
"""
import json
import os
import re
import sqlite3
import statistics
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def polls(path):
    out = []
    for line in open(path):
        line = line.strip()
        if line:
            o = json.loads(line)
            if o.get("type", "poll") == "poll":
                out.append(o)
    return out


def main():
    run, n, clam_vms, commit, prefix = sys.argv[1:6]
    n, clam_vms = int(n), int(clam_vms)
    j = lambda name: load(os.path.join(run, name + ".json"))
    p1, p2 = j("fleet-poll-1"), j("fleet-poll-2")
    err1 = open(os.path.join(run, "fleet-poll-1.err")).read()
    m = re.search(r"scanned once for the fleet: (\d+) files scanned, (\d+) infected, ([0-9.]+) s", err1)
    base_files, base_inf, base_s = (int(m.group(1)), int(m.group(2)), float(m.group(3))) if m else (0, 0, 0.0)
    vms1, vms2 = polls(os.path.join(run, "fleet-poll-1.out")), polls(os.path.join(run, "fleet-poll-2.out"))
    clam = [j("clamscan-r-vm%d" % i)["wall_seconds"] for i in range(1, clam_vms + 1)]
    clam_med = statistics.median(clam)
    ob = j("oracle-base")["wall_seconds"]
    o1 = [j("oracle-1-vm%d" % i)["wall_seconds"] for i in range(1, n + 1)]
    o2 = [j("oracle-2-vm%d" % i)["wall_seconds"] for i in range(1, n + 1)]
    layers = int(open(os.path.join(run, "layers-bytes.txt")).read())
    base_bytes = int(open(os.path.join(run, "base-bytes.txt")).read())
    r = {
        "commit": commit, "vms": n,
        "first_poll_wall_s": p1["wall_seconds"], "first_poll_rss_kib": p1["tree_peak_rss_kib"],
        "base_scan_s": base_s, "base_files_scanned": base_files, "base_infected": base_inf,
        "vm_first_polls": [{"vm": v["vm"], "files_scanned": v["files_scanned"],
                            "dirty_bytes": v["dirty_bytes"], "s": v["duration_s"]} for v in vms1],
        "clamscan_r_vm_s": clam, "clamscan_r_fleet_s_extrapolated": round(clam_med * n, 1),
        "oracle_base_s": ob, "oracle_vm1_s": o1, "oracle_total_s": round(ob + sum(o1), 1),
        "incremental_poll_wall_s": p2["wall_seconds"],
        "incremental_files_scanned": sum(v["files_scanned"] for v in vms2),
        "oracle_incremental_total_s": round(sum(o2), 1),
        "layers_bytes": layers, "base_bytes": base_bytes,
    }
    db = os.path.join(run, "state.db")
    r["state_db_bytes"] = sum(os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
    con = sqlite3.connect(db)
    r["verdict_cache_rows"], r["verdict_cache_hits"] = con.execute(
        "select count(*), coalesce(sum(hits), 0) from verdict_cache").fetchone()
    r["base_scans"] = con.execute(
        "select count(*) from polls p join disks d on d.id = p.disk_id where d.tracker = 'base'").fetchone()[0]
    r["vm_first_poll_median_s"] = statistics.median(v["duration_s"] for v in vms1) if vms1 else 0
    r["vm_incremental_poll_median_s"] = statistics.median(v["duration_s"] for v in vms2) if vms2 else 0
    r["speedup_vs_clamscan"] = round(r["clamscan_r_fleet_s_extrapolated"] / r["first_poll_wall_s"], 2)
    r["ratio_vs_oracle"] = round(r["first_poll_wall_s"] / r["oracle_total_s"], 3)
    r["incremental_ratio_vs_oracle"] = round(r["incremental_poll_wall_s"] / max(r["oracle_incremental_total_s"], 1e-9), 3)
    with open(prefix + ".json", "w") as f:
        json.dump(r, f, indent=1)
    vm_files = [v["files_scanned"] for v in vms1]
    md = []
    md.append("| measure | seconds | note |")
    md.append("|---|---:|---|")
    md.append("| ovscan first fleet poll (`poll --all`) | %.1f | base once (%.1f s, %d files) + %d VMs (median %d files scanned each) |"
              % (r["first_poll_wall_s"], base_s, base_files, n, statistics.median(vm_files) if vm_files else 0))
    md.append("| %d x clamscan -r of a mounted VM | %.1f | %s; measured on %d VM(s): %s s each |"
              % (n, r["clamscan_r_fleet_s_extrapolated"],
                 "extrapolated" if clam_vms < n else "measured", clam_vms, ", ".join("%.1f" % c for c in clam)))
    md.append("| oracle: clamscan -r of the base + %d x clamscan --file-list | %.1f | base %.1f s + VMs %.1f s |"
              % (n, r["oracle_total_s"], ob, sum(o1)))
    md.append("| **speed-up vs %d x clamscan -r** | **%.1fx** | target >= 10x |" % (n, r["speedup_vs_clamscan"]))
    md.append("| **first poll / oracle** | **%.2fx** | target <= 1.5x |" % r["ratio_vs_oracle"])
    md.append("| ovscan incremental fleet poll | %.1f | %d files scanned in all |" % (r["incremental_poll_wall_s"], r["incremental_files_scanned"]))
    md.append("| oracle: %d x clamscan --file-list | %.1f | ratio %.2fx |" % (n, r["oracle_incremental_total_s"], r["incremental_ratio_vs_oracle"]))
    md.append("| disk usage of all VMs' own layers (du) | %.1f MiB | %.2f%% of the base's %.1f MiB, %.1f MiB per VM: the VMs' own data after two rounds |"
              % (layers / 2**20, 100.0 * layers / base_bytes, base_bytes / 2**20, layers / 2**20 / n))
    top = os.path.join(run, "vm1.qcow2")
    md.append("| rotation overhead per VM | %.0f KiB | an empty top layer (extended L2, 128 KiB clusters); a merge-down holds the merged layer's clusters twice until its unlink |"
              % (os.path.getsize(top) / 1024.0))
    md.append("| base scans recorded in the state db | %d | verdict cache: %d entries, %d hits |"
              % (r["base_scans"], r["verdict_cache_rows"], r["verdict_cache_hits"]))
    md.append("| per-VM poll, median | %.2f / %.2f | first / incremental (seconds, from the poll records) |"
              % (r["vm_first_poll_median_s"], r["vm_incremental_poll_median_s"]))
    md.append("| state database | %.1f MiB | base + %d VMs (each VM's file rows are a copy of the base's) |"
              % (r["state_db_bytes"] / 2**20, n))
    with open(prefix + ".md", "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
