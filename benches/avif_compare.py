#!/usr/bin/env python3
"""derivd's AVIF output against sharp's, at equal bytes (run through scripts/bench-avif.sh).

The workload is W2's 512 px and 1024 px outputs ("fit inside", never enlarged) written as
AVIF, on the corpus photos (../shared/corpus/photos). sharp runs at quality 50, effort 4
(its defaults; chroma 4:4:4 unless --sharp-chroma says otherwise), one pipeline per output,
one thread (benches/avif_sharp.js). derivd's lane (benches/lane.rs) makes both outputs
from one decode, one thread, at libaom speed --speed (5 = sharp's effort 4).

1. Calibration: for each output size, derivd's quality is bisected until its total bytes
   over the photos are within +-10 % of sharp's (the closest quality found is kept).
2. Quality: SSIM (Wang et al. 2004: luma, 11x11 Gaussian window, sigma 1.5; numpy, same
   code as benches/compare.py) of both encoders' outputs, each decoded by Pillow's AVIF
   plugin, against one reference per output size: the full decode of the photo (EXIF
   orientation applied) resized with Pillow's Lanczos to that output's exact size.
   Pass: derivd's mean SSIM >= sharp's - 0.005.
3. Speed: ROUNDS interleaved rounds (derivd, sharp, derivd, ...), both pinned to one core;
   each gives the median time of REPS passes over all photos after one warm-up pass; the
   report gives the median over rounds of the per-round ratio.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from compare import SSIM_CODE  # benches/ is the script's folder, so on sys.path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.environ.get("DERIVD_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))
SIZES = (1024, 512)
TOLERANCE = 0.10


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def photos():
    d = os.path.abspath(os.path.join(CORPUS, "photos"))
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith((".jpg", ".jpeg")))


def derivd_outputs(qualities, speed):
    return [{"name": "avif%d" % s, "size": s, "fit": "inside", "format": "avif",
             "quality": qualities[s], "speed": speed} for s in SIZES]


def sharp_outputs(args, chroma):
    return [{"name": "avif%d" % s, "size": s, "quality": args.sharp_quality,
             "effort": args.sharp_effort, "chroma": chroma} for s in SIZES]


def node_env(args):
    return dict(os.environ, NODE_PATH=os.path.join(args.sharp_dir, "node_modules"))


def pinned(args):
    return ["taskset", "-c", str(args.core)]


def save_derivd(args, dest, outputs):
    os.makedirs(dest, exist_ok=True)
    subprocess.run(pinned(args) + [args.lane, "--save", dest, json.dumps(outputs)] + photos(),
                   check=True)


def save_sharp(args, dest, outputs):
    cfg = {"files": photos(), "outputs": outputs, "save": dest}
    subprocess.run(pinned(args) + ["node", os.path.join(HERE, "avif_sharp.js"), json.dumps(cfg)],
                   check=True, env=node_env(args))


def totals(dest):
    by = {s: 0 for s in SIZES}
    for f in os.listdir(dest):
        for s in SIZES:
            if f.endswith(".avif%d.avif" % s):
                by[s] += os.path.getsize(os.path.join(dest, f))
    return by


def calibrate(args, work, target):
    """Per size, the derivd quality whose total bytes are closest to `target` (bisection)."""
    lo, hi = {s: 1 for s in SIZES}, {s: 100 for s in SIZES}
    q = {s: args.sharp_quality for s in SIZES}
    best, tried = {}, {s: {} for s in SIZES}
    for step in range(8):
        dest = os.path.join(work, "cal-%d" % step)
        save_derivd(args, dest, derivd_outputs(q, args.speed))
        got = totals(dest)
        for s in SIZES:
            ratio = got[s] / target[s]
            tried[s][q[s]] = ratio
            if s not in best or abs(ratio - 1) < abs(best[s][1] - 1):
                best[s] = (q[s], ratio, dest)
            if ratio > 1:
                hi[s] = q[s] - 1
            else:
                lo[s] = q[s] + 1
        log("calibration step %d: %s" % (step, ", ".join(
            "%d px q%d -> %.3f" % (s, q[s], tried[s][q[s]]) for s in SIZES)))
        done = all(abs(best[s][1] - 1) <= TOLERANCE / 2 or lo[s] > hi[s] for s in SIZES)
        if done:
            break
        q = {s: q[s] if abs(best[s][1] - 1) <= TOLERANCE / 2 or lo[s] > hi[s]
             else (lo[s] + hi[s]) // 2 for s in SIZES}
    return best, tried


SSIM = r'''
import json, os, sys
import numpy as np
from PIL import Image, ImageOps
files, sets = json.loads(sys.argv[1])   # [[variant, size, dir], ...]

''' + SSIM_CODE + r'''
rows = []
for f in files:
    stem = os.path.splitext(os.path.basename(f))[0]
    full = ImageOps.exif_transpose(Image.open(f)).convert("RGB")
    refs = {}
    for variant, size, d in sets:
        path = os.path.join(d, "%s.avif%d.avif" % (stem, size))
        im = Image.open(path).convert("RGB")
        if im.size not in refs:
            refs[im.size] = full.resize(im.size, Image.Resampling.LANCZOS)
        rows.append({"file": stem, "size": size, "variant": variant, "dims": list(im.size),
                     "bytes": os.path.getsize(path), "ssim": ssim(im, refs[im.size])})
print(json.dumps(rows))
'''


def ssim_rows(args, sets):
    r = subprocess.run([args.pillow_python, "-c", SSIM, json.dumps([photos(), sets])],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout)


def lane_times(cmd, cfg, env=None):
    p = subprocess.Popen(cmd + [json.dumps(cfg)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError("lane failed: %s%s" % (line, p.stderr.read()[-2000:]))
        p.stdin.write("GO\n")
        p.stdin.flush()
        out, err = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise RuntimeError("lane exited %d: %s" % (p.returncode, err[-2000:]))
    finally:
        if p.poll() is None:
            p.kill()
    r = json.loads(out.strip().splitlines()[-1])
    wall = statistics.median(t1 - t0 for t0, t1 in r["reps"])
    return wall, statistics.median(r["cpu_seconds"]), r.get("version", "")


def speed_rounds(args, qualities, chroma):
    files = photos()
    d_cfg = {"files": files, "outputs": derivd_outputs(qualities, args.speed),
             "reps": args.reps, "warmup": 1}
    s_cfg = {"files": files, "outputs": sharp_outputs(args, chroma), "reps": args.reps,
             "warmup": 1}
    rounds = []
    for n in range(1, args.rounds + 1):
        load0 = os.getloadavg()[0]
        d, dc, _ = lane_times(pinned(args) + [args.lane], d_cfg)
        s, sc, version = lane_times(
            pinned(args) + ["node", os.path.join(HERE, "avif_sharp.js")], s_cfg,
            env=node_env(args))
        load1 = os.getloadavg()[0]
        rounds.append({"derivd_s": d, "sharp_s": s, "derivd_cpu_s": dc, "sharp_cpu_s": sc,
                       "load": [load0, load1], "sharp": version})
        log("round %d: derivd %.2f s (CPU %.2f s), sharp %.2f s (CPU %.2f s) per pass "
            "(%d photos); load %.2f -> %.2f" % (n, d, dc, s, sc, len(files), load0, load1))
    return rounds


def variant(args, work, chroma):
    sharp_dir = os.path.join(work, "sharp-" + chroma.replace(":", ""))
    save_sharp(args, sharp_dir, sharp_outputs(args, chroma))
    target = totals(sharp_dir)
    best, tried = calibrate(args, os.path.join(work, "cal-" + chroma.replace(":", "")), target)
    rows = ssim_rows(args, [["sharp", s, sharp_dir] for s in SIZES]
                     + [["derivd%d" % s, s, best[s][2]] for s in SIZES])
    table = []
    for s in SIZES:
        pick = lambda v: [r for r in rows if r["size"] == s and r["variant"] == v]
        sh, de = pick("sharp"), pick("derivd%d" % s)
        table.append({"size": s, "quality": best[s][0], "bytes_ratio": best[s][1],
                      "sharp_bytes": target[s], "ssim_sharp": statistics.mean(r["ssim"] for r in sh),
                      "ssim_derivd": statistics.mean(r["ssim"] for r in de),
                      "dims_differ": sorted(a["file"] for a, b in zip(sh, de) if a["dims"] != b["dims"])})
    rounds = [] if args.no_speed else speed_rounds(args, {s: best[s][0] for s in SIZES}, chroma)
    return {"chroma": chroma, "table": table, "tried": tried, "rounds": rounds, "rows": rows}


def report(results, args):
    print("| sharp chroma | output | derivd quality | bytes derivd / sharp | SSIM derivd | SSIM sharp "
          "| SSIM pass (>= sharp - 0.005) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for v in results:
        for t in v["table"]:
            ok = t["ssim_derivd"] >= t["ssim_sharp"] - 0.005
            print("| %s | %d px | q%d | %.3f | %.4f | %.4f | %s |" % (
                v["chroma"], t["size"], t["quality"], t["bytes_ratio"], t["ssim_derivd"],
                t["ssim_sharp"], "yes" if ok else "**no**"))
    for v in results:
        rs = v["rounds"]
        if not rs:
            continue
        med = lambda k: statistics.median(r[k] for r in rs)
        ratio = statistics.median(r["sharp_s"] / r["derivd_s"] for r in rs)
        cpu_ratio = statistics.median(r["sharp_cpu_s"] / r["derivd_cpu_s"] for r in rs)
        loads = "%.2f..%.2f" % (min(min(r["load"]) for r in rs), max(max(r["load"]) for r in rs))
        print("\nsharp %s, per pass over %d photos (both outputs; medians of %d rounds): derivd "
              "%.2f s wall / %.2f s CPU, sharp %.2f s wall / %.2f s CPU; sharp time / derivd "
              "time = **%.2f× wall, %.2f× CPU** (medians of per-round ratios; > 1: derivd is "
              "faster); load %s; %s" % (
                  v["chroma"], len(photos()), len(rs), med("derivd_s"), med("derivd_cpu_s"),
                  med("sharp_s"), med("sharp_cpu_s"), ratio, cpu_ratio, loads, rs[0]["sharp"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lane", required=True, help="the built benches/lane.rs binary")
    ap.add_argument("--sharp-dir", default="/tmp/sharp")
    ap.add_argument("--pillow-python", default="/tmp/venv-pil/bin/python")
    ap.add_argument("--sharp-quality", type=int, default=50)
    ap.add_argument("--sharp-effort", type=int, default=4)
    ap.add_argument("--sharp-chroma", default="4:4:4", help="comma list: 4:4:4 (sharp's default), 4:2:0")
    ap.add_argument("--speed", type=int, default=5, help="derivd's libaom speed")
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="derivd-avif-")
    log("outputs in " + work)
    results = [variant(args, work, c) for c in args.sharp_chroma.split(",")]
    report(results, args)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
