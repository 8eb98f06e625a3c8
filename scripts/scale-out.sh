#!/usr/bin/env bash
# The scale-out proof (tests/scale_out) with larger numbers than CI runs, and the
# measurements behind deploy/README.md "Sizing" and docs/performance.md "Scale-out".
#
#   scripts/scale-out.sh [--release] [SOURCES [BENCH_JOBS]]
#
#   SOURCES     sources per kill test (default 900; every fourth gets a second job, so
#               1,125 jobs each on moto with 3 processes and on one embedded data dir with 2)
#   BENCH_JOBS  jobs per phase of the 1-vs-2-worker measurement (default 96, a multiple of
#               the 8 corpus photos)
#   --release   build and run the release binary (~13 min from a clean target/; the
#               default debug build has the engine's own code unoptimised, so absolute
#               rates are lower)
#
# Environment: DERIVD_SCALE_OUT_TRANSFORMS (kill tests; default the five W2 renditions with
# --release, thumb-128,thumb-256 in debug, where W2 takes ~2.5 s a job),
# DERIVD_SCALE_OUT_BENCH_TRANSFORMS (the measurement; default the five W2 renditions),
# MOTO_PORT (default 5000). Measurements are appended as JSON lines to
# target/scale-out.jsonl (or $DERIVD_SCALE_OUT_REPORT) and printed at the end. Runs through
# scripts/test.sh, which does the set-up (system packages, moto) and starts moto.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
if [[ "${1:-}" == "--release" ]]; then
  profile=(--release)
  shift
fi
export DERIVD_SCALE_OUT_SOURCES=${1:-900}
export DERIVD_SCALE_OUT_BENCH_JOBS=${2:-96}
W2=web-2048,web-1024,preview-512,thumb-256,thumb-128
if ((${#profile[@]})); then kill_default=$W2; else kill_default=thumb-128,thumb-256; fi
export DERIVD_SCALE_OUT_TRANSFORMS=${DERIVD_SCALE_OUT_TRANSFORMS:-$kill_default}
export DERIVD_SCALE_OUT_BENCH_TRANSFORMS=${DERIVD_SCALE_OUT_BENCH_TRANSFORMS:-$W2}
report=${DERIVD_SCALE_OUT_REPORT:-$PWD/target/scale-out.jsonl}
export DERIVD_SCALE_OUT_REPORT=$report
mkdir -p "$(dirname "$report")"
: >"$report"

echo "==> scale-out: $DERIVD_SCALE_OUT_SOURCES sources per kill test ($DERIVD_SCALE_OUT_TRANSFORMS)," \
  "$DERIVD_SCALE_OUT_BENCH_JOBS jobs per measured phase ($DERIVD_SCALE_OUT_BENCH_TRANSFORMS), ${profile[*]:-debug}"
scripts/test.sh "${profile[@]}" --test scale_out -- --test-threads=1 --nocapture
echo "==> measurements ($report)"
cat "$report"
