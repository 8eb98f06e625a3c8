#!/usr/bin/env bash
# derivd's AVIF output against sharp's (0.35.5, libvips → libheif → libaom) at equal bytes:
# W2's 512 px and 1024 px outputs as AVIF on ../shared/corpus/photos, one core, same run
# (benches/avif_compare.py; the numbers are in docs/performance.md, "AVIF output").
# Idempotent: installs what is missing, builds the lane (release), runs the comparison
# under `nice` (the machine may be shared: the report prints the load average per round).
#
#   scripts/bench-avif.sh                           # sharp 4:4:4 (its default), 3 rounds
#   scripts/bench-avif.sh --sharp-chroma 4:4:4,4:2:0 --rounds 5 --json-out /tmp/avif.json
#   scripts/bench-avif.sh --setup-only
#
# Set-up, first run: sharp from npm into /tmp/sharp (~10 s, prebuilt libvips with its own
# libheif and libaom); a venv with the pinned Pillow (AVIF decoding: its wheels bundle
# libavif) and numpy (~30 s); the release build of the lane (~10 min from cold).
# Measuring: ~10 min (calibration ~8 encodes of both sizes per photo, then the rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-build.sh
SHARED_BENCH="${DERIVD_PEER_BENCH:-../shared/bench}"
PILLOW_PIN="pillow==13.0.0 numpy==2.4.6"
VENV="${DERIVD_AVIF_VENV:-/tmp/venv-avif}"
setup_only=0
if [[ "${1:-}" == "--setup-only" ]]; then setup_only=1; shift; fi

scripts/setup-system.sh build
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "==> apt-get install nodejs npm" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
}
if [[ ! -d /tmp/sharp/node_modules/sharp ]]; then
  echo "==> sharp into /tmp/sharp" >&2
  mkdir -p /tmp/sharp && cp "$SHARED_BENCH/package.json" /tmp/sharp/
  (cd /tmp/sharp && npm install --no-audit --no-fund >&2)
fi
if ! "$VENV/bin/python" -c 'from PIL import features; import numpy; assert features.check("avif")' 2>/dev/null; then
  echo "==> $PILLOW_PIN into $VENV" >&2
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q $PILLOW_PIN >&2
fi
((setup_only)) && exit 0

echo "==> building the lane (release)" >&2
lane=$(release_bench lane) || exit 1
echo "==> load average now: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec nice python3 benches/avif_compare.py --lane "$lane" --pillow-python "$VENV/bin/python" "$@"
