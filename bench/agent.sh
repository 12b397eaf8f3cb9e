#!/bin/sh
# Benchmarks `garrison agent`: storms from the load generator (open/close, exec,
# connect) and real servers on loopback (redis-benchmark, pgbench), each with the
# agent off and on in the same run. Reports per workload: ops/s off and on, the
# slowdown, events/s the agent delivered, events lost, the agent's CPU and peak
# RSS (/usr/bin/time -v). Root only (the agent loads BPF programs).
#
#   bench/agent.sh [SECONDS] [ROUNDS]   # per storm run (default 10); rounds (default 3)
#   BENCH_ONLY="redis-benchmark pgbench" bench/agent.sh 5 5   # some workloads only
#   REDIS_N=50000 BENCH_ONLY=redis-benchmark-default bench/agent.sh 5 21   # short rounds
#   (redis-benchmark-1cpu-default: the same with server, client and agent on one CPU)
#   GARRISON_BIN=/tmp/garrison-a BENCH_ONLY=open-200k bench/agent.sh 10 3   # another build
#
# Storms and the `all` rows run the raw event stream with no rules (--no-rules
# --events KINDS); the `-default` rows run the agent as `garrison agent` runs it:
# the built-in ruleset, alerts only, the interest maps its rules program.
#
# Each workload runs ROUNDS pairs of agent-off and agent-on runs, interleaved
# (off,on then on,off, alternately, so drift from other load on the machine falls
# on both sides); the table gives medians (the slowdown: the median of the
# rounds' own slowdowns), and the load average and the host's speed (ns per
# syscall of a 1-byte dd) are recorded at the start and the end (the machine may
# be shared, and a VM's host may slow it down for minutes). Per-round figures are kept
# in $BENCH_OUT/<workload>.rounds.
# For redis-benchmark and pgbench (`all` and `-default`), one more run with
# kernel.bpf_stats_enabled=1 records what the agent's BPF programs ran meanwhile
# ($BENCH_OUT/<workload>.bpf: runs and ns per program, and per redis request): the
# in-kernel cost, which the machine's load does not blur.
# For pingpong, redis-benchmark and pgbench (`-default`), two more runs under
# `perf record -a` (cpu-clock samples on every CPU), agent off and on, record where
# the workload's CPU time went ($BENCH_OUT/<workload>.hooks): the share of its
# samples inside the agent's kernel hooks (the syscall-tracepoint slow path, the
# BPF runners and programs), the agent's own share, and the syscall entry's share
# off and on. A cost that the host's noise does not blur, as wall-clock rounds are.
# Needs (installed when missing): redis-server redis-tools postgresql
# postgresql-contrib time linux-perf. Talks only to 127.0.0.1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-10}
rounds=${2:-3}
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
command -v perf >/dev/null 2>&1 || need="$need linux-perf"
if [ -n "$need" ]; then
    apt-get install -y $need >/dev/null
fi

cd "$root"
# one invocation: built separately, the two resolve features differently and
# rebuild most dependencies
cargo build --release -p garrison --bin garrison -p garrison-agent --example loadgen >&2
target=${CARGO_TARGET_DIR:-$root/target}
# GARRISON_BIN: another build of garrison to measure (an A/B of two builds: run
# the script once with each, BENCH_ONLY set to the same workloads)
garrison=${GARRISON_BIN:-$target/release/garrison}
[ -x "$garrison" ] || { echo "bench/agent.sh: $garrison is not an executable (GARRISON_BIN)" >&2; exit 1; }
echo "agent binary: $garrison" >&2
loadgen=$target/release/examples/loadgen

