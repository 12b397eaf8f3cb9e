#!/usr/bin/env bash
# Writes cvss-oracle.tsv beside this script: the base score of every CVSS vector
# in ../shared/data/osv plus the hand-picked vectors in extra-vectors.txt, as
# computed by Red Hat's reference `cvss` Python library (PyPI `cvss`, pinned).
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
