#!/usr/bin/env python3
"""derivd's engine against the peers (libvips, sharp, Pillow, Pillow-SIMD) on the same photos.

Run through scripts/bench-compare.sh, which installs the peers and builds the lane first.
For each workload (W1, W2) and lane count (1 = one pinned core, 2 = both cores), it runs
ROUNDS interleaved rounds: derivd's lane (benches/lane.rs, same READY/GO protocol and
pinning as the peers), then ../shared/bench/peers.py, then derivd again, ... Each round
gives derivd's rate and every peer's rate (median of REPS timed passes after one warm-up);
the report gives medians over rounds and the median of the per-round ratios derivd/peer.

--quality also writes every output of derivd, libvips (thumbnail per output and the
fan-out) and compares bytes (vs libvips at the same quality) and SSIM against a reference
(full decode, no shrink-on-load, Lanczos3 to the exact output size; Pillow).

Prints Markdown tables; --json-out keeps everything (rates per round, load averages).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER_BENCH = os.environ.get("DERIVD_PEER_BENCH", os.path.join(ROOT, "..", "shared", "bench"))
CORPUS = os.environ.get("DERIVD_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))
PEERS = "pyvips,pyvips-fanout,sharp,sharp-fanout,pillow,pillow-simd"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def photos():
    d = os.path.join(CORPUS, "photos")
    return sorted(os.path.join(os.path.abspath(d), f) for f in os.listdir(d)
                  if f.lower().endswith((".jpg", ".jpeg")))


def outputs(workload):
    with open(os.path.join(PEER_BENCH, "workloads.json")) as f:
        return json.load(f)[workload]


def run_derivd(args, workload, lanes):
    """derivd's lanes, pinned, started together: the sum of the lanes' median rates."""
    files = photos()
    cfg = json.dumps({"files": files, "outputs": outputs(workload), "reps": args.reps,
                      "warmup": 1})
    procs = [subprocess.Popen(["taskset", "-c", str(c), args.lane, cfg], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in args.cores[:lanes]]
    try:
        for p in procs:
            line = p.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError("derivd lane failed: %s%s" % (line, p.stderr.read()[-2000:]))
        for p in procs:
            p.stdin.write("GO\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=1800)
            if p.returncode != 0:
                raise RuntimeError("derivd lane exited %d: %s" % (p.returncode, err[-2000:]))
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    rates = [[len(files) / (t1 - t0) for t0, t1 in r["reps"]] for r in results]
    return {"images_per_s": sum(statistics.median(r) for r in rates),
            "rep_rates_lane0": [round(x, 3) for x in rates[0]],
            "bytes_out_per_pass": results[0]["bytes_out_per_pass"]}


def run_peers(args, workload, lanes):
    cmd = [sys.executable, os.path.join(PEER_BENCH, "peers.py"), "--corpus",
           os.path.join(CORPUS, "photos"), "--workload", workload, "--peers", args.peers,
           "--reps", str(args.reps), "--lanes", str(lanes),
           "--cores", ",".join(map(str, args.cores)), "--sharp-dir", args.sharp_dir,
           "--pillow-python", args.pillow_python, "--vips-python", args.vips_python]
    if args.pillow_simd_python:
        cmd += ["--pillow-simd-python", args.pillow_simd_python]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def measure(args):
    report = []
    for workload in args.workloads.split(","):
        for lanes in [int(x) for x in args.lanes.split(",")]:
            rounds = []
            for n in range(1, args.rounds + 1):
                load0 = os.getloadavg()
                d = run_derivd(args, workload, lanes)
                p = run_peers(args, workload, lanes)
                load1 = os.getloadavg()
                peers = {k: v.get("images_per_s") for k, v in p["peers"].items()}
                libs = {k: "%s %s" % (v.get("library", ""), v.get("version", ""))
                        for k, v in p["peers"].items()}
                rounds.append({"derivd": d["images_per_s"], "peers": peers, "libraries": libs,
                               "load_start": load0, "load_end": load1,
                               "derivd_bytes_out_per_pass": d["bytes_out_per_pass"]})
                log("%s %d lane(s) round %d: derivd %.2f img/s; %s; load %.2f -> %.2f" % (
                    workload, lanes, n, d["images_per_s"],
                    ", ".join("%s %s" % (k, v) for k, v in peers.items()), load0[0], load1[0]))
            report.append({"workload": workload, "lanes": lanes, "rounds": rounds})
    return report


def med(xs):
    xs = [x for x in xs if x]
    return statistics.median(xs) if xs else None


def print_tables(report):
    print("| workload | lanes | derivd img/s | peer | peer img/s | derivd/peer (median of rounds) | load (1-min, start..end) |")
    print("|---|---:|---:|---|---:|---:|---|")
    for block in report:
        rs = block["rounds"]
        d = med([r["derivd"] for r in rs])
        loads = "%.2f..%.2f" % (min(r["load_start"][0] for r in rs), max(r["load_end"][0] for r in rs))
        names = list(rs[0]["peers"].keys())
        best = None
        for name in names:
            pv = med([r["peers"].get(name) for r in rs])
            ratios = [r["derivd"] / r["peers"][name] for r in rs if r["peers"].get(name)]
            ratio = med(ratios)
            if pv is None:
                continue
            if best is None or pv > best[1]:
                best = (name, pv, ratio)
            print("| %s | %d | %.2f | %s | %.2f | %.2f× | %s |" % (
                block["workload"], block["lanes"], d, name, pv, ratio, loads))
        if best:
            print("| %s | %d | %.2f | **fastest: %s** | %.2f | **%.2f×** | |" % (
                block["workload"], block["lanes"], d, best[0], best[1], best[2]))
    by = {(b["workload"], b["lanes"]): med([r["derivd"] for r in b["rounds"]]) for b in report}
    for w in sorted({b["workload"] for b in report}):
        if (w, 1) in by and (w, 2) in by:
            print("\n%s: 2 lanes / 1 lane = %.2f×" % (w, by[(w, 2)] / by[(w, 1)]))


VIPS_SAVE = r'''
import json, os, sys
import pyvips
pyvips.cache_set_max(0)
files, outs, dest = json.loads(sys.argv[1])
new_keep = (pyvips.version(0), pyvips.version(1)) >= (8, 15)
def save(im, o, path):
    kw = {"Q": o["quality"]}
    kw["keep" if new_keep else "strip"] = "none" if new_keep else True
    ext = ".webp" if o["format"] == "webp" else ".jpg"
    open(path + ext, "wb").write(im.write_to_buffer(ext, **kw))
def targs(o):
    return {"height": o["size"], "crop": "centre"} if o["fit"] == "cover" else {"height": o["size"], "size": "down"}
def covers(im, o):
    return (min if o["fit"] == "cover" else max)(im.width, im.height) >= o["size"]
for f in files:
    stem = os.path.splitext(os.path.basename(f))[0]
    data = open(f, "rb").read()
    for o in outs:   # libvips thumbnail per output
        save(pyvips.Image.thumbnail_buffer(data, o["size"], **targs(o)), o,
             os.path.join(dest, "vips", stem + "." + o["name"]))
    order = sorted(outs, key=lambda o: -o["size"])   # the fan-out, as py_worker.py
    src = pyvips.Image.thumbnail_buffer(data, order[0]["size"], **targs(order[0])).copy_memory()
    save(src, order[0], os.path.join(dest, "vips-fanout", stem + "." + order[0]["name"]))
    made = [src]
    for o in order[1:]:
        base = next((p for p in reversed(made) if covers(p, o)), made[0])
        im = base.thumbnail_image(o["size"], **targs(o)).copy_memory()
        save(im, o, os.path.join(dest, "vips-fanout", stem + "." + o["name"]))
        if o["fit"] == "inside":
            made.append(im)
'''

# Mean SSIM of two PIL images (numpy), shared with benches/avif_compare.py.
SSIM_CODE = r'''
def gauss(x, k):
    # separable 'valid' filtering with kernel k along both axes
    x = np.apply_along_axis(lambda r: np.convolve(r, k, mode="valid"), 1, x)
    return np.apply_along_axis(lambda c: np.convolve(c, k, mode="valid"), 0, x)

def ssim(a, b):
    # Wang et al. 2004: 11x11 Gaussian window (sigma 1.5) on luma (ITU-R 601), mean SSIM
    a = np.asarray(a.convert("L"), dtype=np.float64)
    b = np.asarray(b.convert("L"), dtype=np.float64)
    g = np.exp(-0.5 * (np.arange(11) - 5) ** 2 / 1.5 ** 2); g /= g.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ma, mb = gauss(a, g), gauss(b, g)
    va = gauss(a * a, g) - ma * ma; vb = gauss(b * b, g) - mb * mb; cov = gauss(a * b, g) - ma * mb
    m = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(m.mean())
'''

QUALITY = r'''
import io, json, os, sys
import numpy as np
from PIL import Image, ImageOps
files, outs, dest, variants = json.loads(sys.argv[1])

''' + SSIM_CODE + r'''
def cover_box(w, h):
    if w > h:
        x0 = (w - h) / 2.0
        return (x0, 0.0, x0 + h, float(h))
    y0 = (h - w) / 2.0
    return (0.0, y0, float(w), y0 + w)

rows = []
for f in files:
    stem = os.path.splitext(os.path.basename(f))[0]
    full = ImageOps.exif_transpose(Image.open(f)).convert("RGB")   # no draft(): full decode
    refs = {}
    for o in outs:
        ext = "webp" if o["format"] == "webp" else "jpg"
        for v in variants:
            path = os.path.join(dest, v, "%s.%s.%s" % (stem, o["name"], ext))
            if not os.path.exists(path):
                continue
            im = Image.open(path); im.load()
            key = (o["name"], im.size)
            if key not in refs:
                box = cover_box(*full.size) if o["fit"] == "cover" else None
                refs[key] = full.resize(im.size, Image.Resampling.LANCZOS, box=box)
            rows.append({"file": stem, "output": o["name"], "variant": v, "size": list(im.size),
                         "bytes": os.path.getsize(path), "ssim": ssim(im, refs[key])})
print(json.dumps(rows))
'''


def quality(args):
    dest = tempfile.mkdtemp(prefix="derivd-quality-")
    for v in ("derivd", "vips", "vips-fanout"):
        os.makedirs(os.path.join(dest, v), exist_ok=True)
    files = photos()
    result = {}
    for workload in args.workloads.split(","):
        outs = outputs(workload)
        subprocess.run([args.lane, "--save", os.path.join(dest, "derivd"), workload] + files,
                       check=True)
        subprocess.run([args.vips_python, "-c", VIPS_SAVE, json.dumps([files, outs, dest])],
                       check=True, env=dict(os.environ, VIPS_CONCURRENCY="1"))
        r = subprocess.run([args.pillow_python, "-c", QUALITY,
                            json.dumps([files, outs, dest, ["derivd", "vips", "vips-fanout"]])],
                           check=True, capture_output=True, text=True)
        result[workload] = json.loads(r.stdout)
    print("\n| workload | output | bytes derivd / libvips | derivd / libvips fan-out "
          "| SSIM derivd | SSIM libvips | SSIM libvips fan-out | derivd size = libvips |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    notes = []
    for workload, rows in result.items():
        for o in outputs(workload):
            by = {}
            for r in rows:
                if r["output"] == o["name"]:
                    by.setdefault(r["variant"], {})[r["file"]] = r
            d, v, vf = by.get("derivd", {}), by.get("vips", {}), by.get("vips-fanout", {})
            common = sorted(set(d) & set(v) & set(vf))
            if not common:
                continue
            tb = lambda m: sum(m[f]["bytes"] for f in common)
            ms = lambda m: statistics.mean(m[f]["ssim"] for f in common)
            differ = [f for f in common if d[f]["size"] != v[f]["size"]]
            notes += ["%s %s %s: libvips fan-out %s, derivd and libvips %s" % (
                workload, o["name"], f, vf[f]["size"], d[f]["size"])
                for f in common if vf[f]["size"] != d[f]["size"] and f not in differ]
            print("| %s | %s | %.3f | %.3f | %.4f | %.4f | %.4f | %s |" % (
                workload, o["name"], tb(d) / tb(v), tb(d) / tb(vf), ms(d), ms(v), ms(vf),
                "all %d" % len(common) if not differ else "NO: " + ", ".join(
                    "%s %s vs %s" % (f, d[f]["size"], v[f]["size"]) for f in differ)))
    print("\nBytes: totals over the photos. SSIM: mean over the photos, luma, 11x11 Gaussian "
          "window, against a full decode (no shrink-on-load) resized with Lanczos3 (Pillow) "
          "to each output's own size.")
    for n in notes:
        print("- size differs only in libvips' fan-out (its own rounding): " + n)
    if args.keep_outputs:
        log("outputs kept in " + dest)
    else:
        shutil.rmtree(dest, ignore_errors=True)
    return {"rows": result}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lane", required=True, help="the built benches/lane.rs binary")
    ap.add_argument("--workloads", default="W1,W2")
    ap.add_argument("--lanes", default="1,2", help="comma list of lane counts to measure")
    ap.add_argument("--cores", default="0,1")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3, help="timed passes per lane per round")
    ap.add_argument("--peers", default=PEERS)
    ap.add_argument("--sharp-dir", default="/tmp/sharp")
    ap.add_argument("--pillow-python", default="/tmp/venv-pil/bin/python")
    ap.add_argument("--pillow-simd-python", default="/tmp/venv-simd/bin/python")
    ap.add_argument("--vips-python", default="/tmp/venv-vips18/bin/python")
    ap.add_argument("--quality", action="store_true", help="also compare bytes and SSIM")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed rounds")
    ap.add_argument("--keep-outputs", action="store_true",
                    help="keep the --quality outputs (printed path) instead of deleting them")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    args.cores = [int(c) for c in args.cores.split(",")]
    if args.pillow_simd_python and not os.path.exists(args.pillow_simd_python):
        log("no Pillow-SIMD at %s; skipping it" % args.pillow_simd_python)
        args.pillow_simd_python = ""
    out = {"cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                        if l.startswith("model name")), "?")}
    if not args.no_speed:
        out["speed"] = measure(args)
        print_tables(out["speed"])
    if args.quality:
        out["quality"] = quality(args)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
