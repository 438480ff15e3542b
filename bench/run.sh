#!/usr/bin/env bash
# The fan-out benchmark of issue 5, in one command:
#
#   bench/run.sh                      # full run: S1..S6, 3 runs per target (S5: 5), ~8 minutes
#   bench/run.sh --quick              # smoke check: smaller N, 1 run per target, ~1 minute
#   bench/run.sh --targets baseline   # only the hand-rolled axum baseline
#   bench/run.sh --runs 5 --scenarios S1,S4
#   bench/run.sh --perf --runs 1 --scenarios S1   # also `perf record -g` each server
#   bench/run.sh --scenarios X1,X2,X3 # only the cross-node scenarios (needs redis-server)
#   bench/run.sh --scenarios K1,K2    # keyed state (issue 19), Continuum alone: K1 is
#                                     # 1,000 subscribers with snapshot=true on 10,000 live
#                                     # keys while events flow, K2 slow subscribers conflated
#                                     # (`keyedgen`; results in keyed.jsonl)
#
# S1..S6 compare Continuum with the hand-rolled baseline. X1..X3 are cross-node:
# publishers POST to node A, subscribers read node B, two continuum_server processes
# sharing a redis-server this script starts (persistence off, a fresh stream per run);
# they run against one in-memory Continuum node with the same load, in the same run
# ("continuum-redis / continuum" in the report). X1 is max rate with 16 publishing
# connections, X3 the same load from 4 (S1's count): each publisher waits for its 202,
# which over Redis comes after Redis's acknowledgement, so 4 measure the publish round
# trip more than what the nodes can carry (BENCHMARKS.md, "Scale-out").
#
# It builds the load generator and both servers in release, then for each scenario
# runs the targets alternately (baseline, continuum, then continuum, baseline, ...),
# each run against a fresh server process on a fresh port. Every run appends one JSON
# line to bench/results/<stamp>/results.jsonl; the end prints (and writes to
# results.md) per scenario and metric: median (min–max) per target and the ratio
# continuum / baseline of the medians.
#
# Environment: CARGO_TARGET_DIR (default: <workspace>/target), CARGO (default: cargo).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0
PERF=0
RUNS=""
RUNS_GIVEN=0
TARGETS="baseline,continuum"
SCENARIOS="S1,S2,S3,S4,S5,S6,X1,X2,X3,K1,K2"
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --perf) PERF=1; shift ;;
    --runs) RUNS=$2; RUNS_GIVEN=1; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z $RUNS ]]; then
  if [[ $QUICK == 1 ]]; then RUNS=1; else RUNS=3; fi
fi

IFS=, read -r -a TARGET_LIST <<< "$TARGETS"
IFS=, read -r -a SCENARIO_LIST <<< "$SCENARIOS"

# --- build ---------------------------------------------------------------------------
CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
FEATURES=(--no-default-features)
for t in "${TARGET_LIST[@]}"; do
  if [[ $t == continuum ]]; then FEATURES=(--features continuum); fi
done
if [[ ,$SCENARIOS, == *,[XK]* ]]; then FEATURES=(--features continuum); fi
echo "building (release) ..." >&2
if ! CARGO_TARGET_DIR=$TARGET_DIR $CARGO build --release -q -p continuum-bench --bins "${FEATURES[@]}"; then
  echo "run.sh: build failed; to measure the baseline alone: bench/run.sh --targets baseline" >&2
  exit 1
fi
BIN=$TARGET_DIR/release

