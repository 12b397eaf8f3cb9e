#!/bin/sh
# Benchmarks `garrison agent`: storms from the load generator (open/close, exec,
# connect) and real servers on loopback (redis-benchmark, pgbench), each with the
# agent off and on in the same run. Reports per workload: ops/s off and on, the
# slowdown, events/s the agent delivered, events lost, the agent's CPU and peak
# RSS (/usr/bin/time -v). Root only (the agent loads BPF programs).
#
#   bench/agent.sh [SECONDS]      # per storm run, default 10
#
# Needs (installed when missing): redis-server redis-tools postgresql
# postgresql-contrib time. Talks only to 127.0.0.1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-10}
out=${BENCH_OUT:-$root/target/bench-agent}
rm -rf "$out"
mkdir -p "$out"

[ "$(id -u)" = 0 ] || { echo "bench/agent.sh: run as root" >&2; exit 1; }
need=""
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v redis-benchmark >/dev/null 2>&1 || need="$need redis-tools"
[ -x /usr/lib/postgresql/15/bin/initdb ] || need="$need postgresql postgresql-contrib"
command -v pgbench >/dev/null 2>&1 || need="$need postgresql-contrib"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
    apt-get install -y $need >/dev/null
fi

cd "$root"
cargo build --release -p garrison --bin garrison >&2
cargo build --release -p garrison-agent --example loadgen >&2
target=${CARGO_TARGET_DIR:-$root/target}
garrison=$target/release/garrison
loadgen=$target/release/examples/loadgen

results=$out/results.tsv
printf 'workload\tsource\tevents\toff_ops_s\ton_ops_s\tslowdown_pct\tdelivered\tlost\tevents_per_s\tagent_cpu_s\tagent_cpu_pct\tagent_peak_rss_kb\n' >"$results"

agent_pid=""
time_pid=""
# start_agent NAME EVENTS: the agent, output discarded, under /usr/bin/time -v.
start_agent() {
    data=$out/data-$1
    rm -rf "$data"
    /usr/bin/time -v -o "$out/time-$1.txt" "$garrison" --data-dir "$data" agent \
        --events "$2" --output /dev/null 2>"$out/agent-$1.err" &
    time_pid=$!
    i=0
    until [ -s "$data/agent/status.json" ] && grep -q '"running": true' "$data/agent/status.json"; do
        i=$((i + 1))
        [ $i -lt 600 ] || { cat "$out/agent-$1.err" >&2; echo "agent did not start" >&2; exit 1; }
        sleep 0.1
    done
    agent_pid=$(pgrep -P "$time_pid" -x garrison || true)
    [ -n "$agent_pid" ] || agent_pid=$(pgrep -P "$time_pid")
}

# stop_agent NAME: SIGINT, wait, then read the final status and time -v.
stop_agent() {
    kill -INT "$agent_pid"
    wait "$time_pid" || true
    st=$out/data-$1/agent/status.json
    delivered=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(sum(k['delivered'] for k in s['stats']['kinds'].values()))" "$st")
    lost=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); st=s['stats']; print(sum(k['lost'] for k in st['kinds'].values()) + st['lost_unattributed'])" "$st")
    user=$(awk -F': ' '/User time/ {print $2}' "$out/time-$1.txt")
    sys=$(awk -F': ' '/System time/ {print $2}' "$out/time-$1.txt")
    cpu_pct=$(awk -F': ' '/Percent of CPU/ {print $2}' "$out/time-$1.txt" | tr -d '%')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time-$1.txt")
    # bpf, or degraded: the agent falls back loudly when the sensor cannot start.
    source=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['source']; print(s['name'] + ('(DEGRADED)' if s['degraded'] else ''))" "$st")
    cpu=$(awk -v a="$user" -v b="$sys" 'BEGIN {printf "%.2f", a + b}')
}

# record NAME EVENTS OFF ON SECONDS
record() {
    slow=$(awk -v off="$3" -v on="$4" 'BEGIN {printf "%.1f", (1 - on / off) * 100}')
    eps=$(awk -v d="$delivered" -v s="$5" 'BEGIN {printf "%d", d / s}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$source" "$2" "$3" "$4" "$slow" "$delivered" "$lost" "$eps" "$cpu" "$cpu_pct" "$rss" >>"$results"
    echo "$1 [$source]: off $3 ops/s, on $4 ops/s, slowdown $slow%, delivered $delivered ($eps/s), lost $lost, agent cpu ${cpu}s (${cpu_pct}%), peak rss ${rss} kB" >&2
}

ops() { python3 -c "import json,sys; print(int(json.loads(sys.argv[1])['ops_per_sec']))" "$1"; }
mean() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%d", (a + b) / 2}'; }

# --- storms ------------------------------------------------------------------
storm() { # NAME MODE EVENTS [RATE]
    off1=$(ops "$("$loadgen" "$2" "$secs" ${4:-})")
    start_agent "$1" "$3"
    on_json=$("$loadgen" "$2" "$secs" ${4:-})
    on=$(ops "$on_json")
    stop_agent "$1"
    off2=$(ops "$("$loadgen" "$2" "$secs" ${4:-})")
    record "$1" "$3" "$(mean "$off1" "$off2")" "$on" "$secs"
}
storm open-storm open open
storm open-200k open open 200000
storm exec-storm exec exec
storm connect-storm connect connect,accept

# --- redis-benchmark -----------------------------------------------------------
rport=6399
redis-server --bind 127.0.0.1 --port $rport --save '' --appendonly no --daemonize no \
    >"$out/redis.log" 2>&1 &
redis_pid=$!
until redis-cli -h 127.0.0.1 -p $rport ping >/dev/null 2>&1; do sleep 0.1; done
redis_rps() {
    # Mean requests/s over the tests (CSV: "test","rps",...).
    redis-benchmark -h 127.0.0.1 -p $rport -n 200000 -c 50 -t set,get,incr,lpush,lpop -q --csv \
        | python3 -c "import csv,sys; r=[float(x[1]) for x in csv.reader(sys.stdin) if x and x[0]!='test']; print(int(sum(r)/len(r)))"
}
off1=$(redis_rps)
start_agent redis all
t1=$(date +%s.%N)
on=$(redis_rps)
t2=$(date +%s.%N)
stop_agent redis
off2=$(redis_rps)
record redis-benchmark all "$(mean "$off1" "$off2")" "$on" "$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.2f", b - a}')"
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true

# --- pgbench -----------------------------------------------------------------
pg=$out/pg
mkdir -p "$pg"
chown postgres "$pg"
pgbin=/usr/lib/postgresql/15/bin
su postgres -c "$pgbin/initdb -D $pg/data -A trust" >"$out/initdb.log" 2>&1
su postgres -c "$pgbin/pg_ctl -D $pg/data -l $pg/log -o '-p 5499 -k $pg -c listen_addresses=127.0.0.1' -w start" >/dev/null
su postgres -c "pgbench -h 127.0.0.1 -p 5499 -i -s 10 postgres" >"$out/pgbench-init.log" 2>&1
pg_tps() {
    su postgres -c "pgbench -h 127.0.0.1 -p 5499 -c 4 -j 2 -T $secs postgres" 2>/dev/null \
        | awk '/^tps/ {print int($3); exit}'
}
off1=$(pg_tps)
start_agent pgbench all
on=$(pg_tps)
stop_agent pgbench
off2=$(pg_tps)
record pgbench all "$(mean "$off1" "$off2")" "$on" "$secs"
su postgres -c "$pgbin/pg_ctl -D $pg/data -m fast stop" >/dev/null

echo >&2
column -t -s "$(printf '\t')" "$results"
