#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS_PER_TARGET (default 300), one target at a
# time in one process (libFuzzer's default: one job, one worker), and prints each target's
# executions and findings. Not part of CI (scripts/test.sh); issue 15 asks for ≥ 30 min each.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Seeds: the job
# message fixtures (tests/fixtures/messages), fuzz/seeds/, and for `image` the small files of
# ../shared/corpus (or $DERIVD_CORPUS) plus 64–128 px renditions of a few photos made by
# `derivd transform` — copied into fuzz/corpus/<target>/ at run time, never committed.
# Crashes land in fuzz/artifacts/<target>/; keep each as a regression input in
# tests/fixtures/fuzz-regressions/<target>/ (tests/fuzz_regressions.rs replays them).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(job_message s3_event derived_key image video_boxes)
corpus_src=${DERIVD_CORPUS:-../shared/corpus}
[[ -f "$corpus_src/SOURCES.md" ]] || { echo "fuzz.sh: no corpus at $corpus_src (set DERIVD_CORPUS)" >&2; exit 1; }
cargo +nightly fuzz --help >/dev/null 2>&1 || { echo "fuzz.sh: needs cargo-fuzz on nightly (cargo install cargo-fuzz)" >&2; exit 1; }

seed() {
  local target=$1 dir=fuzz/corpus/$1
  mkdir -p "$dir"
  case "$target" in
    job_message | s3_event) find tests/fixtures/messages -type f -exec cp {} "$dir/" \; ;;
    derived_key | video_boxes) cp "fuzz/seeds/$target"/* "$dir/" ;;
    image)
      # Every corpus image under 128 KiB: small enough for thousands of runs a second.
      find "$corpus_src"/{formats,malformed,color,orientation} -type f -size -128k -exec cp {} "$dir/" \;
      cargo build --quiet --bin derivd
      local out
      out=$(mktemp -d)
      for photo in "$corpus_src"/photos/es_jolla_3264x2448.jpg "$corpus_src"/formats/wm_Cerkiew_progressive_1914x2565.jpg \
        "$corpus_src"/color/sharp_cmyk_with_icc.jpg "$corpus_src"/formats/sharp_rgba_2048x1536.png; do
        target/debug/derivd transform "$photo" -t thumb-128,icon-64-png --out "$out" >/dev/null
      done
      find "$out" -type f -exec sh -c 'cp "$1" "$2/seed-$(basename "$(dirname "$1")")-$(basename "$1")"' _ {} "$dir" \;
      rm -rf "$out"
      ;;
  esac
}

(cd fuzz && cargo +nightly fuzz build)
summary=()
for target in "${targets[@]}"; do
  seed "$target"
  log=fuzz/corpus/$target.log
  marker=$(mktemp) # artifacts newer than this are this run's
  echo "== $target: $secs s"
  set +e
  (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$secs" -max_len=131072 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) 2>&1 | tee "$log" | grep -E '^#[0-9]+.*(pulse|DONE)|ERROR|panicked|SUMMARY' || true
  set -e
  runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  crashes=$(find "fuzz/artifacts/$target" -type f -newer "$marker" 2>/dev/null | wc -l)
  rm -f "$marker"
  summary+=("$target: $runs executions in $secs s, $crashes new artifact(s) in fuzz/artifacts/$target")
done
printf '%s\n' "${summary[@]}"
