//! Peak memory of real decodes, measured, against what the engine says it needs.
//!
//! Each case runs in a fresh child process (this binary again, with `DERIVD_MEMORY_CASE`
//! set), which resets its peak RSS (`/proc/self/clear_refs`, 5), runs the work, and reports
//! the rise of `VmHWM` over the resident size before it: the memory the work itself
//! touched, libjpeg-turbo's and the decoders' included, with nothing left over from other
//! tests. (A harness of its own, `harness = false` in Cargo.toml, so nothing else runs in
//! the process.)
//!
//! * `SourceInfo::estimated_decode_bytes` must be an upper bound of a full-size decode (to
//!   within what measuring by pages adds, [`MEASURING_SLACK`]), and
//!   not wildly over: at most 3× the measured peak plus 8 MiB.
//! * A progressive JPEG decoded at 1/8 still needs its full-resolution coefficients: the
//!   estimate covers that too.
//! * The PNG profile bomb and the JPEG scan bomb are refused with a small peak (issue 15:
//!   the profile bomb peaked at 1.45 GB).
//!
//! Run: `cargo test --test engine_memory` (Linux only: it reads `/proc`).

#[path = "common/bombs.rs"]
#[allow(dead_code)]
mod bombs;
#[path = "common/images.rs"]
#[allow(dead_code)]
mod images;

use std::process::Command;
use std::sync::Arc;

use derivd::catalogue::Transform;
use derivd::engine::{stages, Deadline, Engine};

const MIB: u64 = 1 << 20;
/// What measuring by resident pages adds on its own: `VmHWM` counts whole pages and glibc
/// grows its heap in steps of 128 KiB and more, so one small decode (the grey JPEG) peaked
/// at 2.61, 2.76 and 2.82 MB in three runs of the same build.
const MEASURING_SLACK: u64 = 256 << 10;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Bytes of memory `work` touched beyond what was resident before it.
fn peak_of(work: impl FnOnce()) -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
    let before = status_kb("VmRSS:");
    work();
    (status_kb("VmHWM:") - before) * 1024
}

fn small_png() -> Arc<Transform> {
    let toml = "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"png\"\n\
                [resize]\nmode = \"fit\"\nwidth = 64\nheight = 64\n";
    Arc::new(Transform::parse("t", toml, 8192).unwrap())
}

