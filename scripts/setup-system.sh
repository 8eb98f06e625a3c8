#!/usr/bin/env bash
# The one list of system packages derivd needs, and the one place that installs them.
#
#   scripts/setup-system.sh [build] [runtime] [test] [--check]
#
# Groups (default: all three):
#   build    what compiling derivd needs (the bundled libjpeg-turbo is built with cmake, and
#            its SIMD code with nasm; Debian 12's libturbojpeg 2.1.5 predates TurboJPEG 3;
#            libheif-dev gives the linker libheif.so for the HEIC/AVIF decoder's binding;
#            libtiff-dev libtiff's headers and link library for the TIFF decoder, src/engine/tiff/)
#   runtime  what a running derivd process needs next to its binary: ffmpeg/ffprobe and
#            poppler (pdftoppm/pdfinfo) run as separate processes for video and PDF sources,
#            each started through util-linux's prlimit (essential in Debian; named anyway);
#            libheif1 (with libde265 and dav1d/aom) decodes HEIC and AVIF in-process;
#            libtiff6, the shared library the TIFF decoder links
#            and a font (fonts-dejavu-core) for text in SVG sources
#            (the container's runtime stage installs only this group)
#   test     what the test suite and the lint gates need besides (moto and the linters run
#            from Python virtual environments; curl probes the servers the tests start;
#            strace traces the local store's fsyncs; libimage-exiftool-perl's exiftool reads
#            the outputs' EXIF/XMP/IPTC/ICC back as an independent parser in the metadata tests;
#            webp's webpmux reads animated WebP outputs back, independently of the decoder
#            derivd uses)
#
# On Debian/Ubuntu as root, missing packages are installed with apt-get. Otherwise the script
# prints one line naming exactly what to install and exits 1. `--check` never installs.
# Used by scripts/serve.sh, scripts/test.sh (hence .ci/run) and deploy/Dockerfile.
set -euo pipefail

BUILD_PACKAGES=(build-essential pkg-config cmake nasm libheif-dev libtiff-dev)
RUNTIME_PACKAGES=(ca-certificates ffmpeg poppler-utils util-linux libheif1 libtiff6 fonts-dejavu-core)
TEST_PACKAGES=(curl python3 python3-venv strace libimage-exiftool-perl webp)

groups=()
check_only=false
for arg in "$@"; do
  case "$arg" in
    build | runtime | test) groups+=("$arg") ;;
    --check) check_only=true ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-system.sh: unknown argument '$arg' (groups: build runtime test; --check)" >&2; exit 2 ;;
  esac
done
((${#groups[@]})) || groups=(build runtime test)

wanted=()
for group in "${groups[@]}"; do
  case "$group" in
    build) wanted+=("${BUILD_PACKAGES[@]}") ;;
    runtime) wanted+=("${RUNTIME_PACKAGES[@]}") ;;
    test) wanted+=("${TEST_PACKAGES[@]}") ;;
  esac
done

if ! command -v dpkg-query >/dev/null; then
  echo "setup-system.sh: not a Debian-family system; install the equivalents of: ${wanted[*]}" >&2
  # Without dpkg we can only check the tools themselves.
  missing_tools=()
  for tool in cc cmake nasm curl python3 ffmpeg ffprobe pdftoppm pdfinfo; do command -v "$tool" >/dev/null || missing_tools+=("$tool"); done
  ((${#missing_tools[@]} == 0)) || { echo "missing commands: ${missing_tools[*]}" >&2; exit 1; }
  exit 0
fi

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if $check_only; then
  echo "missing system packages: ${missing[*]}" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "derivd needs these system packages; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "==> installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "==> installed: ${missing[*]}"
