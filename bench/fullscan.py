#!/usr/bin/env python3
"""ovscan bench — measuring and reporting the full-scan comparison.

  fullscan.py measure PREFIX -- CMD ARGS...
      Runs CMD under /usr/bin/time -v with stdout to PREFIX.out, stderr to
      PREFIX.err, time -v's report to PREFIX.time, and samples the summed RSS
      of CMD's whole process tree (ovscan starts qemu-nbd as a child; time -v
      only reports the largest single process) every 50 ms.  Writes
      PREFIX.json: wall seconds (monotonic clock around the run), exit status,
      time -v's fields, tree peak RSS.  Exits 0 whatever CMD's status.

  fullscan.py report RUNDIR
      Reads RUNDIR/run.json (written by run-fullscan.sh) and every
      RUNDIR/*.json measurement, parses both tools' outputs, compares their
      detection sets, prints the table and writes RUNDIR/report.json.
      Exit 0 when the detection sets agree (or ovscan did not run), 3 when
      they differ.

Python 3 standard library only.  Cost: negligible next to the scans.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

# --------------------------------------------------------------- measuring

def tree_rss_kib(root_pid):
    """Sum of VmRSS over root_pid and all its descendants (KiB)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError):
            pass
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


TIME_FIELDS = {
    "Maximum resident set size (kbytes)": "max_rss_kib",
    "User time (seconds)": "user_seconds",
    "System time (seconds)": "system_seconds",
    "Percent of CPU this job got": "cpu_percent",
    "File system inputs": "fs_inputs",
    "Major (requiring I/O) page faults": "major_faults",
    "Elapsed (wall clock) time (h:mm:ss or m:ss)": "elapsed",
}