results=$out/results.tsv
printf 'workload\tsource\tevents\trounds\toff_ops_s\ton_ops_s\tslowdown_pct\tdelivered\tlost\tevents_per_s\tagent_cpu_s\tagent_cpu_pct\tagent_peak_rss_kb\n' >"$results"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# host_speed: ns per syscall of dd copying 1-byte blocks (read + write), a probe
# of how fast the host runs this VM now
host_speed() {
    /usr/bin/time -f %e dd if=/dev/zero of=/dev/null bs=1 count=1M 2>&1 | tail -1 |
        awk '{printf "%.0f", $1 * 1e9 / 2097152}'
}
# BPF run-time stats (kernel.bpf_stats_enabled) add two clock reads to every run of
# every BPF program: off for the measured rounds whatever they were before (a run
# left on by hand inflated a whole session's figures), on only inside bpf_cost
bpf_stats_before=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=0
trap 'sysctl -q -w kernel.bpf_stats_enabled="$bpf_stats_before"' EXIT
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) syscall_ns $(host_speed) bpf_stats_before $bpf_stats_before" >"$out/load.txt"

agent_pid=""
time_pid=""
agent_pin=""
# start_agent NAME EVENTS: the agent, output discarded, under /usr/bin/time -v.
start_agent() {
    data=$out/data-$1
    rm -rf "$data"
    # EVENTS "default": the agent as `garrison agent` runs it (the built-in ruleset,
    # alerts only, the interest its rules need); else the raw event stream of those
    # kinds with no rules (the sensor's own throughput).
    if [ "$2" = default ]; then
        set -- "$1" "$2"
    else
        set -- "$1" "$2" --no-rules --events "$2"
    fi
    name_=$1
    shift 2
    # shellcheck disable=SC2086 # agent_pin: "taskset -c CPU" or nothing
    /usr/bin/time -v -o "$out/time-$name_.txt" ${agent_pin:+taskset -c "$agent_pin"} "$garrison" --data-dir "$data" agent \
        "$@" --output /dev/null 2>"$out/agent-$name_.err" &
    time_pid=$!
    i=0
    until [ -s "$data/agent/status.json" ] && grep -q '"running": true' "$data/agent/status.json"; do
        i=$((i + 1))
        [ $i -lt 600 ] || { cat "$out/agent-$name_.err" >&2; echo "agent did not start" >&2; exit 1; }
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

now() { date +%s.%N; }

# Ids of every loaded BPF program.
bpf_ids() { bpftool prog show -j | python3 -c 'import json, sys; [print(p["id"]) for p in json.load(sys.stdin)]' | sort; }

# BPF run counts of the programs IDS (kernel.bpf_stats_enabled=1): "id name cnt ns" lines.
bpf_runs() { # IDS
    bpftool prog show -j | python3 -c '
import json, sys
mine = set(sys.argv[1].split())
for p in json.load(sys.stdin):
    if str(p["id"]) in mine:
        print(p["id"], p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0))' "$1"
}

# bpf_cost NAME EVENTS FUNC [OPS]: one run of FUNC with the agent on and kernel BPF
# stats enabled; what the agent's programs ran meanwhile, per program (runs, average
# ns) in $out/NAME.bpf, and per operation when FUNC does OPS of them. Measured in the
# kernel, so independent of the machine's load.
bpf_cost() {
    case " ${BENCH_ONLY:-$1} " in *" $1 "*) ;; *) return 0 ;; esac
    command -v bpftool >/dev/null 2>&1 || { echo "bpf_cost: bpftool missing" >&2; return 0; }
    sysctl -q -w kernel.bpf_stats_enabled=1
    # the agent's own programs: those loaded while it starts (other agents on the
    # machine load programs of the same names)
    bpf_ids >"$out/$1.ids0"
    start_agent "$1-bpf" "$2"
    bpf_ids >"$out/$1.ids1"
    mine=$(comm -13 "$out/$1.ids0" "$out/$1.ids1" | tr '\n' ' ')
    bpf_runs "$mine" >"$out/$1.bpf.before"
    $3 >/dev/null
    bpf_runs "$mine" >"$out/$1.bpf.after"
    stop_agent "$1-bpf"
    sysctl -q -w kernel.bpf_stats_enabled=0
    python3 - "$out/$1.bpf.before" "$out/$1.bpf.after" "$1" "$2" "${4:-0}" >"$out/$1.bpf" <<'PY'
