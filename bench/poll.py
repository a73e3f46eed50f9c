#!/usr/bin/env python3
"""ovscan bench — helpers of bench/run-poll.sh (incremental polls, issue 3).

  poll.py smallfs DIR N [--seed S]
        N small regular files (1..4096 random bytes) in directories of 100,
        a source tree for `mkfs.ext4 -d` (the quiet-poll scaling disks).
  poll.py filelist TRUTH.json MNT OUT
        the oracle's list: MNT + path of every new and modified file of a
        workload.py diff (paths unquoted back to bytes), one a line.
  poll.py missed TRUTH.json MNT FOUND.list
        changed files (new + modified) that FOUND.list (the output of
        `find MNT -newer STAMP`) does not name; prints JSON.
  poll.py report RUNDIR
        the tables (text + Markdown) and report.json from RUNDIR's outputs.

Timing itself is bench/fullscan.py measure (wall, /usr/bin/time -v, tree RSS).
Python 3 standard library only.
"""
import json
import os
import random
import re
import statistics
import sys

# ------------------------------------------------------------ small disks


def smallfs(root, n, seed=1):
    rng = random.Random(seed)
    for i in range(n):
        d = os.path.join(root, "d%04d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%06d" % i), "wb") as f:
            f.write(rng.randbytes(rng.randint(1, 4096)))

# ------------------------------------------------------------ file lists