# --- environment -----------------------------------------------------------------------
# Every subscriber is a socket in both processes.
ulimit -n "$(ulimit -Hn)"
if [[ $(ulimit -n) -lt 10500 ]]; then
  echo "run.sh: warning: open-files limit $(ulimit -n) may be too low for 10,000 subscribers" >&2
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$ROOT/bench/results/$STAMP}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "memory: $(free -m | awk '/^Mem:/ {print $2}') MiB"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc --version)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mode: $([[ $QUICK == 1 ]] && echo quick || echo full), runs per target: $RUNS$([[ $QUICK == 0 && $RUNS_GIVEN == 0 ]] && echo " (S5: 5)")"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# --- scenarios -----------------------------------------------------------------------
# Arguments of `loadgen` per scenario (full, quick).
scenario_args() {
  local s=$1
  if [[ $QUICK == 0 ]]; then
    case $s in
      S1) echo "fanout --subs 1000 --events 2000 --publishers 4" ;;
      S2) echo "fanout --subs 10000 --events 200 --publishers 4" ;;
      S3) echo "fanout --subs 100 --events 20000 --publishers 4" ;;
      S4) echo "idle --subs 10000 --settle 2" ;;
      S5) echo "fanout --subs 1000 --events 600 --rate 20 --publishers 2" ;;
      S6) echo "fanout --subs 10 --events 60000 --publishers 16" ;;
      X1) echo "fanout --subs 1000 --events 2000 --publishers 16" ;;
      X2) echo "fanout --subs 1000 --events 600 --rate 20 --publishers 2" ;;
      X3) echo "fanout --subs 1000 --events 2000 --publishers 4" ;;
      K1) echo "snapshot --keys 10000 --subs 1000 --rate 200" ;;
      K2) echo "conflate --keys 1000 --events 200000 --subs 100 --slow 50" ;;
      *) return 1 ;;
    esac
  else
    case $s in
      S1) echo "fanout --subs 200 --events 500 --publishers 4" ;;
      S2) echo "fanout --subs 2000 --events 50 --publishers 4" ;;
      S3) echo "fanout --subs 20 --events 5000 --publishers 4" ;;
      S4) echo "idle --subs 2000 --settle 1" ;;
      S5) echo "fanout --subs 200 --events 40 --rate 20 --publishers 2" ;;
      S6) echo "fanout --subs 10 --events 5000 --publishers 16" ;;
      X1) echo "fanout --subs 200 --events 500 --publishers 16" ;;
      X2) echo "fanout --subs 200 --events 40 --rate 20 --publishers 2" ;;
      X3) echo "fanout --subs 200 --events 500 --publishers 4" ;;
      K1) echo "snapshot --keys 2000 --subs 100 --rate 100" ;;
      K2) echo "conflate --keys 200 --events 20000 --subs 20 --slow 10" ;;
      *) return 1 ;;
    esac
  fi
}

# The targets a scenario compares: X* are cross-node (Redis) against one in-memory node.
scenario_targets() {
  case $1 in
    X*) echo "continuum continuum-redis" ;;
    K*) echo "continuum" ;;
    *) echo "${TARGET_LIST[*]}" ;;
  esac
}

# One redis-server for the cross-node scenarios, started when one is asked for.
REDIS_PID=""
REDIS_PORT=""
start_redis() {
  [[ -n $REDIS_PID ]] && return 0
  if ! command -v redis-server >/dev/null; then
    echo "run.sh: X scenarios need redis-server (apt-get install redis-server)" >&2
    return 1
  fi
  REDIS_PORT=$((20000 + RANDOM % 5000))
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no > "$OUT/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do
    if grep -q "Ready to accept connections" "$OUT/redis.log"; then
      echo "redis: $(redis-server --version | cut -d' ' -f3) on port $REDIS_PORT" >> "$OUT/machine.txt"
      return 0
    fi
    sleep 0.05
  done
  echo "run.sh: redis-server did not start (see $OUT/redis.log)" >&2
  return 1
}

# Below the ephemeral range (32768+), where the load generator's own sockets live.
PORT=$((10000 + RANDOM % 10000))
SERVER_PID=""
PUB_PID=""
PUB_ADDR=""
cleanup() {
  for pid in $SERVER_PID $PUB_PID $REDIS_PID; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_port() {
  local pid=$1 port=$2
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.05
  done
  return 1
}

start_server() {
  local target=$1 addr=$2
  case $target in
    baseline) "$BIN/baseline" "$addr" >> "$OUT/server-$target.log" 2>&1 & ;;
    continuum) "$BIN/continuum_server" "$addr" >> "$OUT/server-$target.log" 2>&1 & ;;
    continuum-redis)
      start_redis || return 1
      # Node A takes the publishes, node B (the measured process) the subscribers.
      local stream="bench:$STAMP:$PORT"
      PORT=$((PORT + 1))
      PUB_ADDR=127.0.0.1:$PORT
      CONTINUUM_REDIS_URL=redis://127.0.0.1:$REDIS_PORT CONTINUUM_REDIS_STREAM=$stream \
        "$BIN/continuum_server" "$PUB_ADDR" >> "$OUT/server-$target-a.log" 2>&1 &
      PUB_PID=$!
      if ! wait_port "$PUB_PID" "${PUB_ADDR##*:}"; then
        echo "run.sh: node A did not start on $PUB_ADDR" >&2; stop_server; return 1
      fi
      CONTINUUM_REDIS_URL=redis://127.0.0.1:$REDIS_PORT CONTINUUM_REDIS_STREAM=$stream \
        "$BIN/continuum_server" "$addr" >> "$OUT/server-$target.log" 2>&1 & ;;
    *) echo "run.sh: unknown target $target" >&2; exit 2 ;;
  esac
  SERVER_PID=$!
  if wait_port "$SERVER_PID" "${addr##*:}"; then return 0; fi
  echo "run.sh: $target did not start on $addr (see $OUT/server-$target.log)" >&2
  stop_server
  return 1
}

