#!/usr/bin/env bash
# Benchmark: `garrison server` under N simulated agents (default 2,000), each
# enrolled with its own key (rcgen CSR) and holding its own mutual-TLS
# connection over 127.0.0.1, sending alert batches of 100 (zstd, as agents do)
# back to back and a heartbeat every 10 s, while one user session reads
# GET /api/v1/alerts every 100 ms. Reports sustained ingest (alerts/s), API
# p50/p99 latency under that load, and the server's peak RSS (/usr/bin/time -v),
# on SQLite and on PostgreSQL. `alerts_per_s` is every acknowledged alert over
# the whole traffic time, drain included; `steady_alerts_per_s` the rate from a
# fifth of the run to the stop signal; `server_cpu_s`/`loadgen_cpu_s` the CPU
# each side used (the load tool shares the machine's cores).
#
# Usage: bench/server.sh [sqlite|postgres|both]   (default both)
#   AGENTS=2000 DURATION=60   load shape
#   GARRISON=path LOADGEN=path   prebuilt binaries (else release builds)
#   GARRISON_BENCH_DATABASE_URL=postgres://USER:PW@127.0.0.1:5432/postgres  an
#     account that may create databases (else the cluster scripts/test starts is
#     used: `su postgres` creates the role garrison_test as scripts/test does)
# Writes target/bench/server-<backend>.json (the loadgen report plus peak RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
AGENTS=${AGENTS:-2000}
DURATION=${DURATION:-60}
which=${1:-both}
out=$root/target/bench
mkdir -p "$out"
[ -x /usr/bin/time ] || { echo "bench/server.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
if [ -z "${GARRISON:-}" ] || [ -z "${LOADGEN:-}" ]; then
    cargo build --release -q -p garrison -p garrison-loadgen
    GARRISON=${GARRISON:-$root/target/release/garrison}
    LOADGEN=${LOADGEN:-$root/target/release/garrison-loadgen}
fi
# Every agent holds a connection on both sides of loopback.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge $((AGENTS * 2 + 256)) ] || { echo "bench/server.sh: open-file limit $(ulimit -n) is below $((AGENTS * 2 + 256))" >&2; exit 1; }

work=$(mktemp -d /var/tmp/garrison-server-bench.XXXXXX)
server=
# /usr/bin/time ignores SIGINT while it waits: stop the server it runs (TERM,
# a clean shutdown) and time then reports.
stop_server() {
    [ -n "$server" ] || return 0
    local child
    child=$(ps -o pid= --ppid "$server" | tr -d ' ')
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT

postgres_url() {
    if [ -n "${GARRISON_BENCH_DATABASE_URL:-}" ]; then
        echo "$GARRISON_BENCH_DATABASE_URL"
        return
    fi
    local ver port
    ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
    [ -n "$(pg_lsclusters -h | awk '$2 == "main"')" ] || pg_createcluster "$ver" main >/dev/null
    [ "$(pg_lsclusters -h | awk '$2 == "main" {print $4}')" = online ] || pg_ctlcluster "$ver" main start
    port=$(pg_lsclusters -h | awk '$2 == "main" {print $3}')
    psql_admin() { (cd / && su postgres -c "psql -q -p $port -tAc \"$1\""); }
    [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'garrison_test'")" = 1 ] ||
        psql_admin "CREATE ROLE garrison_test LOGIN CREATEDB PASSWORD 'garrison_test'" >/dev/null
    echo "postgres://garrison_test:garrison_test@127.0.0.1:$port/postgres"
}

run() { # backend
    local backend=$1 data=$work/$1 port=18443 db=() dbname=
    mkdir -p "$data"
    if [ "$backend" = postgres ]; then
        local admin
        admin=$(postgres_url)
        dbname=garrison_bench_$$
        psql "$admin" -qc "DROP DATABASE IF EXISTS $dbname" 2>/dev/null && psql "$admin" -qc "CREATE DATABASE $dbname"
        db=(--database "${admin%/*}/$dbname")
    fi
    head -c 18 /dev/urandom | base64 >"$data/pw"
    "$GARRISON" --data-dir "$data" server admin create-user --username admin --password-file "$data/pw" "${db[@]}" >/dev/null
    /usr/bin/time -v -o "$data/time.txt" "$GARRISON" --data-dir "$data" server --listen "127.0.0.1:$port" "${db[@]}" 2>"$data/server.err" &
    server=$!
    for _ in $(seq 200); do
        grep -q listening "$data/server.err" && break
        sleep 0.1
    done
    grep -q listening "$data/server.err" || { cat "$data/server.err" >&2; exit 1; }
    echo "== $backend: $AGENTS agents, ${DURATION}s" >&2
    local rc=0
    /usr/bin/time -f "%U %S" -o "$data/loadgen-time.txt" "$LOADGEN" --server "127.0.0.1:$port" --ca "$data/server/ca.pem" --user admin --password-file "$data/pw" \
        --agents "$AGENTS" --duration "$DURATION" >"$data/report.json" || rc=$?
    stop_server
    local rss
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$data/time.txt")
    local size cpu lgcpu
    size=$(du -sk "$data/server" | cut -f1)
    # The server's CPU seconds (user + system) over its whole run: alerts per
    # server CPU-second is the figure a loaded machine distorts least.
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$data/time.txt")
    lgcpu=$(awk '{printf "%.2f", $1 + $2}' "$data/loadgen-time.txt")
    sed -e "s/}\$/,\"backend\":\"$backend\",\"server_peak_rss_kib\":$rss,\"server_cpu_s\":$cpu,\"loadgen_cpu_s\":$lgcpu,\"data_dir_kib\":$size}/" "$data/report.json" >"$out/server-$backend.json"
    cat "$out/server-$backend.json"
    if [ "$backend" = postgres ]; then
        # The server's connections may take a moment to end after it exits.
        for _ in 1 2 3 4 5; do
            psql "$admin" -qc "DROP DATABASE IF EXISTS $dbname" 2>/dev/null && break
            sleep 1
        done
    fi
    return $rc
}

case $which in
    sqlite) run sqlite ;;
    postgres) run postgres ;;
    both) run sqlite; run postgres ;;
    *) echo "usage: bench/server.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac
