#!/usr/bin/env bash
# Run every fuzz target for N seconds each (default 60) from the committed
# seed corpus, on the stable toolchain (RUSTC_BOOTSTRAP=1 lets cargo fuzz use
# the nightly-only flags it needs).
#
#   fuzz/run.sh            # 60 s per target
#   fuzz/run.sh 10         # 10 s per target
#   fuzz/run.sh 300 sse_frame h1_head   # only these
#   SANITIZER=address fuzz/run.sh       # with ASan (slower build and run)
#
# New inputs libFuzzer finds go to fuzz/corpus/<target>/ (not committed:
# the seeds are); a crash stops the run and is saved under
# fuzz/artifacts/<target>/, to replay with `cargo fuzz run <target> <file>`.
# Exits non-zero when any target found something.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(h1_head ingest_body sse_frame last_event_id types_query)
fi
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
sanitizer="${SANITIZER:-none}"
# Debug assertions on: an integer overflow is a finding too.
cargo fuzz build -O -a -s "$sanitizer"
failed=()
for t in "${targets[@]}"; do
  echo "==> $t: ${secs}s"
  # A scratch copy of the seeds: runs add what they find there, so the
  # committed corpus stays small and reviewable.
  work="target/corpus-work/$t"
  mkdir -p "$work"
  cp -n "corpus/$t"/* "$work"/ 2>/dev/null || true
  if ! cargo fuzz run -O -a -s "$sanitizer" "$t" "$work" -- \
      -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
    failed+=("$t")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FUZZ FINDINGS in: ${failed[*]} (see fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: every target ran ${secs}s without a finding"
