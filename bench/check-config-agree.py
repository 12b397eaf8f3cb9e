#!/usr/bin/env python3
"""Agreement of `garrison check config` with checkov and Trivy on one corpus.

Usage: bench/check-config-agree.py ROOT GARRISON.json[,MORE.json] CHECKOV.json TRIVY.json MAP.tsv EXPLAIN.tsv

ROOT is the folder all three tools scanned (Garrison may have scanned it in parts,
e.g. the baseline PSS fixtures at --pss baseline: give each part's report). For every Garrison check that MAP.tsv
maps to a peer check, and every file of that check's kind, a file counts as
"both" when Garrison and the peer flag it, "garrison only" or "peer only" when
one of them does. Every one-sided file must match a row of EXPLAIN.tsv
(check, peer, direction, glob on the path under ROOT, reason); the report lists
the reason next to it and marks the rest UNEXPLAINED. Prints Markdown; exits 1
when anything is unexplained. Standard library only.
"""

import fnmatch
import json
import os
import sys
from collections import defaultdict

KIND_OF_PREFIX = {"K8S": "k8s", "DF": "dockerfile", "TF": "terraform", "CFN": "cloudformation", "SLS": "serverless"}


def rel(root, path):
    p = os.path.normpath(path if os.path.isabs(path) else os.path.join(root, path.lstrip("/")))
    return os.path.relpath(p, root)


def load_tsv(path, ncols):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != ncols:
                sys.exit(f"{path}:{n}: expected {ncols} tab-separated columns, got {len(cols)}")
            rows.append(cols)
    return rows


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__.strip().splitlines()[2])
    root, gpath, cpath, tpath, mpath, epath = sys.argv[1:]
    root = os.path.realpath(root)

    files_kind = {}
    garrison = defaultdict(set)
    for one in gpath.split(","):
        g = json.load(open(one, encoding="utf-8"))
        for f in g.get("files", []):
            files_kind[rel(root, os.path.realpath(f["path"]))] = f["kind"]
        for f in g.get("findings", []):
            garrison[f["check_id"]].add(rel(root, os.path.realpath(f["file"])))

    c = json.load(open(cpath, encoding="utf-8"))
    checkov = defaultdict(set)
    for rep in c if isinstance(c, list) else [c]:
        for r in rep.get("results", {}).get("failed_checks", []):
            path = r.get("file_abs_path") or r.get("file_path", "")
            checkov[r["check_id"]].add(rel(root, os.path.realpath(path)))

    t = json.load(open(tpath, encoding="utf-8"))
    trivy = defaultdict(set)
    for res in t.get("Results") or []:
        for m in res.get("Misconfigurations") or []:
            if m.get("Status") == "FAIL":
                trivy[m["ID"]].add(rel(root, res["Target"]))
                if m.get("AVDID"):
                    trivy[m["AVDID"]].add(rel(root, res["Target"]))

    explain = load_tsv(epath, 5)
    used = set()

    def reason(check, peer, direction, path):
        for i, (ck, pr, d, glob, why) in enumerate(explain):
            if ck in (check, "*") and pr in (peer, "*") and d == direction and fnmatch.fnmatch(path, glob):
                used.add(i)
                return why
        return None

    out = []
    totals = defaultdict(lambda: [0, 0, 0])
    unexplained = 0
    out.append("| Garrison check | peer (checks) | both | Garrison only | peer only | agreement |")
    out.append("|---|---|---:|---:|---:|---:|")
    details = []
    for check, ckv, trv in load_tsv(mpath, 3):
        kind = KIND_OF_PREFIX[check.split("-")[1]]
        universe = {p for p, k in files_kind.items() if k == kind}
        gset = garrison.get(check, set()) & universe if universe else garrison.get(check, set())
        for peer, ids, table in (("checkov", ckv, checkov), ("trivy", trv, trivy)):
            if ids == "-":
                continue
            pset = set()
            for i in ids.split(","):
                pset |= table.get(i, set())
            pset &= universe
            both, gonly, ponly = gset & pset, gset - pset, pset - gset
            tot = len(both) + len(gonly) + len(ponly)
            pct = f"{100 * len(both) / tot:.0f}%" if tot else "n/a (nothing flagged)"
            out.append(f"| {check} | {peer} ({ids.replace(',', ', ')}) | {len(both)} | {len(gonly)} | {len(ponly)} | {pct} |")
            totals[peer][0] += len(both)
            totals[peer][1] += len(gonly)
            totals[peer][2] += len(ponly)
            for direction, files in (("garrison-only", gonly), ("peer-only", ponly)):
                for p in sorted(files):
                    why = reason(check, peer, direction, p)
                    if why is None:
                        unexplained += 1
                        why = "UNEXPLAINED"
                    details.append((check, peer, direction, p, why))
    out.append("")
    for peer, (b, go, po) in sorted(totals.items()):
        tot = b + go + po
        out.append(f"- {peer}: {b} file/check pairs agree, {go} Garrison only, {po} {peer} only "
                   f"({100 * b / tot:.0f}% agreement on the overlapping checks)." if tot else f"- {peer}: nothing compared.")
    out.append(f"- Unexplained disagreements: {unexplained}.")
    out.append("")
    out.append("Every disagreement, grouped by reason (files under the scanned corpus):")
    out.append("")
    grouped = defaultdict(list)
    for check, peer, direction, p, why in details:
        grouped[(check, peer, direction, why)].append(p)
    for (check, peer, direction, why), files in sorted(grouped.items()):
        limit = len(files) if os.environ.get("AGREE_ALL") else 4
        shown = ", ".join(f"`{f}`" for f in files[:limit]) + (f" and {len(files) - limit} more" if len(files) > limit else "")
        who = "Garrison only" if direction == "garrison-only" else f"{peer} only"
        out.append(f"- **{check} vs {peer}, {who}** ({len(files)}): {why} — {shown}")
    stale = [explain[i] for i in range(len(explain)) if i not in used]
    if stale:
        out.append("")
        out.append(f"({len(stale)} explanation rows matched nothing in this run.)")
    print("\n".join(out))
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
