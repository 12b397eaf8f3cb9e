#!/usr/bin/env bash
# Writes cvss-oracle.tsv beside this script: the base score of every CVSS vector
# in ../shared/data/osv plus the hand-picked vectors in extra-vectors.txt, as
# computed by Red Hat's reference `cvss` Python library (PyPI `cvss`, pinned),
# and of a fixed pseudo-random sample (seeded) of vectors of every version, so
# that the v4 MacroVector table and interpolation are exercised far and wide.
# The Rust tests compare garrison-risk's scores against it.
#
# Needs: python3 with venv (Debian: python3-venv) and access to PyPI.
# Idempotent: rebuilds its venv under fixtures/out/cvss-oracle/ and rewrites the TSV.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
shared="${GARRISON_SHARED_DATA:-$root/../shared/data}"
out="$root/fixtures/out/cvss-oracle"
mkdir -p "$out"
[ -x "$out/venv/bin/python" ] || python3 -m venv "$out/venv"
"$out/venv/bin/pip" install --quiet 'cvss==3.6'

{
    grep -rhoE 'CVSS:[0-9.]+/[A-Za-z:/]+' "$shared/osv"
    grep -v '^#' "$here/extra-vectors.txt" | grep -v '^$'
    python3 - <<'PY'
import random
r = random.Random(20261204)
def pick(metrics):
    return "/".join(f"{m}:{r.choice(vals)}" for m, vals in metrics)
V2 = [("AV", "LAN"), ("AC", "HML"), ("Au", "MSN"), ("C", "NPC"), ("I", "NPC"), ("A", "NPC")]
V3 = [("AV", "NALP"), ("AC", "LH"), ("PR", "NLH"), ("UI", "NR"), ("S", "UC"),
      ("C", "HLN"), ("I", "HLN"), ("A", "HLN")]
V4 = [("AV", "NALP"), ("AC", "LH"), ("AT", "NP"), ("PR", "NLH"), ("UI", "NPA"),
      ("VC", "HLN"), ("VI", "HLN"), ("VA", "HLN"), ("SC", "HLN"), ("SI", "HLN"), ("SA", "HLN")]
V4_THREAT_ENV = [("E", "XAPU"), ("CR", "XHML"), ("MAV", "XNALP"), ("MSI", "XSHLN")]
for _ in range(100):
    print(pick(V2))
for _ in range(100):
    print("CVSS:3.0/" + pick(V3))
for _ in range(200):
    print("CVSS:3.1/" + pick(V3))
for i in range(600):
    v = "CVSS:4.0/" + pick(V4)
    if i % 4 == 0:
        v += "/" + pick(V4_THREAT_ENV)
    print(v)
PY
} | sort -u > "$out/vectors.txt"

"$out/venv/bin/python" - "$out/vectors.txt" > "$here/cvss-oracle.tsv" <<'PY'
import sys
from cvss import CVSS2, CVSS3, CVSS4
from importlib.metadata import version

BASE4 = ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"]
print(f"# vector\tversion\tbase score (cvss {version('cvss')} Python library); made by make-cvss-oracle.sh")
for line in open(sys.argv[1]):
    v = line.strip()
    if v.startswith("CVSS:4.0/"):
        metrics = dict(c.split(":", 1) for c in v.split("/")[1:])
        base = "CVSS:4.0/" + "/".join(f"{m}:{metrics[m]}" for m in BASE4)
        print(f"{v}\t4.0\t{float(CVSS4(base).base_score):.1f}")
    elif v.startswith("CVSS:3."):
        print(f"{v}\t{v[5:8]}\t{float(CVSS3(v).base_score):.1f}")
    else:
        print(f"{v}\t2.0\t{float(CVSS2(v).base_score):.1f}")
PY
echo "wrote $(grep -vc '^#' "$here/cvss-oracle.tsv") vectors to $here/cvss-oracle.tsv"