stop_server() {
  for pid in $SERVER_PID $PUB_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PID=""
  PUB_PID=""
  PUB_ADDR=""
}

FAILED=0
for s in "${SCENARIO_LIST[@]}"; do
  if ! ARGS=$(scenario_args "$s"); then
    echo "run.sh: unknown scenario $s" >&2; exit 2
  fi
  # S5's tail moves with anything else on the machine: a full run takes 5 runs of it,
  # so that the median does not rest on one disturbed run.
  runs=$RUNS
  if [[ ($s == S5 || $s == X2) && $QUICK == 0 && $RUNS_GIVEN == 0 ]]; then runs=5; fi
  read -r -a targets <<< "$(scenario_targets "$s")"
  # K2's slow subscribers must fall behind: a lag bound of 256 events (the
  # other scenarios give the server the baseline's 65,536, see continuum_server.rs).
  if [[ $s == K2 ]]; then export BENCH_QUEUE_BOUND=256; else unset BENCH_QUEUE_BOUND; fi
  for run in $(seq "$runs"); do
    # Alternate which target goes first, so drift in the machine's load hits both.
    order=("${targets[@]}")
    if (( run % 2 == 0 )) && (( ${#order[@]} == 2 )); then order=("${order[1]}" "${order[0]}"); fi
    for target in "${order[@]}"; do
      echo "== $s $target run $run ($ARGS)" >&2
      started=0
      for _ in 1 2 3; do   # a port may be taken; try the next one
        PORT=$((PORT + 1)); (( PORT > 32000 )) && PORT=10001
        addr=127.0.0.1:$PORT
        if start_server "$target" "$addr"; then started=1; break; fi
      done
      if [[ $started == 0 ]]; then FAILED=1; SERVER_PID=""; continue; fi
      PERF_PID=""
      if [[ $PERF == 1 ]]; then
        perf record -q -g -p "$SERVER_PID" -o "$OUT/perf-$s-$target-$run.data" 2>> "$OUT/perf.log" &
        PERF_PID=$!
      fi
      PUBLISH=()
      if [[ -n $PUB_ADDR ]]; then PUBLISH=(--publish-target "http://$PUB_ADDR/api/events"); fi
      if [[ $s == K* ]]; then
        # shellcheck disable=SC2086
        if ! "$BIN/keyedgen" $ARGS --target "http://$addr/api/events" --server-pid "$SERVER_PID" \
            --json "$OUT/keyed.jsonl" > /dev/null 2>> "$OUT/keyedgen.log"; then
          echo "run.sh: keyedgen failed for $s run $run (see $OUT/keyedgen.log)" >&2
          FAILED=1
        fi
        stop_server
        tail -n 1 "$OUT/keyed.jsonl" >&2 || true
        continue
      fi
      # shellcheck disable=SC2086
      if ! "$BIN/loadgen" $ARGS "${PUBLISH[@]}" --target "http://$addr/api/events" --server-pid "$SERVER_PID" \
          --scenario "$s" --server "$target" --run "$run" --json "$RESULTS" \
          > /dev/null 2>> "$OUT/loadgen.log"; then
        echo "run.sh: loadgen failed for $s $target run $run: $(tail -n 1 "$RESULTS" 2>/dev/null)" >&2
        FAILED=1
      fi
      if [[ -n $PERF_PID ]]; then kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; fi
      stop_server
      tail -n 1 "$RESULTS" | cut -c1-200 >&2
    done
  done
done

if [[ -s $RESULTS ]]; then "$BIN/loadgen" report "$RESULTS" | tee "$OUT/results.md"; fi
if [[ -s $OUT/keyed.jsonl ]]; then echo "keyed state: $OUT/keyed.jsonl" >&2; cat "$OUT/keyed.jsonl"; fi
echo >&2
echo "results: $OUT/results.md (raw: $RESULTS)" >&2
exit $FAILED
