"""Fidelity of animated WebP outputs (scripts/bench-animation.sh --save DIR writes them):
PSNR over every source frame, each against the output frame showing at its start time
(output durations from `webpmux -info`: libwebp merges repeated frames), both composited on
white, the source resized with Pillow's Lanczos to the output's size.

    python benches/animation_psnr.py SOURCE OUTPUT.webp [OUTPUT.webp ...]

Needs Pillow and numpy (e.g. the /tmp/venv-avif of scripts/bench-avif.sh) and webpmux.
"""
import math
import subprocess
import sys

import numpy as np
from PIL import Image


def mux_durations(path):
    text = subprocess.run(["webpmux", "-info", path], capture_output=True, text=True, check=True).stdout
    rows = [l.split(":", 1) for l in text.splitlines() if ":" in l and l.split(":")[0].strip().isdigit()]
    return [int(r[1].split()[5]) for r in rows] or [0]


def frames(path, size=None):
    im = Image.open(path)
    mux = mux_durations(path) if im.format == "WEBP" else None
    out, t = [], 0
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        fr = im.convert("RGBA")
        if size and fr.size != size:
            fr = fr.resize(size, Image.LANCZOS)
        white = Image.new("RGBA", fr.size, (255, 255, 255, 255))
        out.append((t, np.asarray(Image.alpha_composite(white, fr).convert("RGB")).astype(np.float64)))
        t += mux[i] if mux else (im.info.get("duration", 0) or 0)
    return out


def showing(fs, t):
    best = fs[0][1]
    for start, a in fs:
        if start <= t:
            best = a
    return best


def main():
    src, outs = sys.argv[1], sys.argv[2:]
    reference = frames(src, Image.open(outs[0]).size)
    for o in outs:
        got = frames(o)
        mse = np.mean([np.mean((a - showing(got, t)) ** 2) for t, a in reference])
        print(f"{o}: {len(got)} frames, PSNR {10 * math.log10(255 ** 2 / mse):.2f} dB")


if __name__ == "__main__":
    main()
