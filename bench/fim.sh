#!/usr/bin/env bash
# Benchmark: `garrison fim` against AIDE 0.18 (Debian's `aide`) on /usr, side by
# side in the same run, with the same attributes (perm, inode, owner, group, size,
# mtime, ctime, ACLs, xattrs, file capabilities) and the same hash (SHA-256), both
# with 2 workers: baseline init, then an unchanged check (Garrison's default, which
# skips rehashing files whose inode/size/mtime/ctime are unchanged, and --full).
# Garrison's own default hash (BLAKE3) is measured too. Wall time, CPU time (user +
# sys) and peak RSS come from /usr/bin/time -v. /usr is read once before the runs so
# that every tool reads from the page cache.
#
# Then real-time detection latency: `garrison agent --no-rules --fim-config` on a
# watched temp dir; a writer appends to a new file every 20 ms (N=200) and polls the
# agent's stream for the alert naming it; latency = alert seen - write done.
#
# Usage: bench/fim.sh     (as root; installs aide and time when missing)
#        LATENCY_ONLY=1 bench/fim.sh   (the real-time part alone)
# Writes target/bench/fim.md. The machine may be shared: the load average is recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
TREE=${TREE:-/usr}
WORKERS=${WORKERS:-2}
N=${N:-200}
out=$root/target/bench
tmp=$(mktemp -d /var/tmp/fim-bench.XXXXXX)
agent_pid=
cleanup() { [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$out"
log() { printf 'bench/fim.sh: %s\n' "$*" >&2; }

command -v aide >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y aide >&2
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y time >&2
cargo build --release -p garrison >&2
g=$root/target/release/garrison

cat > "$tmp/aide.conf" <<CONF
database_in=file:$tmp/aide.db
database_out=file:$tmp/aide.db.new
gzip_dbout=no
log_level=error
report_url=stdout
GARRISON = p+i+u+g+s+m+c+acl+xattrs+caps+sha256
$TREE GARRISON
CONF
cat > "$tmp/sha256.toml" <<CONF
hash = "sha256"
content_paths = []
[[watch]]
path = "$TREE"
attributes = ["hash", "size", "mode", "owner", "group", "inode", "mtime", "ctime", "xattrs", "caps", "acl"]
CONF
sed 's/^hash = "sha256"/hash = "blake3"/' "$tmp/sha256.toml" > "$tmp/blake3.toml"

log "warming the page cache with $TREE"
find "$TREE" -xdev -type f -print0 | xargs -0 cat > /dev/null 2>&1 || true
files=$(find "$TREE" -xdev | wc -l)
bytes=$(du -sxb "$TREE" | cut -f1)

rows=()
# run NAME CMD...: one measured run; appends "| NAME | wall | cpu | rss |".
run() {
    local name=$1; shift
    log "$name"
    local rc=0
    /usr/bin/time -v -o "$tmp/time.txt" "$@" > "$tmp/stdout.txt" 2> "$tmp/stderr.txt" || rc=$?
    # AIDE --check exits 1-7 (added|removed|changed bits), garrison 1 on changes.
    if [ "$rc" -gt 7 ]; then cat "$tmp/stderr.txt" >&2; log "$name failed ($rc)"; exit 1; fi
    local wall user sys rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/time.txt")
    user=$(awk -F': ' '/User time/ {print $2}' "$tmp/time.txt")
    sys=$(awk -F': ' '/System time/ {print $2}' "$tmp/time.txt")
    rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$tmp/time.txt")
    rows+=("| $name | $(printf '%.2f' "$wall") s | $(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}') s | $rss MiB |")
    eval "wall_${name//[^a-zA-Z0-9]/_}=$wall"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -z "${LATENCY_ONLY:-}" ]; then
run aide_init aide --config="$tmp/aide.conf" --init --workers="$WORKERS"
mv "$tmp/aide.db.new" "$tmp/aide.db"
run aide_check aide --config="$tmp/aide.conf" --check --workers="$WORKERS"
aide_changes=$(grep -c '^[fdlcbps!][ +-]' "$tmp/stdout.txt" || true)

gd=(--data-dir "$tmp/g-sha" --key "$tmp/keys/sha.key")
run garrison_init_sha256 "$g" --quiet --data-dir "$tmp/g-sha" fim init --config "$tmp/sha256.toml" --workers "$WORKERS" --key "$tmp/keys/sha.key"
run garrison_check_sha256 "$g" --quiet --data-dir "$tmp/g-sha" fim check --workers "$WORKERS" --key "$tmp/keys/sha.key"
g_changes=$(grep -vc '^no changes' "$tmp/stdout.txt" || true)
run garrison_check_full_sha256 "$g" --quiet --data-dir "$tmp/g-sha" fim check --full --workers "$WORKERS" --key "$tmp/keys/sha.key"
run garrison_init_blake3 "$g" --quiet --data-dir "$tmp/g-b3" fim init --config "$tmp/blake3.toml" --workers "$WORKERS" --key "$tmp/keys/b3.key"
run garrison_check_blake3 "$g" --quiet --data-dir "$tmp/g-b3" fim check --workers "$WORKERS" --key "$tmp/keys/b3.key"
run garrison_check_full_blake3 "$g" --quiet --data-dir "$tmp/g-b3" fim check --full --workers "$WORKERS" --key "$tmp/keys/b3.key"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- real-time detection latency ------------------------------------------------
mkdir -p "$tmp/watched"
cat > "$tmp/rt.toml" <<CONF
[[watch]]
path = "$tmp/watched"
CONF
"$g" --data-dir "$tmp/agent" agent --no-rules --fim-config "$tmp/rt.toml" --alerts-per-rule 100000 --output "$tmp/stream.ndjson" 2> "$tmp/agent.err" &
agent_pid=$!
for _ in $(seq 300); do
    grep -q '"running": *true' "$tmp/agent/agent/status.json" 2>/dev/null && break
    sleep 0.1
done
log "real-time latency: $N writes"
python3 - "$tmp/watched" "$tmp/stream.ndjson" "$N" > "$tmp/latency.txt" <<'PY'
import os, sys, time, json
watched, stream, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lat = []
missed = 0
f = open(stream, "a+"); f.seek(0, 2)
for i in range(n):
    path = os.path.join(watched, f"f{i}")
    with open(path, "a") as w:
        w.write("x\n")
    t0 = time.monotonic()
    needle = f'"fim.path":"{path}"'
    buf = ""
    while True:
        chunk = f.read()
        if chunk:
            buf += chunk
            if needle in buf:
                lat.append(time.monotonic() - t0)
                break
        elif time.monotonic() - t0 > 5:
            missed += 1
            break
        else:
            time.sleep(0.0005)
    time.sleep(0.02)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
print(f"{len(lat)} {missed} {q(0.5):.1f} {q(0.99):.1f} {lat[-1]*1000 if lat else float('nan'):.1f}")
PY
kill "$agent_pid"; wait "$agent_pid" || true; agent_pid=
read -r lat_n lat_missed p50 p99 pmax < "$tmp/latency.txt"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a/b}'; }
if [ -n "${LATENCY_ONLY:-}" ]; then
    echo "Real-time detection latency (LATENCY_ONLY=1 bench/fim.sh, $(date -u +%Y-%m-%d), load average $load_before): write done -> alert line in the agent's stream, $lat_n of $N writes seen ($lat_missed missed): p50 $p50 ms, p99 $p99 ms, max $pmax ms." | tee "$out/fim-latency.md"
    exit 0
fi
{
    echo "### fim: $(date -u +%Y-%m-%d) on $(nproc) cores, $TREE: $files entries, $((bytes / 1000000)) MB"
    echo
    echo "Command: \`bench/fim.sh\` (TREE=$TREE, WORKERS=$WORKERS). $(aide --version 2>&1 | head -1); Garrison $(git rev-parse --short HEAD)."
    echo "Load average before/after the scans: $load_before / $load_after (machine shared with other builds)."
    echo
    echo "| run | wall | CPU (user+sys) | peak RSS |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Unchanged check reported: AIDE $aide_changes changed entries, Garrison $g_changes lines."
    echo "Speed-up over AIDE (wall, sha256, same attributes): init $(ratio "$wall_aide_init" "$wall_garrison_init_sha256")x,"
    echo "default check $(ratio "$wall_aide_check" "$wall_garrison_check_sha256")x, full check $(ratio "$wall_aide_check" "$wall_garrison_check_full_sha256")x."
    echo
    echo "Real-time detection latency (write done -> alert line in the agent's stream), $lat_n of $N writes seen ($lat_missed missed): p50 $p50 ms, p99 $p99 ms, max $pmax ms."
} | tee "$out/fim.md"