import sys
read = lambda f: {l.split()[0]: l.split()[1:] for l in open(f) if l.strip()}
a, b = read(sys.argv[1]), read(sys.argv[2])
total_n = total_ns = 0
print(f"{sys.argv[3]} with the agent on (events {sys.argv[4]}): BPF programs run meanwhile")
for pid, (name, cnt, ns) in sorted(b.items(), key=lambda kv: kv[1][0]):
    c0, n0 = (int(a[pid][1]), int(a[pid][2])) if pid in a else (0, 0)
    dc, dn = int(cnt) - c0, int(ns) - n0
    total_n += dc; total_ns += dn
    if dc:
        print(f"  {name:14s} {dc:>10d} runs  {dn / dc:8.0f} ns avg  {dn / 1e6:8.1f} ms")
print(f"  total          {total_n:>10d} runs                 {total_ns / 1e6:8.1f} ms")
ops = int(sys.argv[5])
if ops:
    print(f"  per operation  {total_n / ops:10.2f} runs  {total_ns / ops:8.0f} ns ({ops} operations)")
PY
    cat "$out/$1.bpf" >&2
}

# profiled FILE FUNC: FUNC while `perf record -a` samples every CPU into FILE.
profiled() {
    perf record -q -a -F 10000 -e cpu-clock -o "$1" 2>/dev/null &
    perf_pid=$!
    sleep 1
    $2 >/dev/null
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
}

# hook_share NAME EVENTS FUNC COMMS: FUNC under `perf record -a`, without and with
# the agent; $out/NAME.hooks: the share of the samples of the processes named COMMS
# (the workload) spent in the agent's kernel hooks and in the syscall entry, and the
# agent's own samples relative to the workload's.
hook_share() {
    case " ${BENCH_ONLY:-$1} " in *" $1 "*) ;; *) return 0 ;; esac
    profiled "$out/$1.perf-off" "$3"
    start_agent "$1-perf" "$2"
    profiled "$out/$1.perf-on" "$3"
    stop_agent "$1-perf"
    for side in off on; do
        perf script -i "$out/$1.perf-$side" -F comm,tid,ip,sym 2>/dev/null >"$out/$1.samples-$side"
    done
    python3 - "$out/$1.samples-off" "$out/$1.samples-on" "$1" "$4" >"$out/$1.hooks" <<'PY'
import collections, re, sys
# the kernel's syscall-tracepoint slow path (taken by every task while any syscall
# tracepoint is attached), the BPF runners, JIT-ed programs and their helpers
HOOK = re.compile(r"(syscall_trace_enter|syscall_exit_work|perf_syscall_(enter|exit)"
    r"|bpf_trace_run\d+|trace_call_bpf|perf_trace_run_bpf_submit|__cgroup_bpf_run\w*"
    r"|bpf_prog_[0-9a-f]+_\w+|__bpf_prog_(enter|exit)\w*|_?_?bpf_ringbuf_\w+"
    r"|bpf_probe_read_\w+|bpf_get_current_\w+|bpf_sk_storage_\w+|bpf_ktime_get_ns)$")
work = set(sys.argv[4].split(","))
def load(f):
    n = agent = 0
    syms = collections.Counter()
    for line in open(f):
        t = line.split()
        if len(t) < 4:
            continue
        comm, sym = " ".join(t[:-3]), t[-1]
        if comm.startswith("garrison"):
            agent += 1
        elif comm in work:
            n += 1
            syms[sym] += 1
    return n, agent, syms
