#!/usr/bin/env bash
# Benchmark: syscall -> alert output latency of the real agent (eBPF sensor ->
# enricher -> rules engine with the default ruleset -> grouped alert line on stdout),
# idle and under an open() storm; then events/s through the full default ruleset on
# a stream the agent recorded (`--events all`) during a small cargo build.
#
# Latency: N times `cat /etc/shadow` (rule "Shadow File Read by Unexpected Program");
# a reader on the agent's stdout stamps each alert line when it arrives and
# subtracts the alert's time_ns (the kernel's timestamp of the open, as wall clock).
#
# Usage (root): bench/alert-latency.sh   (N=300 by default; GARRISON=path to a built
# binary, else target/release/garrison is built; BUILD=0 uses the rules_bench
# example already built). Writes target/bench/alert-latency.md. The storm part runs
# twice: rules on the pipeline thread (--rule-threads 1), then one worker per core.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
N=${N:-300}
out=$root/target/bench
mkdir -p "$out"
if [ -z "${GARRISON:-}" ]; then
    cargo build --release -q -p garrison
    GARRISON=$root/target/release/garrison
fi
work=$(mktemp -d /var/tmp/garrison-latency.XXXXXX)
agent=
reader=
storm=
cleanup() {
    [ -n "$storm" ] && kill "$storm" 2>/dev/null || true
    [ -n "$agent" ] && kill "$agent" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Starts the agent (extra args: "$@") writing to a FIFO that a reader stamps.
start_agent() {
    rm -f "$work/fifo" "$work/lat"
    mkfifo "$work/fifo"
    perl -MTime::HiRes=clock_gettime,CLOCK_REALTIME -ne '
        BEGIN { $| = 1 }
        next unless /"kind":"alert"/ && /"rule":"Shadow File Read by Unexpected Program"/;
        my $now = clock_gettime(CLOCK_REALTIME);
        my ($t) = /"time_ns":(\d+)/;
        printf "%.0f\n", ($now - $t / 1e9) * 1e9;' <"$work/fifo" >"$work/lat" &
    reader=$!
    "$GARRISON" --data-dir "$work/data" agent --output "$work/fifo" --alerts-per-rule 1000000 "$@" 2>"$work/agent.err" &
    agent=$!
    for _ in $(seq 300); do
        grep -q '"running": *true' "$work/data/agent/status.json" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "the agent did not start:" >&2
    cat "$work/agent.err" >&2
    exit 1
}

stop_agent() {
    kill -TERM "$agent" 2>/dev/null || true
    wait "$agent" 2>/dev/null || true
    wait "$reader" 2>/dev/null || true
    agent=
}

report() { # LABEL
    sort -n "$work/lat" | awk -v label="$1" '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print label ": no alerts"; exit }
            i50 = int((NR - 1) * 0.50 + 0.5) + 1; i99 = int((NR - 1) * 0.99 + 0.5) + 1
            printf "%s: %d alerts, latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", label, NR, v[i50] / 1e6, v[i99] / 1e6, v[NR] / 1e6
        }'
}

# Each read names a distinct (absent) second file, so that no alert repeats another
# and none is folded into a group.
triggers() {
    for i in $(seq "$N"); do
        cat /etc/shadow "$work/absent-$i" >/dev/null 2>&1 || true
        sleep 0.02
    done
    sleep 2
}

{
    echo '```'
    echo "\$ N=$N bench/alert-latency.sh"
    start_agent
    triggers
    stop_agent
    report "idle machine"

    # Under load: a loop creating and truncating files (write-intent opens, all
    # delivered to user space and evaluated) on the other core.
    mkdir -p "$work/storm"
    perl -e 'my $d = shift; while (1) { for my $i (1..1000) { open(my $f, ">", "$d/f$i") or die; close $f } }' "$work/storm" &
    storm=$!
    # Rule evaluation on the pipeline thread only (--rule-threads 1), then spread
    # over one worker per core (the default), under the same storm.
    for threads in 1 0; do
        start_agent --rule-threads "$threads"
        triggers
        stop_agent
        delivered=$(grep -o '"delivered": *[0-9]*' "$work/data/agent/status.json" | awk -F: '{ s += $2 } END { print s }')
        if [ "$threads" = 1 ]; then label="rules on the pipeline thread"; else label="rules on $(nproc) worker threads"; fi
        report "open() storm on the other core, $label ($delivered events delivered)"
    done
    kill "$storm" 2>/dev/null || true
    wait "$storm" 2>/dev/null || true
    storm=

    # A recorded stream: every event while a small crate builds and tests.
    mkdir -p "$work/crate/src"
    printf '[package]\nname = "rec"\nversion = "0.1.0"\nedition = "2021"\n' >"$work/crate/Cargo.toml"
    printf 'pub fn f() -> u32 { 1 }\n#[test]\nfn t() { assert_eq!(f(), 1); }\n' >"$work/crate/src/lib.rs"
    "$GARRISON" --data-dir "$work/data" agent --no-rules --events all --output "$work/recorded.ndjson" 2>"$work/rec.err" &
    agent=$!
    for _ in $(seq 300); do
        grep -q '"running": *true' "$work/data/agent/status.json" 2>/dev/null && break
        sleep 0.1
    done
    (cd "$work/crate" && CARGO_TARGET_DIR="$work/crate/target" cargo test --offline -q >/dev/null 2>&1)
    for _ in $(seq 20); do sh "$root/crates/garrison/tests/e2e/behaviors.sh" benign "$work/benign" >/dev/null; done
    sleep 1
    kill -TERM "$agent"
    wait "$agent" 2>/dev/null || true
    agent=
    echo "recorded: $(wc -l <"$work/recorded.ndjson") events (cargo test of a small crate, 20 x the e2e benign workload)"
    [ "${BUILD:-1}" = 1 ] && cargo build --release -q -p garrison-rules --example rules_bench
    "$root/target/release/examples/rules_bench" rules 2000000 "$work/recorded.ndjson" | grep -v '^matches in'
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo '```'
} | tee "$out/alert-latency.md"
