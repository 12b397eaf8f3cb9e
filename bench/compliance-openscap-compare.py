#!/usr/bin/env python3
"""Compares OpenSCAP XCCDF results with `garrison check` JSON reports, control by control.

usage: compliance-openscap-compare.py MAP.tsv IDS.json TARGET ... 
  TARGET is LABEL=GARRISON_JSON:ID_BASE:OSCAP_RESULTS_1.xml[,OSCAP_RESULTS_2.xml...]
  (each OpenSCAP results file is named ...-PROFILE.xml).
Prints a Markdown section: per target, one row per mapped SSG rule with the
verdict of each OpenSCAP profile and Garrison's, and whether they agree.
Garrison's verdict for `key1+key2` is failed if either failed, passed if one
passed and none failed, else not applicable.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

NS = "{http://checklists.nist.gov/xccdf/1.2}"
PREFIX = "xccdf_org.ssgproject.content_rule_"
G = {"passed": "pass", "failed": "fail", "not_applicable": "notapplicable"}


def oscap_results(path):
    out = {}
    for rr in ET.parse(path).getroot().iter(NS + "rule-result"):
        res = rr.find(NS + "result")
        rid = rr.get("idref", "")
        if res is not None and rid.startswith(PREFIX) and res.text != "notselected":
            out[rid[len(PREFIX):]] = res.text
    return out


def garrison_results(path):
    with open(path) as f:
        report = json.load(f)
    out = {}
    for p in report.get("policies", []):
        if not p.get("applicable", True):
            continue
        for c in p.get("checks", []):
            ev = c.get("evidence") or []
            detail = "; ".join(e.get("detail", "") for e in ev[:2])
            refused = any("refused" in e.get("detail", "") for e in ev)
            out[c["id"]] = (G.get(c["result"], c["result"]), detail or c.get("reason") or "", refused)
    return out


def combine(verdicts):
    vs = [v for v, _, _ in verdicts]
    if "fail" in vs:
        return "fail"
    if "pass" in vs:
        return "pass"
    return "notapplicable" if vs else "missing"


def main():
    map_path, ids_path, *targets = sys.argv[1:]
    ids = json.load(open(ids_path))
    rows = []
    for line in open(map_path):
        if line.startswith("#") or not line.strip():
            continue
        ssg, keys, note = line.rstrip("\n").split("\t")
        rows.append((ssg, keys.split("+"), note))
    total_agree = total_partly = total = 0
    for t in targets:
        label, spec = t.split("=", 1)
        gpath, base, oscaps = spec.split(":", 2)
        base = int(base)
        garrison = garrison_results(gpath)
        profiles = []
        for o in oscaps.split(","):
            name = os.path.basename(o).rsplit(".", 1)[0].split("-")[-1]
            profiles.append((name, oscap_results(o)))
        print(f"\n### {label}\n")
        head = "| SSG rule | " + " | ".join(p for p, _ in profiles) + " | Garrison check | Garrison | agree |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        agree = partly = n = not_comparable = 0
        disagreements = []
        for ssg, keys, note in rows:
            verdicts = [(p, r.get(ssg)) for p, r in profiles]
            if all(v is None for _, v in verdicts):
                continue
            checks = []
            for k in keys:
                cid = base + ids[k] if k in ids else None
                if cid is not None and cid in garrison:
                    checks.append(garrison[cid])
            g = combine(checks)
            ids_text = "+".join(str(base + ids[k]) for k in keys if k in ids)
            seen = {v for _, v in verdicts if v is not None}
            host_only = g == "notapplicable" and checks and all(r for _, _, r in checks)
            if host_only:
                state = "n/c"
                not_comparable += 1
            else:
                state = "yes" if seen == {g} else "partly" if g in seen else "**no**"
                n += 1
                agree += state == "yes"
                partly += state == "partly"
            print(f"| {ssg} | " + " | ".join(v or "—" for _, v in verdicts) +
                  f" | {ids_text} `{keys[0]}` | {g} | {state} |")
            if state not in ("yes", "n/c"):
                detail = " / ".join(d for _, d, _ in checks if d)
                disagreements.append(f"- `{ssg}` ({', '.join(f'{p}: {v}' for p, v in verdicts if v)}) vs `{keys[0]}` ({g}): {note}. Garrison evidence: {detail or 'none'}")
        print(f"\n{agree} of {n} mapped controls agree with every profile that evaluated them, "
              f"{partly} with some of the profiles (the profiles disagree among themselves), {n - agree - partly} with none; "
              f"{not_comparable} not comparable (n/c: Garrison's check needs a command, which it refuses on a root filesystem).")
        if disagreements:
            print("\nDisagreements:\n")
            print("\n".join(disagreements))
        total_agree += agree
        total_partly += partly
        total += n
    print(f"\nOverall: {total_agree} of {total} control verdicts agree with every profile, {total_partly} with some.")


if __name__ == "__main__":
    main()