n0, _, s0 = load(sys.argv[1])
n1, a1, s1 = load(sys.argv[2])
pct = lambda x, n: 100.0 * x / n if n else 0.0
hooks = {s: c for s, c in s1.items() if HOOK.match(s)}
h = sum(hooks.values())
print(f"{sys.argv[3]}: where the workload's CPU went ({sys.argv[4]}; cpu-clock samples at 10 kHz on every CPU)")
print(f"  samples: {n0} agent off, {n1} agent on")
for s, c in sorted(hooks.items(), key=lambda kv: -kv[1])[:12]:
    print(f"  {s:40s} {pct(c, n1):5.2f}%")
print(f"  in the agent's hooks            {pct(h, n1):5.2f}% of the workload's samples")
print(f"  the agent's own threads         {pct(a1, n1):5.2f}% (relative to the workload's)")
print(f"  do_syscall_64, off -> on        {pct(s0['do_syscall_64'], n0):5.2f}% -> {pct(s1['do_syscall_64'], n1):5.2f}%")
print(f"  total attributable              {pct(h + a1, n1) + max(0.0, pct(s1['do_syscall_64'], n1) - pct(s0['do_syscall_64'], n0)):5.2f}%")
PY
    rm -f "$out/$1.samples-off" "$out/$1.samples-on"
    cat "$out/$1.hooks" >&2
}

# measure NAME EVENTS FUNC: ROUNDS × (FUNC without the agent, FUNC with it),
# interleaved; FUNC prints ops/s. Appends the medians to the results table.
measure() {
    name=$1
    events=$2
    fn=$3
    # BENCH_ONLY="redis-benchmark pgbench": only the workloads named
    case " ${BENCH_ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    rf=$out/$name.rounds
    : >"$rf"
    r=0
    while [ $r -lt "$rounds" ]; do
        r=$((r + 1))
        if [ $((r % 2)) = 1 ]; then off=$($fn); fi
        start_agent "$name-$r" "$events"
        t1=$(now)
        on=$($fn)
        t2=$(now)
        stop_agent "$name-$r"
        if [ $((r % 2)) = 0 ]; then off=$($fn); fi
        el=$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.3f", b - a}')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$off" "$on" "$delivered" "$lost" "$el" "$cpu" "$cpu_pct" "$rss" "$source" >>"$rf"
        echo "$name round $r [$source]: off $off, on $on ops/s, delivered $delivered in ${el}s, lost $lost, agent cpu ${cpu}s (${cpu_pct}%), rss ${rss} kB" >&2
    done
    python3 - "$rf" "$name" "$events" "$rounds" >>"$results" <<'PY'
import statistics as st, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
col = lambda i: [float(r[i]) for r in rows]
off, on = st.median(col(0)), st.median(col(1))
# the slowdown is the median of the rounds' own slowdowns: each round's off and on
# runs are seconds apart, so a drift of the host's speed between rounds (on the
# VMs here, the same work can take 1.5 times as long a minute later) cancels
slow = st.median([(1 - b / a) * 100 for a, b in zip(col(0), col(1))])
eps = st.median([d / e for d, e in zip(col(2), col(4))])
sources = sorted({r[8] for r in rows})
print("\t".join(map(str, [
    sys.argv[2], "/".join(sources), sys.argv[3], sys.argv[4], int(off), int(on),
    f"{slow:.1f}", int(st.median(col(2))), int(sum(col(3))), int(eps),
    f"{st.median(col(5)):.2f}", int(st.median(col(6))), int(max(col(7)))])))
PY
}

ops() { python3 -c "import json,sys; print(int(json.loads(sys.argv[1])['ops_per_sec']))" "$1"; }

# --- storms ------------------------------------------------------------------
open_storm() { ops "$("$loadgen" open "$secs")"; }
open_200k() { ops "$("$loadgen" open "$secs" 200000)"; }
exec_storm() { ops "$("$loadgen" exec "$secs")"; }
connect_storm() { ops "$("$loadgen" connect "$secs")"; }
measure open-storm open open_storm
measure open-200k open open_200k
measure exec-storm exec exec_storm
measure connect-storm connect,accept connect_storm

