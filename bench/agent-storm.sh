#!/usr/bin/env bash
# One open/close storm against one garrison binary: the quick A/B of two builds
# of the agent (bench/agent.sh is the full benchmark).
#
#   bench/agent-storm.sh GARRISON_BIN [SECONDS] [RATE]    # as root; defaults 10 s, 200000/s
#
# Starts `GARRISON_BIN agent --no-rules --events open --output /dev/null` under
# /usr/bin/time -v, waits until it runs, drives `loadgen open SECONDS RATE`
# (target/release/examples/loadgen, built by bench/agent.sh or
# `cargo build --release -p garrison-agent --example loadgen`), stops it with
# SIGINT and prints one line: the storm's ops/s, delivered, lost, the agent's CPU
# per delivered event and its peak RSS. Run builds alternately (A B A B ...), with
# `kernel.bpf_stats_enabled` at 0 and nothing else running.
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,13p "$0" >&2; exit 2; }
bin=$(realpath "$1")
secs=${2:-10}
rate=${3:-200000}
root=$(cd "$(dirname "$0")/.." && pwd)
loadgen=${CARGO_TARGET_DIR:-$root/target}/release/examples/loadgen
[ -x "$loadgen" ] || { echo "agent-storm: $loadgen is missing (cargo build --release -p garrison-agent --example loadgen)" >&2; exit 1; }
[ "$(sysctl -n kernel.bpf_stats_enabled)" = 0 ] || echo "agent-storm: warning: kernel.bpf_stats_enabled is on; BPF programs run slower" >&2
d=$(mktemp -d /tmp/garrison-storm.XXXXXX)
trap 'rm -rf "$d"' EXIT
/usr/bin/time -v -o "$d/time" "$bin" --data-dir "$d/data" agent --no-rules --events open \
    --output /dev/null 2>"$d/err" &
time_pid=$!
i=0
until [ -s "$d/data/agent/status.json" ] && grep -q '"running": true' "$d/data/agent/status.json"; do
    i=$((i + 1))
    [ $i -lt 600 ] || { cat "$d/err" >&2; echo "agent-storm: the agent did not start" >&2; exit 1; }
    sleep 0.1
done
agent_pid=$(pgrep -P "$time_pid")
ops=$("$loadgen" open "$secs" "$rate")
kill -INT "$agent_pid"
wait "$time_pid" || true
python3 - "$d/data/agent/status.json" "$d/time" "$ops" <<'PY'
import json, re, sys
st = json.load(open(sys.argv[1]))["stats"]
delivered = sum(k["delivered"] for k in st["kinds"].values())
lost = sum(k["lost"] for k in st["kinds"].values()) + st["lost_unattributed"]
t = open(sys.argv[2]).read()
cpu = sum(float(re.search(rf"{w} time.*: (\S+)", t).group(1)) for w in ("User", "System"))
rss = int(re.search(r"Maximum resident.*: (\S+)", t).group(1))
ops = json.loads(sys.argv[3])["ops_per_sec"]
print(f"storm {ops:.0f} ops/s  delivered {delivered}  lost {lost} ({100 * lost / max(1, delivered + lost):.1f}%)"
      f"  agent cpu {cpu:.1f} s ({cpu * 1e6 / max(1, delivered):.2f} us/event)  peak rss {rss / 1024:.1f} MiB")
PY
