#!/usr/bin/env bash
# The soak of issue 12: churning subscribers (some over the per-address cap,
# some with expiring grants), steady publishing and bad requests against one
# Continuum server for a bounded time, sampling RSS, open fds and the
# server's live tasks every second; fails on growth (see bench/src/bin/soak.rs).
#
#   bench/soak.sh             # 60 s (what .ci/run runs)
#   bench/soak.sh 1200        # 20 minutes (the figures in BENCHMARKS.md)
#   bench/soak.sh 1200 --rate 500 --subscribers 128 --csv soak.csv
#
# PROFILE=release builds with optimizations (default: dev, which reuses what
# `cargo test` built; growth, not speed, is what this measures).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
profile="${PROFILE:-dev}"
cargo build --profile "$profile" -p continuum-bench --bin soak
dir=debug
[ "$profile" = dev ] || dir="$profile"
exec "${CARGO_TARGET_DIR:-target}/$dir/soak" --secs "$secs" "$@"