/// The child: runs one case, prints `estimate peak outcome`.
fn child(case: &str) {
    let mut parts = case.split(' ');
    let (kind, arg) = (parts.next().unwrap(), parts.next().unwrap_or(""));
    let (estimate, peak, outcome) = match kind {
        "decode" | "planes" => {
            let scale: f64 = parts.next().unwrap().parse().unwrap();
            let bytes = images::corpus_file(arg);
            let estimate = Engine::default()
                .probe(&bytes)
                .unwrap()
                .estimated_decode_bytes;
            let mut outcome = String::new();
            let peak = peak_of(|| {
                let r = stages::decode_source(&bytes, scale, kind == "planes");
                outcome = format!("{:?}", r.map(|_| "ok"));
            });
            (estimate, peak, outcome)
        }
        "animated" => {
            // Rendered animated at the source's size and as a thumbnail, in one pass.
            let bytes = images::corpus_file(arg);
            let estimate = Engine::default()
                .probe(&bytes)
                .unwrap()
                .estimated_decode_bytes;
            let keep = |size: u32| {
                let toml = format!(
                    "description = \"t\"\naccepts = [\"image/*\"]\nanimation = \"keep\"\n\
                     [output]\nformat = \"webp\"\n[resize]\nmode = \"fit\"\nwidth = {size}\n"
                );
                Arc::new(Transform::parse("t", &toml, 8192).unwrap())
            };
            let mut outcome = String::new();
            let peak = peak_of(|| {
                let r =
                    Engine::default().render(&bytes, &[keep(4096), keep(128)], Deadline::none());
                outcome = format!("{:?}", r.map(|_| "ok"));
            });
            (estimate, peak, outcome)
        }
        "svg" => {
            // Opaque, with a translucent group (one more canvas-sized layer) and text,
            // drawn enlarged to its largest canvas (the estimate's case).
            let svg = "<svg xmlns='http://www.w3.org/2000/svg' width='500' height='250'>\
                       <rect width='500' height='250' fill='#036'/><g opacity='0.5'>\
                       <rect width='500' height='250' fill='#f80'/></g>\
                       <text x='10' y='200' font-size='150'>Text</text></svg>";
            let estimate = Engine::default()
                .probe(svg.as_bytes())
                .unwrap()
                .estimated_decode_bytes;
            let mut outcome = String::new();
            let peak = peak_of(|| {
                let r = stages::decode_source(svg.as_bytes(), 100.0, false);
                outcome = format!("{:?}", r.map(|_| "ok"));
            });
            (estimate, peak, outcome)
        }
        "png-bomb" | "scan-bomb" | "heic-200mp" => {
            let bomb = match kind {
                "png-bomb" => bombs::png_iccp_bomb(700 << 20),
                "scan-bomb" => bombs::scan_bomb(&bombs::progressive_jpeg(8000, 8000), 3000),
                // 200 MP in 2.4 MB: refused from its header, no tile decoded.
                _ => images::corpus_file("modern/ph_galaxy_s24ultra_200mp_grid.heic"),
            };
            let mut outcome = String::new();
            let peak = peak_of(|| {
                let engine = Engine::default();
                let probed = engine.probe(&bomb).map(|_| ()).map_err(|e| e.kind());
                let rendered = engine
                    .render(&bomb, &[small_png()], Deadline::none())
                    .map(|_| ())
                    .map_err(|e| e.kind());
                outcome = format!("{probed:?} {rendered:?}");
            });
            (0, peak, outcome)
        }
        other => panic!("unknown case {other}"),
    };
    println!("{estimate} {peak} {outcome}");
}

/// Runs `case` in a child; (estimate, peak, outcome).
fn measure(case: &str) -> (u64, u64, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .env("DERIVD_MEMORY_CASE", case)
        .output()
        .expect("run the child");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{case}: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text.lines().last().unwrap_or_default();
    let mut f = line.splitn(3, ' ');
    let mut num = || f.next().and_then(|v| v.parse().ok()).expect(line);
    let (estimate, peak) = (num(), num());
    (estimate, peak, f.next().unwrap_or_default().to_string())
}

/// (mode, corpus file, scale): baseline, progressive, grey, CMYK JPEGs on both decode paths;
/// PNG, GIF, WebP and TIFF of several colour types; HEIC and AVIF; JPEG XL (lossy, lossless, alpha,
/// recompressed JPEG). SVG is measured on a drawing of its own (`svg`): the corpus ones
/// leave most of the canvas transparent, pages the kernel never hands out.
const DECODES: [(&str, &str, &str); 26] = [
    ("decode", "photos/es_olympus_ep3_4032x3024.jpg", "1"),
    ("planes", "photos/es_olympus_ep3_4032x3024.jpg", "1"),
    (
        "decode",
        "formats/wm_Cerkiew_progressive_1914x2565.jpg",
        "1",
    ),
    (
        "planes",
        "formats/wm_Cerkiew_progressive_1914x2565.jpg",
        "1",
    ),
    ("decode", "color/sharp_cmyk_with_icc.jpg", "1"),
    ("decode", "color/th_giunchedi_grayscale.jpg", "1"),
    ("decode", "formats/sharp_rgba_2048x1536.png", "1"),
    ("decode", "formats/sharp_rgb16_flag_900x600.png", "1"),
    ("decode", "formats/sharp_gray16_alpha.png", "1"),
    ("decode", "formats/sharp_palette.png", "1"),
    ("decode", "formats/th_animated_earth_44f.gif", "1"),
    ("decode", "formats/sharp_still_800x533.gif", "1"),
    ("decode", "formats/sharp_lossy_1024x772.webp", "1"),
    ("decode", "formats/sharp_lossy_alpha.webp", "1"),
    ("decode", "formats/ir_mandrill_512.tiff", "1"),
    ("decode", "formats/sharp_rgb16_photoshop.tiff", "1"),
    ("decode", "formats/wm_bilevel_5174x3288.tiff", "1"),
    // libheif (HEVC grid + ICC, AV1 8/10-bit, AV1 + alpha): its memory is not capped, so
    // the estimate must be right.
    (
        "decode",
        "modern/ph_iphone8plus_arrow_grid_orient6.heic",
        "1",
    ),
    ("decode", "modern/lu_fox_8bit_yuv420.avif", "1"),
    ("decode", "modern/lu_fox_10bit_yuv420.avif", "1"),
    ("decode", "modern/lu_plum_blossom_alpha.avif", "1"),
    ("decode", "modern/lu_kimono_irot270.avif", "1"),
    ("decode", "modern/jxl_bike_lossy_vardct.jxl", "1"),
    ("decode", "modern/jxl_patches_lossless_rgba.jxl", "1"),
    ("decode", "modern/jxl_alpha_premultiplied.jxl", "1"),
    ("decode", "modern/jxl_recompressed_jpeg_oriented.jxl", "1"),
];