def parse_time_v(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.strip().rpartition(": ")
                if key in TIME_FIELDS:
                    value = value.rstrip("%")
                    try:
                        out[TIME_FIELDS[key]] = float(value) if "." in value else int(value)
                    except ValueError:
                        out[TIME_FIELDS[key]] = value
    except OSError:
        pass
    return out


def measure(prefix, cmd):
    with open(prefix + ".out", "wb") as out, open(prefix + ".err", "wb") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(["/usr/bin/time", "-v", "-o", prefix + ".time"] + cmd,
                             stdout=out, stderr=err)
        peak = 0
        while p.poll() is None:
            peak = max(peak, tree_rss_kib(p.pid))
            time.sleep(0.05)
        wall = time.monotonic() - t0
    result = {"cmd": cmd, "wall_seconds": round(wall, 3), "exit_status": p.returncode,
              "tree_peak_rss_kib": peak}
    result.update(parse_time_v(prefix + ".time"))
    with open(prefix + ".json", "w") as f:
        json.dump(result, f, indent=1)
    print("  %-8s wall %7.2f s  exit %d  rss %d MiB (tree %d MiB)"
          % (os.path.basename(prefix), wall, p.returncode,
             result.get("max_rss_kib", 0) // 1024, peak // 1024), file=sys.stderr)


# --------------------------------------------------------------- parsing

def parse_clamscan(path, mountpoint):
    """Detections {(guest path, signature)} and summary from clamscan output."""
    found, summary, errors = set(), {}, 0
    mnt = mountpoint.rstrip("/")
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.endswith(" FOUND") and ": " in line:
                p, sig = line[:-len(" FOUND")].rsplit(": ", 1)
                if p.startswith(mnt + "/"):
                    p = p[len(mnt):]
                found.add((p, sig))
            elif line.endswith(" ERROR"):
                errors += 1
            else:
                m = re.match(r"(Known viruses|Scanned files|Infected files|Data scanned|Data read|Time): (\S+)", line)
                if m:
                    summary[m.group(1)] = m.group(2)
    return found, {
        "files": int(summary.get("Scanned files", 0)),
        "infected": int(summary.get("Infected files", 0)),
        "data_scanned_mb": float(summary.get("Data scanned", 0)),
        "signatures": int(summary.get("Known viruses", 0)),
        "tool_seconds": float(summary.get("Time", 0)),
        "errors": errors,
    }


def parse_ovscan(path):
    """Detections and summary from `ovscan scan --json` output."""
    found, summary = set(), {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("type") == "file" and str(o.get("verdict", "")).lower() == "infected":
                for p in o.get("paths") or [o.get("path")]:
                    found.add((p, o.get("signature")))
            elif o.get("type") == "summary":
                summary = o
    return found, {
        "files": summary.get("files", 0),
        "infected": summary.get("infected", 0),
        "skipped": summary.get("skipped", 0),
        "errors": summary.get("errors", 0),
        "data_scanned_mb": round(summary.get("bytes_scanned", 0) / 1e6, 2),
        "signatures": summary.get("signatures", 0),
        "tool_seconds": summary.get("seconds", 0),
        "engine_load_seconds": summary.get("engine_load_seconds"),
        "has_summary": bool(summary),
    }


# --------------------------------------------------------------- report

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def report(rundir):
    with open(os.path.join(rundir, "run.json")) as f:
        run = json.load(f)
    files_total = run["image_regular_files"]
    bytes_total = run["image_regular_bytes"]
    rep = {"run": run, "modes": {}}
    detections = {}
    any_mismatch = False
    for mode in run["cache_modes"]:
        rows = {}
        for tool in ("clamscan", "ovscan"):
            runs = []
            for i in range(1, run["rounds"] + 1):
                prefix = os.path.join(rundir, "%s-%s-%d" % (mode, tool, i))
                if not os.path.exists(prefix + ".json"):
                    continue
                with open(prefix + ".json") as f:
                    m = json.load(f)
                if tool == "clamscan":
                    found, s = parse_clamscan(prefix + ".out", run["mountpoint"])
                else:
                    found, s = parse_ovscan(prefix + ".out")
                m.update(s)
                m["detections"] = len(found)
                runs.append(m)
                detections.setdefault(tool, []).append((prefix, found))
            if not runs:
                continue
            wall = median([r["wall_seconds"] for r in runs])
            row = {
                "rounds": len(runs),
                "wall_seconds_median": wall,
                "wall_seconds_all": [r["wall_seconds"] for r in runs],
                "cpu_seconds_median": median([r.get("user_seconds", 0) + r.get("system_seconds", 0) for r in runs]),
                "files_reported": runs[0]["files"],
                "data_scanned_mb_reported": runs[0]["data_scanned_mb"],
                "files_per_second": round(files_total / wall, 1),
                "mb_per_second": round(bytes_total / 1e6 / wall, 1),
                "peak_rss_mib": round(max(r.get("max_rss_kib", 0) for r in runs) / 1024, 1),
                "tree_peak_rss_mib": round(max(r.get("tree_peak_rss_kib", 0) for r in runs) / 1024, 1),
                "exit_status": sorted({r["exit_status"] for r in runs}),
                "errors_reported": runs[0].get("errors", 0),
                "detections": runs[0]["detections"],
            }
            if tool == "ovscan":
                row["engine_load_seconds"] = median([r.get("engine_load_seconds") for r in runs])
                row["skipped_reported"] = runs[0].get("skipped", 0)
            else:
                row["engine_load_seconds"] = run.get("clamscan_load_seconds")
            rows[tool] = row
        if "clamscan" in rows and "ovscan" in rows:
            c, o = rows["clamscan"], rows["ovscan"]
            rows["ratio"] = {
                "wall": round(o["wall_seconds_median"] / c["wall_seconds_median"], 3),
                "cpu": round(o["cpu_seconds_median"] / c["cpu_seconds_median"], 3) if c["cpu_seconds_median"] else None,
                "peak_rss": round(o["peak_rss_mib"] / c["peak_rss_mib"], 3) if c["peak_rss_mib"] else None,
                "engine_load": round(o["engine_load_seconds"] / c["engine_load_seconds"], 3)
                if o.get("engine_load_seconds") and c.get("engine_load_seconds") else None,
            }
            rows["target_wall_ratio"] = 0.8
            rows["target_met"] = rows["ratio"]["wall"] <= 0.8
        rep["modes"][mode] = rows

    # Detections: every round of a tool must agree with its first round, and
    # the two tools must agree with each other.
    comparison = {}
    for tool, lst in detections.items():
        first = lst[0][1]
        for prefix, found in lst[1:]:
            if found != first:
                comparison.setdefault("unstable", []).append(os.path.basename(prefix))
                any_mismatch = True
    if "clamscan" in detections and "ovscan" in detections:
        c, o = detections["clamscan"][0][1], detections["ovscan"][0][1]
        cp, op = {p for p, _ in c}, {p for p, _ in o}
        comparison.update({
            "clamscan_only": sorted("%s: %s" % x for x in c - o),
            "ovscan_only": sorted("%s: %s" % x for x in o - c),
            "paths_clamscan_only": sorted(cp - op),
            "paths_ovscan_only": sorted(op - cp),
            "equal": c == o,
            "count": len(c),
        })
        any_mismatch = any_mismatch or c != o
    elif "clamscan" in detections:
        comparison["count_clamscan"] = len(detections["clamscan"][0][1])
    expected = set(run.get("expected_paths", []))
    for tool, lst in detections.items():
        missing = sorted(expected - {p for p, _ in lst[0][1]})
        comparison["expected_missing_" + tool] = missing
    comparison["detections_clamscan_first_round"] = sorted("%s: %s" % x for x in detections.get("clamscan", [(None, set())])[0][1])
    rep["detections"] = comparison
    with open(os.path.join(rundir, "report.json"), "w") as f:
        json.dump(rep, f, indent=1)
    print_table(rep, files_total, bytes_total)
    with open(os.path.join(rundir, "table.md"), "w") as f:
        f.write(markdown_table(rep))
    return 3 if any_mismatch else 0


def markdown_table(rep):
    """The numbers as a Markdown table, for docs/benchmarks.md."""
    out = []
    for mode, rows in rep["modes"].items():
        out.append("| %s cache, median of %d | wall s | CPU s | files/s | MB/s | peak RSS MiB (tree) | engine load s | files (own count) | detections | exit |"
                   % (mode, rep["run"]["rounds"]))
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for tool in ("clamscan", "ovscan"):
            r = rows.get(tool)
            if not r:
                continue
            out.append("| %s | %.2f | %.1f | %.0f | %.1f | %.0f (%.0f) | %s | %d | %d | %s |" % (
                tool, r["wall_seconds_median"], r["cpu_seconds_median"], r["files_per_second"],
                r["mb_per_second"], r["peak_rss_mib"], r["tree_peak_rss_mib"],
                fmt(r.get("engine_load_seconds"), ".3f"), r["files_reported"], r["detections"],
                ",".join(map(str, r["exit_status"]))))
        if "ratio" in rows:
            q = rows["ratio"]
            out.append("| **ovscan / clamscan** | **%s** | %s | | | %s | %s | | | |" % (
                fmt(q["wall"], ".3f"), fmt(q["cpu"], ".3f"), fmt(q["peak_rss"], ".3f"),
                fmt(q["engine_load"], ".3f")))
        out.append("")
        for tool in ("clamscan", "ovscan"):
            r = rows.get(tool)
            if r:
                out.append("%s wall times: %s s  " % (tool, ", ".join("%.2f" % x for x in r["wall_seconds_all"])))
        out.append("")
    d = rep["detections"]
    if "equal" in d:
        out.append("Detections: %s (%d each)." % ("equal" if d["equal"] else "**DIFFERENT**", d["count"]))
    return "\n".join(out) + "\n"


def print_table(rep, files_total, bytes_total):
    run = rep["run"]
    print()
    print("Full scan: %d regular files, %.0f MB, image %s (%s GiB virtual); %s; %d rounds per tool per cache mode"
          % (files_total, bytes_total / 1e6, run["image"], run["image_virtual_gib"], run["signatures_desc"], run["rounds"]))
    for mode, rows in rep["modes"].items():
        print("\n[%s page cache]" % mode)
        hdr = "%-10s %9s %8s %8s %8s %9s %9s %10s %8s %6s %6s" % (
            "tool", "wall s", "cpu s", "files/s", "MB/s", "RSS MiB", "tree MiB", "load s", "files", "found", "exit")
        print(hdr)
        print("-" * len(hdr))
        for tool in ("clamscan", "ovscan"):
            r = rows.get(tool)
            if not r:
                print("%-10s (not run)" % tool)
                continue
            print("%-10s %9.2f %8.1f %8.0f %8.1f %9.1f %9.1f %10s %8d %6d %6s" % (
                tool, r["wall_seconds_median"], r["cpu_seconds_median"], r["files_per_second"],
                r["mb_per_second"], r["peak_rss_mib"], r["tree_peak_rss_mib"],
                fmt(r.get("engine_load_seconds"), ".3f"), r["files_reported"], r["detections"],
                ",".join(map(str, r["exit_status"]))))
        if "ratio" in rows:
            q = rows["ratio"]
            print("%-10s %9s %8s %8s %8s %9s %9s %10s" % (
                "ovs/clam", fmt(q["wall"], ".3f"), fmt(q["cpu"], ".3f"), "", "", fmt(q["peak_rss"], ".3f"), "",
                fmt(q["engine_load"], ".3f")))
            print("target: ovscan wall <= 0.8 x clamscan: %s"
                  % ("MET" if rows["target_met"] else "NOT MET"))
    d = rep["detections"]
    print()
    if "equal" in d:
        if d["equal"]:
            print("detections: EQUAL (%d)" % d["count"])
        else:
            print("!" * 72)
            print("!!! DETECTIONS DIFFER between clamscan and ovscan")
            for x in d["clamscan_only"]:
                print("!!!   clamscan only: " + x)
            for x in d["ovscan_only"]:
                print("!!!   ovscan only:   " + x)
            print("!" * 72)
    else:
        print("detections: clamscan found %d (ovscan not run)" % d.get("count_clamscan", 0))
    if d.get("unstable"):
        print("!!! detections changed between rounds: " + ", ".join(d["unstable"]))
    for k, v in d.items():
        if k.startswith("expected_missing_") and v:
            print("note: %s missed planted/expected paths: %s" % (k[len("expected_missing_"):], ", ".join(v)))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "measure" and sys.argv[3] == "--":
        measure(sys.argv[2], sys.argv[4:])
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "report":
        return report(sys.argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
