#!/usr/bin/env bash
# Benchmark: the detection engine (crates/garrison-rules) with the full default
# ruleset (rules/) on a generated event stream of realistic mix
# (examples/rules_bench.rs): events/s on one core, through the worker pool, and
# the evaluation-path alert latency p50/p99. No peer runs side by side: Falco is
# not packaged for Debian 12 and nothing can be downloaded here, so the figures are
# compared with Falco's published numbers in docs/benchmarks.md instead.
#
# Usage: bench/rules.sh   (EVENTS=2000000 by default). Writes target/bench/rules.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
EVENTS=${EVENTS:-2000000}
out=$root/target/bench
mkdir -p "$out"
command -v /usr/bin/time >/dev/null 2>&1 || apt-get install -y time >&2
cargo build --release -q -p garrison-rules --example rules_bench
bin=$root/target/release/examples/rules_bench
{
    echo '```'
    echo "\$ /usr/bin/time -v target/release/examples/rules_bench rules $EVENTS"
    /usr/bin/time -v "$bin" rules "$EVENTS" 2>"$out/rules.time"
    grep -E 'Elapsed|Maximum resident|User time|System time' "$out/rules.time"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
    echo '```'
} | tee "$out/rules.md"
