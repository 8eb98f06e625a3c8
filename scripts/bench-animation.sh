#!/usr/bin/env bash
# Animated WebP: derivd (benches/animation.rs) against sharp (benches/animation_sharp.js,
# sharp 0.35.5 from ../shared/bench/package.json) on the corpus animations, same run,
# rounds interleaved, one thread each, under `nice`. Every file to animated WebP fit inside
# SIZES (default 256 and 128, never enlarged), quality 80, method/effort 4 (sharp's
# defaults). Prints per file: median ms for all sizes, bytes per size, derivd/sharp ratios.
# The numbers are in docs/performance.md, "Animated WebP".
#
#   scripts/bench-animation.sh [--rounds 3] [--reps 3] [--sizes 256,128] [--save DIR]
#
# --save DIR also writes both lanes' outputs there (derivd: <file>.<size>.webp, sharp:
# sharp-<file>.<size>.webp) for benches/animation_psnr.py.
#
# Set-up, first run: sharp from npm into /tmp/sharp (~10 s); the release build of the
# bench (~10 min from cold).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-build.sh
SHARED_BENCH="${DERIVD_PEER_BENCH:-../shared/bench}"
CORPUS="${DERIVD_CORPUS:-../shared/corpus}/formats"
rounds=3 reps=3 sizes=256,128
while (($#)); do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --save) mkdir -p "$2"; export ANIMATION_SAVE=$2; shift 2 ;;
    *) echo "bench-animation.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
files=("$CORPUS/ir_apng_ball.png" "$CORPUS/sharp_animated.webp"
  "$CORPUS/sharp_animated_squares_30f.gif" "$CORPUS/th_animated_earth_44f.gif")

command -v node >/dev/null || { echo "needs node and npm (apt-get install nodejs npm)" >&2; exit 1; }
if [[ ! -d /tmp/sharp/node_modules/sharp ]]; then
  echo "==> sharp into /tmp/sharp" >&2
  mkdir -p /tmp/sharp && cp "$SHARED_BENCH/package.json" /tmp/sharp/
  (cd /tmp/sharp && npm install --no-audit --no-fund >&2)
fi
echo "==> building the bench (release)" >&2
lane=$(release_bench animation) || exit 1
out=$(mktemp -d)
for ((r = 1; r <= rounds; r++)); do
  echo "==> round $r/$rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  nice "$lane" "$reps" "$sizes" "${files[@]}" >>"$out/derivd.jsonl"
  NODE_PATH=/tmp/sharp/node_modules nice node benches/animation_sharp.js "$reps" "$sizes" "${files[@]}" >>"$out/sharp.jsonl"
done
python3 - "$out" "$sizes" <<'PY'
import json, statistics, sys, os
out, sizes = sys.argv[1], sys.argv[2].split(",")
def load(lane):
    runs = {}
    for line in open(os.path.join(out, lane + ".jsonl")):
        r = json.loads(line)
        e = runs.setdefault(os.path.basename(r["file"]), {"ms": [], "cpu": [], "bytes": r["bytes"],
                                                           "frames": r.get("frames")})
        e["ms"] += r["ms"]
        e["cpu"] += r["cpu_ms"]
    return runs
d, s = load("derivd"), load("sharp")
med = statistics.median
print("| file | CPU ms derivd | CPU ms sharp | sharp / derivd | wall ms derivd | wall ms sharp | "
      + " | ".join(f"{z} px bytes derivd / sharp" for z in sizes) + " |")
print("|---|---:|---:|---:|---:|---:|" + "---:|" * len(sizes))
tr, br = [], []
stills = []
for f in d:
    dc, sc = med(d[f]["cpu"]), med(s[f]["cpu"])
    # A file sharp reads as one frame (APNG) is no comparison: listed, not averaged.
    still = s[f]["frames"] == 1
    if still:
        stills.append(f)
    else:
        tr.append(sc / dc)
    cells = []
    for db, sb in zip(d[f]["bytes"], s[f]["bytes"]):
        if not still:
            br.append(db / sb)
        cells.append(f"{db} / {sb} ({db / sb:.2f})")
    name = f + (" (sharp: 1 frame)" if still else "")
    print(f"| {name} | {dc:.1f} | {sc:.1f} | {sc / dc:.2f}x | {med(d[f]['ms']):.1f} | {med(s[f]['ms']):.1f} | "
          + " | ".join(cells) + " |")
g = statistics.geometric_mean
print(f"\ngeometric means over the animations both read: CPU sharp/derivd {g(tr):.2f}x, "
      f"bytes derivd/sharp {g(br):.2f}" + (f" (left out: {', '.join(stills)})" if stills else ""))
PY
