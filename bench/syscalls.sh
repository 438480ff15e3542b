#!/usr/bin/env bash
# Count the server's syscalls and context switches over one loadgen run, to see how
# many writes a delivery costs (needs `perf` with tracepoints; run as root or with
# perf_event_paranoid <= 1). Builds nothing: run `bench/run.sh` once first.
#
#   bench/syscalls.sh continuum fanout --subs 1000 --events 2000 --publishers 4
#   bench/syscalls.sh baseline  fanout --subs 10 --events 60000 --publishers 16
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=$1; shift
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
PORT=$((20000 + RANDOM % 10000))
ulimit -n "$(ulimit -Hn)"
case $TARGET in
  baseline) "$BIN/baseline" "127.0.0.1:$PORT" 2>/dev/null & ;;
  continuum) "$BIN/continuum_server" "127.0.0.1:$PORT" 2>/dev/null & ;;
  *) echo "target: baseline or continuum" >&2; exit 2 ;;
esac
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
EVENTS=syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,context-switches,task-clock
perf stat -e "$EVENTS" -p "$SERVER" -o /tmp/syscalls.$$.txt &
PERF=$!
sleep 0.2
"$BIN/loadgen" "$@" --target "http://127.0.0.1:$PORT/api/events" --server-pid "$SERVER" 2>&1 >/dev/null | tail -n 40
kill -INT $PERF; wait $PERF 2>/dev/null || true
grep -E "syscalls|context|task-clock" /tmp/syscalls.$$.txt
rm -f /tmp/syscalls.$$.txt
