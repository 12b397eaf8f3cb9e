#!/usr/bin/env bash
# Agreement benchmark: `garrison check` with policies/cis_debian1{1,2}.yml against
# OpenSCAP (Debian's openscap-scanner with the ssg-debian11 data stream of
# ssg-debian, profiles standard, ANSSI NT28 average and ANSSI NT28 high), on:
#   bullseye   fixtures/out/compliance/bullseye (debootstrap bullseye): oscap-chroot,
#              the data stream as shipped; garrison check rootfs + cis_debian11.yml
#   default    fixtures/out/compliance/default (debootstrap bookworm, stock)
#   hardened   fixtures/out/compliance/hardened (the same after fixtures/compliance/harden.sh)
#              oscap-chroot with the ADAPTED data stream (below); garrison check
#              rootfs + cis_debian12.yml
#   host       this machine (Debian 12): oscap with the adapted data stream;
#              garrison check host + cis_debian12.yml
# The SSG content Debian 12 ships covers Debian 10/11 and Ubuntu only; its
# platform check (OVAL textfilecontent54 on /etc/debian_version, pattern
# ^11.[0-9]+$) declares every rule not applicable on Debian 12, with exit code 0
# and no warning. For the Debian 12 runs this script writes a COPY of the data
# stream with that pattern changed to ^12.[0-9]+$ (sed, two occurrences: the
# CPE OVAL and the OVAL component) and uses the copy; nothing else changes.
#
# Each run is timed with /usr/bin/time -v. Results, the comparison table and the
# timings go to target/bench/compliance-openscap/ (report.md).
# Usage: bench/compliance-openscap.sh
#   GARRISON=path   use this garrison binary (default: cargo build --release -p garrison)
#   TARGETS="bullseye default hardened host"  a subset of the targets
# Needs: openscap-scanner openscap-utils ssg-debian (installed when missing),
#        python3, time, and what fixtures/compliance/make.sh needs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
out=$root/target/bench/compliance-openscap
fx=${GARRISON_FIXTURES:-$root/fixtures/out}/compliance
targets=${TARGETS:-bullseye default hardened host}
profiles="standard anssi_np_nt28_average anssi_np_nt28_high"
DS11=/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml
mkdir -p "$out"
log() { printf 'bench/compliance-openscap.sh: %s\n' "$*" >&2; }

need=""
for p in openscap-scanner openscap-utils ssg-debian time python3; do
    dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || need="$need $p"
done
[ -z "$need" ] || { log "installing$need"; DEBIAN_FRONTEND=noninteractive apt-get install -y $need >&2; }
[ -f "$fx/.hardened-done" ] && [ -f "$fx/.bullseye-done" ] || sh fixtures/compliance/make.sh

if [ -z "${GARRISON:-}" ]; then
    log "building garrison (release)"
    cargo build --release --locked -p garrison >&2
    GARRISON=$root/target/release/garrison
fi

# The adapted copy of the data stream for Debian 12.
DS12=$out/ssg-debian11-ds-platform-debian12.xml
sed -e 's/\^11\.\[0-9\]+\$/^12.[0-9]+$/g' "$DS11" >"$DS12"
n=$(grep -c '\^12\.\[0-9\]+\$' "$DS12" || true)
[ "$n" = 2 ] || { log "expected 2 platform patterns to adapt in $DS11, found $n"; exit 1; }

timed() { # label command...
    local label=$1; shift
    local rc=0
    /usr/bin/time -v -o "$out/time-$label.txt" "$@" >"$out/out-$label.txt" 2>"$out/err-$label.txt" || rc=$?
    # oscap: 2 = some rule failed; garrison: 1 = failed checks (gate). Both normal here.
    case $rc in 0|1|2) ;; *) log "$label exited $rc:"; tail -5 "$out/err-$label.txt" >&2; exit 1 ;; esac
    echo "$label $rc" >>"$out/exit-codes.txt"
}

: >"$out/exit-codes.txt"
compare_args=()
for t in $targets; do
    case $t in
        bullseye) ds=$DS11; policy=cis_debian11.yml; base=91000; tree=$fx/bullseye ;;
        default|hardened) ds=$DS12; policy=cis_debian12.yml; base=90000; tree=$fx/$t ;;
        host) ds=$DS12; policy=cis_debian12.yml; base=90000; tree=/ ;;
        *) log "unknown target $t"; exit 2 ;;
    esac
    results=()
    for p in $profiles; do
        res=$out/oscap-$t-$p.xml
        log "$t: OpenSCAP profile $p"
        if [ "$t" = host ]; then
            timed "oscap-$t-$p" oscap xccdf eval --profile "xccdf_org.ssgproject.content_profile_$p" --results "$res" "$ds"
        else
            timed "oscap-$t-$p" oscap-chroot "$tree" xccdf eval --profile "xccdf_org.ssgproject.content_profile_$p" --results "$res" "$ds"
        fi
        results+=("$res")
    done
    log "$t: garrison with $policy"
    if [ "$t" = host ]; then
        timed "garrison-$t" "$GARRISON" check host --policy "policies/$policy" --trust-policy "policies/$policy" --format json
    else
        timed "garrison-$t" "$GARRISON" check rootfs "$tree" --policy "policies/$policy" --format json
    fi
    cp "$out/out-garrison-$t.txt" "$out/garrison-$t.json"
    compare_args+=("$t=$out/garrison-$t.json:$base:$(IFS=,; echo "${results[*]}")")
done

{
    echo "Commands (target/bench/compliance-openscap/, $(date -u +%Y-%m-%d)):"
    echo
    echo '```'
    echo "oscap-chroot TREE xccdf eval --profile xccdf_org.ssgproject.content_profile_PROFILE --results R.xml $DS11"
    echo "oscap xccdf eval --profile ... --results R.xml $(basename "$DS12")   # host; the adapted copy"
    echo "garrison check rootfs TREE --policy policies/cis_debian1X.yml --format json"
    echo "garrison check host --policy policies/cis_debian12.yml --trust-policy policies/cis_debian12.yml --format json"
    echo '```'
    echo
    echo "Versions: $(dpkg-query -W -f '${Package} ${Version}, ' openscap-scanner ssg-debian) $("$GARRISON" --version 2>/dev/null | head -1)"
    echo
    echo "| run | wall (s) | user+sys CPU (s) | max RSS (MB) | exit |"
    echo "|---|---|---|---|---|"
    while read -r label rc; do
        f=$out/time-$label.txt
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; printf "%.2f", s}' "$f")
        cpu=$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.2f", u+s}' "$f")
        rss=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$f")
        echo "| $label | $wall | $cpu | $rss | $rc |"
    done <"$out/exit-codes.txt"
    python3 bench/compliance-openscap-compare.py bench/compliance-openscap-map.tsv policies/gen/ids.json "${compare_args[@]}"
} >"$out/report.md"
log "wrote $out/report.md"
cat "$out/report.md"