/// Animations rendered animated (`animation = "keep"`): every frame through two outputs.
const ANIMATED: [&str; 3] = [
    "formats/th_animated_earth_44f.gif",
    "formats/sharp_animated.webp",
    "formats/ir_apng_ball.png",
];

fn is_animation(case: &str) -> bool {
    ANIMATED.iter().any(|f| case.contains(f))
}

fn parent() {
    let mut failures = Vec::new();
    println!(
        "{:<58} {:>10} {:>10} {:>6}",
        "case", "estimate", "peak", "ratio"
    );
    let cases = DECODES.iter().map(|(m, f, s)| format!("{m} {f} {s}"));
    let animated = ANIMATED.iter().map(|f| format!("animated {f}"));
    for case in cases.chain(animated).chain(["svg".to_string()]) {
        let (estimate, peak, outcome) = measure(&case);
        let ratio = estimate as f64 / peak.max(1) as f64;
        println!("{case:<58} {estimate:>10} {peak:>10} {ratio:>6.2} {outcome}");
        if !outcome.starts_with("Ok") {
            failures.push(format!("{case}: {outcome}"));
        } else if peak > estimate + MEASURING_SLACK {
            failures.push(format!("{case}: peak {peak} over the estimate {estimate}"));
        } else if estimate > 3 * peak + 8 * MIB && !is_animation(&case) {
            // An animation's estimate covers its animated render (the `animated` cases,
            // held to both bounds), far more than a decode of its first frame.
            failures.push(format!(
                "{case}: estimate {estimate} wildly over the peak {peak}"
            ));
        }
    }
    // Shrink-on-load does not shrink a progressive file's coefficient buffers.
    let case = "decode formats/wm_Cerkiew_progressive_1914x2565.jpg 0.125";
    let (estimate, peak, outcome) = measure(case);
    println!("{case:<58} {estimate:>10} {peak:>10} {outcome}");
    let coefficients = 1914 * 2565 * 2;
    if peak > estimate || peak < coefficients {
        failures.push(format!(
            "{case}: peak {peak}, estimate {estimate}, coefficients {coefficients}"
        ));
    }
    for bomb in ["png-bomb", "scan-bomb", "heic-200mp"] {
        let (_, peak, outcome) = measure(bomb);
        println!("{bomb:<58} {:>10} {peak:>10} {outcome}", "-");
        if outcome != "Err(\"limit_exceeded\") Err(\"limit_exceeded\")" || peak > 32 * MIB {
            failures.push(format!("{bomb}: {outcome}, peak {peak}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("engine_memory: every estimate covers its measured peak");
}

fn main() {
    // `cargo test` passes harness flags (e.g. `--nocapture`); there is nothing to filter.
    match std::env::var("DERIVD_MEMORY_CASE") {
        Ok(case) => child(&case),
        Err(_) => parent(),
    }
}