# --- syscalls ----------------------------------------------------------------
# dd copying 1-byte blocks from /dev/zero to /dev/null: two syscalls (read,
# write) per block, neither traced, so the slowdown is what the agent's mere
# presence adds to every syscall on the host (the kernel's syscall-tracepoint
# slow path, taken by every task while any syscall tracepoint is attached)
syscall_rate() {
    /usr/bin/time -f %e dd if=/dev/zero of=/dev/null bs=1 count=2M 2>&1 | tail -1 |
        awk '{printf "%d", 4194304 / $1}'
}
measure syscalls-default default syscall_rate

# --- pingpong ----------------------------------------------------------------
# 1 byte there and back over a loopback TCP pair in one thread: per round trip 4
# socket syscalls (untraced) and 2 packets, each sent and received. A request/
# response server boiled down, without the cross-CPU wake-ups that make redis's
# figure swing with the host: what the agent adds per syscall and per packet.
pingpong_rate() { ops "$("$loadgen" pingpong "$secs")"; }
measure pingpong-default default pingpong_rate
hook_share pingpong-default default pingpong_rate loadgen

# --- redis-benchmark -----------------------------------------------------------
rport=6399
redis-server --bind 127.0.0.1 --port $rport --save '' --appendonly no --daemonize no \
    >"$out/redis.log" 2>&1 &
redis_pid=$!
until redis-cli -h 127.0.0.1 -p $rport ping >/dev/null 2>&1; do sleep 0.1; done
# 5 tests x REDIS_N requests (200,000 by default; fewer make shorter rounds, so
# more pairs fit in a quiet spell of the host)
redis_n=${REDIS_N:-200000}
redis_requests=$((5 * redis_n))
redis_rps() {
    # Mean requests/s over the tests (CSV: "test","rps",...).
    # shellcheck disable=SC2086 # redis_pin: "taskset -c CPU" or nothing
    $redis_pin redis-benchmark -h 127.0.0.1 -p $rport -n "$redis_n" -c 50 -t set,get,incr,lpush,lpop -q --csv \
        | python3 -c "import csv,sys; r=[float(x[1]) for x in csv.reader(sys.stdin) if x and x[0]!='test']; print(int(sum(r)/len(r)))"
}
redis_pin=""
measure redis-benchmark all redis_rps
measure redis-benchmark-default default redis_rps
bpf_cost redis-benchmark all redis_rps $redis_requests
bpf_cost redis-benchmark-default default redis_rps $redis_requests
hook_share redis-benchmark-default default redis_rps redis-server,redis-benchmark
# The same on one CPU: the server, the client and the agent all pinned to the last
# CPU. No cross-CPU wake-ups, whose latency the VM's host decides (unpinned, the
# same run swings between 40k and 100k requests/s), and no idle CPU to absorb the
# agent's work: every cycle the agent and its kernel hooks take is the workload's.
pin_cpu=$(($(nproc) - 1))
taskset -pc "$pin_cpu" "$redis_pid" >/dev/null
redis_pin="taskset -c $pin_cpu"
agent_pin=$pin_cpu
measure redis-benchmark-1cpu-default default redis_rps
hook_share redis-benchmark-1cpu-default default redis_rps redis-server,redis-benchmark
redis_pin=""
agent_pin=""
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
measure pgbench all pg_tps
measure pgbench-default default pg_tps
bpf_cost pgbench all pg_tps
bpf_cost pgbench-default default pg_tps
hook_share pgbench-default default pg_tps postgres,pgbench
su postgres -c "$pgbin/pg_ctl -D $pg/data -m fast stop" >/dev/null

echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) syscall_ns $(host_speed)" >>"$out/load.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo >&2
column -t -s "$(printf '\t')" "$results"
