#!/usr/bin/env bash
# derivd's engine against libvips, sharp, Pillow and Pillow-SIMD on ../shared/corpus/photos,
# as described in ../shared/bench/README.md. Idempotent: installs what is missing, then
# builds the lane (benches/lane.rs) and runs benches/compare.py (interleaved rounds,
# pinned lanes). Needs root for apt (Debian 12). Results: docs/performance.md.
#
#   scripts/bench-compare.sh                    # W1+W2, 1 and 2 lanes, 5 rounds, + quality
#   scripts/bench-compare.sh --rounds 7 --workloads W2 --lanes 1
#   scripts/bench-compare.sh --setup-only
#
# Install cost, first run (2-core VM): apt packages ~1 min; sharp (npm, prebuilt libvips)
# ~10 s; Pillow + pyvips venv ~30 s; pyvips-binary venv (libvips 8.18) ~1 min;
# Pillow-SIMD from source ~3 min; release build of derivd's lane ~6-10 min from cold
# (libjpeg-turbo's cmake build is ~3.5 min of it). Later runs: none of that.
# Measuring: W1+W2 x 1+2 lanes x 5 rounds ~ 25 min. Keep the machine otherwise idle:
# the report prints the load average of every round.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-build.sh
SHARED_BENCH="${DERIVD_PEER_BENCH:-../shared/bench}"
setup_only=0
if [[ "${1:-}" == "--setup-only" ]]; then setup_only=1; shift; fi

need=()
for p in libvips-tools imagemagick libjpeg62-turbo-dev zlib1g-dev libwebp-dev libpng-dev \
    libtiff-dev cmake nasm python3-venv; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
# node may come from elsewhere than Debian (with its own npm): only install it if missing
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
if ((${#need[@]})); then
  echo "==> apt-get install ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
if [[ ! -d /tmp/sharp/node_modules/sharp ]]; then
  echo "==> sharp into /tmp/sharp" >&2
  mkdir -p /tmp/sharp && cp "$SHARED_BENCH/package.json" /tmp/sharp/
  (cd /tmp/sharp && npm install --no-audit --no-fund >&2)
fi
if [[ ! -x /tmp/venv-pil/bin/python ]] || ! /tmp/venv-pil/bin/python -c 'import PIL, pyvips, numpy' 2>/dev/null; then
  echo "==> Pillow + pyvips venv" >&2
  python3 -m venv /tmp/venv-pil && /tmp/venv-pil/bin/pip install -q pillow pyvips numpy >&2
fi
if [[ ! -x /tmp/venv-vips18/bin/python ]] || ! /tmp/venv-vips18/bin/python -c 'import pyvips' 2>/dev/null; then
  echo "==> pyvips + libvips 8.18 (pyvips-binary) venv" >&2
  python3 -m venv /tmp/venv-vips18 && /tmp/venv-vips18/bin/pip install -q pyvips pyvips-binary >&2
fi
if [[ ! -x /tmp/venv-simd/bin/python ]] || ! /tmp/venv-simd/bin/python -c 'import PIL' 2>/dev/null; then
  echo "==> Pillow-SIMD from source (~3 min)" >&2
  python3 -m venv /tmp/venv-simd
  CC="cc -mavx2" /tmp/venv-simd/bin/pip install -q --no-binary pillow-simd pillow-simd >&2
fi
((setup_only)) && exit 0

echo "==> building the lane (release)" >&2
lane=$(release_bench lane) || exit 1
echo "==> load average now: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec python3 benches/compare.py --lane "$lane" --quality "$@"