def unquote(s):
    """Inverse of workload.py quote_path / ov_quote_bytes: str -> bytes."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "\\":
                out += b"\\"; i += 2; continue
            if n in "ntr":
                out += {"n": b"\n", "t": b"\t", "r": b"\r"}[n]; i += 2; continue
            if n == "x" and re.fullmatch(r"[0-9a-f]{2}", s[i + 2:i + 4]):
                out.append(int(s[i + 2:i + 4], 16)); i += 4; continue
        out += c.encode("utf-8"); i += 1
    return bytes(out)


def changed(truth):
    t = json.load(open(truth))
    return [e["path"] for e in t["new"] + t["modified"]]


def filelist(truth, mnt, out):
    mntb = os.fsencode(mnt.rstrip("/"))
    n = 0
    with open(out, "wb") as f:
        for p in changed(truth):
            raw = unquote(p)
            if b"\n" in raw:
                print("poll.py: path with a newline left out of the list: %s" % p, file=sys.stderr)
                continue
            f.write(mntb + raw + b"\n")
            n += 1
    print(n)


def missed(truth, mnt, found):
    mntb = os.fsencode(mnt.rstrip("/"))
    listed = set()
    with open(found, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if line.startswith(mntb + b"/"):
                line = line[len(mntb):]
            listed.add(line)
    ch = changed(truth)
    miss = [p for p in ch if unquote(p) not in listed]
    print(json.dumps({"changed": len(ch), "found_by_find": len(listed),
                      "missed": len(miss), "missed_paths": miss}))

# ------------------------------------------------------------ report


def load(path):
    try:
        with open(path) as f:
            text = f.read()
        try:
            return json.loads(text)
        except ValueError:
            # `poll --json` lines: the poll object, then detection objects.
            objs = [json.loads(l) for l in text.splitlines() if l.strip()]
            return next(o for o in objs if o.get("type", "poll") == "poll")
    except (OSError, ValueError, StopIteration):
        return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f2(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


def clam_summary(path):
    s = {}
    try:
        for line in open(path, errors="replace"):
            m = re.match(r"(Scanned files|Infected files|Data scanned|Time): (\S+)", line)
            if m:
                s[m.group(1)] = m.group(2)
    except OSError:
        pass
    return {"files": int(s.get("Scanned files", 0)), "infected": int(s.get("Infected files", 0)),
            "data_scanned_mb": float(s.get("Data scanned", 0))}


def report(rundir):
    run = load(os.path.join(rundir, "run.json"))
    J = lambda name: load(os.path.join(rundir, name))
    rounds = []
    for r in range(1, run["rounds"] + 1):
        poll = J("poll-%d.out" % r)
        m = J("poll-%d.json" % r)
        o = J("oracle-%d.json" % r)
        mt = J("mtime-%d.json" % r)
        chk = J("check-%d.out" % r)
        miss = J("missed-%d.json" % r)
        truth = J("truth-%d.json" % r)
        if not (poll and m and o):
            continue
        row = {
            "round": r,
            "poll_wall_s": m["wall_seconds"], "poll_duration_s": poll.get("duration_s"),
            "poll_exit": m["exit_status"], "poll_max_rss_kib": m.get("max_rss_kib"),
            "poll_tree_rss_kib": m.get("tree_peak_rss_kib"),
            "poll_cpu_s": round(m.get("user_seconds", 0) + m.get("system_seconds", 0), 2),
            "mode": poll.get("mode"), "metadata_walk": poll.get("metadata_walk"),
            "dirty_bytes": poll.get("dirty_bytes"), "files_listed": len(poll.get("files", [])),
            "files_scanned": poll.get("files_scanned"), "bytes_scanned": poll.get("bytes_scanned"),
            "signature_version": poll.get("signature_version"),
            "oracle_wall_s": o["wall_seconds"], "oracle_exit": o["exit_status"],
            "oracle_files": clam_summary(os.path.join(rundir, "oracle-%d.out" % r))["files"],
            "changed_files": len(truth["new"]) + len(truth["modified"]) if truth else None,
            "truth_counts": {k: len(v) for k, v in truth.items()} if truth else None,
            "recall": chk.get("recall") if chk else None,
            "precision": chk.get("precision") if chk else None,
            "check_exit": run.get("check_exit", {}).get(str(r)),
            "mtime_wall_s": mt["wall_seconds"] if mt else None,
            "mtime_found": miss.get("found_by_find") if miss else None,
            "mtime_missed": miss.get("missed") if miss else None,
            "mtime_missed_paths": miss.get("missed_paths") if miss else None,
        }
        row["ratio_poll_oracle"] = round(row["poll_wall_s"] / row["oracle_wall_s"], 3)
        rounds.append(row)
    full = J("full-poll.json")
    fullout = J("full-poll.out") or {}
    clamr = J("clamscan-r.json")
    quiet = {}
    for name in run["quiet_disks"]:
        walls = []
        for i in range(1, run["quiet_rounds"] + 1):
            q = J("quiet-%s-%d.json" % (name, i))
            qo = J("quiet-%s-%d.out" % (name, i))
            if q:
                walls.append({"wall": q["wall_seconds"], "duration_s": (qo or {}).get("duration_s"),
                              "dirty_bytes": (qo or {}).get("dirty_bytes"),
                              "signature_version": (qo or {}).get("signature_version"),
                              "rss_kib": q.get("max_rss_kib"), "exit": q["exit_status"]})
        fp = J("first-%s.out" % name) or {}
        fpm = J("first-%s.json" % name) or {}
        quiet[name] = {
            "files": run["quiet_files"].get(name),
            "first_poll_wall_s": fpm.get("wall_seconds"), "first_poll_files": len(fp.get("files", [])),
            "walls": [w["wall"] for w in walls],
            "median_wall_s": med([w["wall"] for w in walls]),
            "median_duration_s": med([w["duration_s"] for w in walls]),
            "all_zero_dirty": all(w["dirty_bytes"] == 0 for w in walls),
            "no_engine": all(w["signature_version"] is None for w in walls),
            "exits": sorted({w["exit"] for w in walls}),
        }
    rep = {"run": run, "rounds": rounds, "quiet": quiet}
    med_poll = med([r["poll_wall_s"] for r in rounds])
    med_oracle = med([r["oracle_wall_s"] for r in rounds])
    s = {
        "rounds": len(rounds),
        "poll_wall_median_s": med_poll, "oracle_wall_median_s": med_oracle,
        "ratio_poll_oracle_median": med([r["ratio_poll_oracle"] for r in rounds]),
        "poll_duration_median_s": med([r["poll_duration_s"] for r in rounds]),
        "mtime_wall_median_s": med([r["mtime_wall_s"] for r in rounds]),
        "recall_min": min((r["recall"] for r in rounds if r["recall"] is not None), default=None),
        "precision_median": med([r["precision"] for r in rounds]),
        "precision_min": min((r["precision"] for r in rounds if r["precision"] is not None), default=None),
        "dirty_bytes_median": med([r["dirty_bytes"] for r in rounds]),
        "poll_peak_rss_mib": round(max(r["poll_max_rss_kib"] or 0 for r in rounds) / 1024, 1) if rounds else None,
        "poll_tree_peak_rss_mib": round(max(r["poll_tree_rss_kib"] or 0 for r in rounds) / 1024, 1) if rounds else None,
        "full_poll_wall_s": full and full["wall_seconds"],
        "full_poll_duration_s": fullout.get("duration_s"),
        "full_poll_files": len(fullout.get("files", [])),
        "full_poll_peak_rss_mib": full and round(full.get("max_rss_kib", 0) / 1024, 1),
        "full_poll_tree_peak_rss_mib": full and round(full.get("tree_peak_rss_kib", 0) / 1024, 1),
        "clamscan_r_wall_s": clamr and clamr["wall_seconds"],
        "clamscan_r_files": clam_summary(os.path.join(rundir, "clamscan-r.out"))["files"] if clamr else None,
        "state_db_bytes": run.get("state_db_bytes"),
    }
    if s["clamscan_r_wall_s"] and med_poll:
        s["speedup_vs_clamscan_r"] = round(s["clamscan_r_wall_s"] / med_poll, 1)
    if s["full_poll_files"] and s["state_db_bytes"]:
        s["state_db_bytes_per_10k_files"] = round(s["state_db_bytes"] * 10000 / s["full_poll_files"])
    q10, q100 = quiet.get("small10k"), quiet.get("small100k")
    if q10 and q100 and q10["median_wall_s"] and q100["median_wall_s"]:
        s["quiet_ratio_100k_10k"] = round(q100["median_wall_s"] / q10["median_wall_s"], 3)
    s["targets"] = {
        "poll <= 1.5x oracle": s["ratio_poll_oracle_median"] is not None and s["ratio_poll_oracle_median"] <= 1.5,
        ">= 20x faster than clamscan -r": s.get("speedup_vs_clamscan_r", 0) >= 20,
        "quiet poll <= 0.3 s (all disks)": all(q["median_wall_s"] is not None and q["median_wall_s"] <= 0.3
                                               for q in quiet.values()) and bool(quiet),
        "quiet 100k/10k <= 1.5": s.get("quiet_ratio_100k_10k", 99) <= 1.5,
        "recall 100%": s["recall_min"] == 1.0,
    }
    rep["summary"] = s
    with open(os.path.join(rundir, "report.json"), "w") as f:
        json.dump(rep, f, indent=1)
    md = markdown(rep)
    with open(os.path.join(rundir, "table.md"), "w") as f:
        f.write(md)
    print(md)
    return 0 if all(s["targets"].values()) else 4


def markdown(rep):
    s, run = rep["summary"], rep["run"]
    o = []
    o.append("Per round (workload seed = round number × 1000 + %d; %s page cache before every timed command):"
             % (run["seed_base"], run["cache"]))
    o.append("")
    o.append("| round | changed (new+mod) | dirty MiB | listed | scanned | poll wall s | poll duration_s | oracle wall s | poll/oracle | recall | precision | find -newer wall s | find misses |")
    o.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rep["rounds"]:
        o.append("| %d | %s | %.1f | %d | %s | %.2f | %s | %.2f | %.2f | %s | %s | %s | %s |" % (
            r["round"], r["changed_files"], (r["dirty_bytes"] or 0) / 2**20, r["files_listed"],
            r["files_scanned"], r["poll_wall_s"], f2(r["poll_duration_s"], ".2f"), r["oracle_wall_s"],
            r["ratio_poll_oracle"], f2(r["recall"], ".3f"), f2(r["precision"], ".3f"),
            f2(r["mtime_wall_s"]), r["mtime_missed"]))
    o.append("")
    o.append("| anchor | measured | target | met |")
    o.append("|---|---|---|---|")
    t = s["targets"]
    o.append("| 1. incremental poll / oracle, %d rounds | median of per-round ratios **%s×**; medians %s s / %s s = %s× | ≤ 1.5× | %s |" % (
        s["rounds"], f2(s["ratio_poll_oracle_median"]), f2(s["poll_wall_median_s"]),
        f2(s["oracle_wall_median_s"]), f2(s["poll_wall_median_s"] / s["oracle_wall_median_s"]
                                          if s["oracle_wall_median_s"] else None),
        "yes" if t["poll <= 1.5x oracle"] else "**NO**"))
    o.append("| 2. clamscan -r whole fs (1 round) / incremental poll | %s s / %s s = **%s×** | ≥ 20× | %s |" % (
        f2(s["clamscan_r_wall_s"]), f2(s["poll_wall_median_s"]), s.get("speedup_vs_clamscan_r", "-"),
        "yes" if t[">= 20x faster than clamscan -r"] else "**NO**"))
    if s["clamscan_r_wall_s"] and s["oracle_wall_median_s"]:
        o.append("| 2'. clamscan -r / oracle (the best any incremental tool can do here) | %.1f× | (context) | |"
                 % (s["clamscan_r_wall_s"] / s["oracle_wall_median_s"]))
    o.append("| 3. find -newer STAMP \\| clamscan -f /dev/stdin (median) | %s s, misses %s of %s changed files | (context) | |" % (
        f2(s["mtime_wall_median_s"]),
        "/".join(str(r["mtime_missed"]) for r in rep["rounds"]),
        "/".join(str(r["changed_files"]) for r in rep["rounds"])))
    for name, q in rep["quiet"].items():
        o.append("| 4. quiet poll, %s (%s files), median of %d | %s s (duration_s %s) | ≤ 0.3 s | %s |" % (
            name, q["files"], len(q["walls"]), f2(q["median_wall_s"], ".3f"), f2(q["median_duration_s"], ".3f"),
            "yes" if q["median_wall_s"] is not None and q["median_wall_s"] <= 0.3 else "**NO**"))
    o.append("| 4. quiet poll 100k / 10k | %s | ≤ 1.5 | %s |" % (
        s.get("quiet_ratio_100k_10k", "-"), "yes" if t["quiet 100k/10k <= 1.5"] else "**NO**"))
    o.append("| 5. incremental poll peak RSS (ovscan / with qemu-nbd) | %s / %s MiB | (report) | |" % (
        s["poll_peak_rss_mib"], s["poll_tree_peak_rss_mib"]))
    o.append("| 5. state db after the full poll | %s bytes for %s files = **%s bytes per 10,000 files** | (report) | |" % (
        s["state_db_bytes"], s["full_poll_files"], s.get("state_db_bytes_per_10k_files", "-")))
    o.append("| recall (workload.py check), every round | %s | 100%% | %s |" % (
        f2(s["recall_min"], ".3f"), "yes" if t["recall 100%"] else "**NO**"))
    o.append("| precision, median (min) | %s (%s) | ≥ 0.9 | %s |" % (
        f2(s["precision_median"], ".3f"), f2(s["precision_min"], ".3f"),
        "yes" if (s["precision_min"] or 0) >= 0.9 else "**NO**"))
    o.append("")
    o.append("Full (first) poll of the big image: %s s wall (duration_s %s), %s files, peak RSS %s MiB (%s MiB with qemu-nbd)."
             % (f2(s["full_poll_wall_s"]), f2(s["full_poll_duration_s"]), s["full_poll_files"],
                s["full_poll_peak_rss_mib"], s["full_poll_tree_peak_rss_mib"]))
    o.append("Engine load (median of 3): ovscan %s s (`ovscan scan` summary of an empty disk), clamscan %s s (empty file)."
             % (f2(run.get("ovscan_load_s"), ".2f"), f2(run.get("clamscan_load_s"), ".2f")))
    o.append("Poll wall times: %s s; oracle: %s s." % (
        ", ".join("%.2f" % r["poll_wall_s"] for r in rep["rounds"]),
        ", ".join("%.2f" % r["oracle_wall_s"] for r in rep["rounds"])))
    for name, q in rep["quiet"].items():
        o.append("Quiet polls %s: %s s (dirty 0 every time: %s; no engine loaded: %s)." % (
            name, ", ".join("%.3f" % w for w in q["walls"]), q["all_zero_dirty"], q["no_engine"]))
    return "\n".join(o) + "\n"


def main(a):
    if len(a) >= 3 and a[0] == "smallfs":
        smallfs(a[1], int(a[2]), int(a[4]) if len(a) > 4 and a[3] == "--seed" else 1)
    elif len(a) == 4 and a[0] == "filelist":
        filelist(a[1], a[2], a[3])
    elif len(a) == 4 and a[0] == "missed":
        missed(a[1], a[2], a[3])
    elif len(a) == 2 and a[0] == "report":
        return report(a[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
