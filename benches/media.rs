//! Video posters and PDF page previews against their floors, in the same run.
//!
//! - **poster**: a 5-output job (W2's sizes: 2048/1024 JPEG, 512 WebP, 256 JPEG, 128 fill)
//!   with `at = "1s"` on a generated 1920×1080 H.264 10 s clip, through the still path the
//!   deriver uses (ffprobe, one ffmpeg extraction, the engine cascade), against
//!   `ffmpeg -ss 1 -i clip -frames:v 1 -f rawvideo` alone (with `-threads 1` like derivd's
//!   runs, and with ffmpeg's default threads);
//! - **page**: `page-preview-1024` + `page-thumb-256` on the corpus PDFs (pdfinfo, one
//!   pdftoppm, the cascade) against `pdftoppm` alone at the resolution the preview needs.
//!
//! Each also against the probe plus the extraction (`ffprobe` then `ffmpeg`, `pdfinfo` then
//! `pdftoppm`): the tools a job that checks its limits before extracting runs; and against
//! the same job done by the tool alone (ffmpeg writing the five posters in one run,
//! pdftoppm writing both JPEGs), since the floors above include no encoding at all.
//!
//! Interleaved per round, medians printed; peak RSS of this process and of the largest
//! tool process (getrusage).
//!
//! ```text
//! cargo bench --bench media          # DERIVD_MEDIA_ROUNDS=7
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use derivd::catalogue::Transform;
use derivd::config::Config;
use derivd::derive::source::SourceBody;
use derivd::derive::{still, MemoryBudget, Source};
use derivd::engine::{Engine, RenderOptions};
use derivd::extract::Extractors;
use derivd::media::{detect, Detected};
use derivd::metrics::Metrics;

const W2: [(&str, &str, u32, &str); 5] = [
    ("poster-2048", "jpeg", 2048, "fit"),
    ("poster-1024", "jpeg", 1024, "fit"),
    ("poster-512", "webp", 512, "fit"),
    ("poster-256", "jpeg", 256, "fit"),
    ("poster-128", "jpeg", 128, "fill"),
];

fn poster_transforms() -> Vec<Arc<Transform>> {
    W2.iter()
        .map(|(name, format, side, mode)| {
            let q = if *side == 2048 { 85 } else { 80 };
            let text = format!(
                "description = \"bench\"\naccepts = [\"video/*\"]\n[source.video]\nat = \"1s\"\n\
                 [output]\nformat = \"{format}\"\nquality = {q}\n\
                 [resize]\nmode = \"{mode}\"\nwidth = {side}\nheight = {side}\n"
            );
            Arc::new(Transform::parse(name, &text, 8192).unwrap())
        })
        .collect()
}

fn page_transforms() -> Vec<Arc<Transform>> {
    let c = derivd::catalogue::Catalogue::built_in(8192).unwrap();
    ["page-preview-1024", "page-thumb-256"]
        .iter()
        .map(|n| c.get(n).unwrap().clone())
        .collect()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("tool installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn hd_clip(dir: &Path) -> PathBuf {
    let out = dir.join("hd.mp4");
    run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .args([
            "testsrc2=s=1920x1080:d=10:r=30",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
        ])
        .arg(&out));
    out
}

/// One job's still path, timed.
async fn job(ex: &Extractors, engine: &Engine, bytes: &Bytes, t: &[Arc<Transform>]) -> Duration {
    let Detected::Supported(media) = detect(bytes) else {
        panic!("not detected")
    };
    let source = Source {
        key: "k".into(),
        etag: "e".into(),
        body: SourceBody::Bytes(bytes.clone()),
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    let p = still::probe(ex, engine, &source, media, deadline)
        .await
        .unwrap();
    let (budget, metrics) = (MemoryBudget::new(4 << 30), Metrics::new());
    // As a job renders: with the source's placeholders.
    let opts = RenderOptions {
        placeholders: true,
        focus: None,
    };
    let parts = (engine, &budget, &metrics);
    let recorded = BTreeMap::new();
    let out = still::render(parts, &p, 1 << 30, t.to_vec(), &recorded, deadline, opts)
        .await
        .unwrap();
    assert_eq!(out.renditions.len(), t.len());
    started.elapsed()
}

fn timed(mut cmd: Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().unwrap();
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

/// A command that writes files rather than stdout, timed.
fn timed_quiet(mut cmd: Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// The commands run one after another, timed together.
fn timed_all(cmds: Vec<Command>) -> Duration {
    cmds.into_iter().map(timed).sum()
}

/// The header look a limit-checking job needs before it extracts anything: ffprobe's
/// streams and format of the clip.
fn ffprobe_floor(clip: &Path) -> Command {
    let mut c = Command::new("ffprobe");
    c.args([
        "-v",
        "error",
        "-show_streams",
        "-show_format",
        "-of",
        "json",
    ])
    .arg(clip);
    c
}

/// pdfinfo's page count and first page's size.
fn pdfinfo_floor(pdf: &Path) -> Command {
    let mut c = Command::new("pdfinfo");
    c.args(["-f", "1", "-l", "1"]).arg(pdf);
    c
}

fn ffmpeg_floor(clip: &Path, threads: Option<&str>) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-v", "error"]);
    if let Some(t) = threads {
        c.args(["-threads", t]);
    }
    c.args(["-ss", "1", "-i"])
        .arg(clip)
        .args(["-frames:v", "1", "-f", "rawvideo", "pipe:1"]);
    c
}

/// The same five posters made by ffmpeg alone in one run: one decode, `split`, a `scale`
/// per output (fit; the 128 fill crops), its JPEG (mjpeg, `-q:v 3` ≈ quality 85) and WebP
/// (libwebp, quality 80, method 4) encoders.
fn ffmpeg_same_job(clip: &Path, out: &Path) -> Command {
    let fit =
        |s: u32| format!("scale={s}:{s}:force_original_aspect_ratio=decrease:force_divisible_by=2");
    let graph = format!(
        "[0:v]split=5[a][b][c][d][e];[a]null[o1];[b]{}[o2];[c]{}[o3];[d]{}[o4];\
         [e]scale=128:128:force_original_aspect_ratio=increase,crop=128:128[o5]",
        fit(1024),
        fit(512),
        fit(256)
    );
    let mut c = Command::new("ffmpeg");
    c.args([
        "-nostdin", "-v", "error", "-y", "-threads", "1", "-ss", "1", "-i",
    ])
    .arg(clip)
    .args(["-filter_complex", &graph, "-filter_threads", "1"]);
    for (label, codec, name) in [
        ("[o1]", "mjpeg", "2048.jpg"),
        ("[o2]", "mjpeg", "1024.jpg"),
        ("[o3]", "libwebp", "512.webp"),
        ("[o4]", "mjpeg", "256.jpg"),
        ("[o5]", "mjpeg", "128.jpg"),
    ] {
        c.args(["-map", label, "-frames:v", "1", "-c:v", codec]);
        if codec == "mjpeg" {
            c.args(["-q:v", "3", "-pix_fmt", "yuvj420p"]);
        } else {
            c.args(["-quality", "80", "-compression_level", "4"]);
        }
        c.arg(out.join(name));
    }
    c
}

/// The same page job by pdftoppm alone: one run per output, each writing its JPEG at the
/// output's size (`-scale-to`) and quality.
fn pdftoppm_same_job(pdf: &Path, out: &Path) -> Vec<Command> {
    [(1024, 85, "preview"), (256, 80, "thumb")]
        .into_iter()
        .map(|(side, q, name)| {
            let mut c = Command::new("pdftoppm");
            c.args(["-f", "1", "-l", "1", "-singlefile", "-jpeg"])
                .args(["-jpegopt", &format!("quality={q}")])
                .args(["-scale-to", &side.to_string()])
                .arg(pdf)
                .arg(out.join(name));
            c
        })
        .collect()
}

/// pdftoppm alone at the DPI the 1024 preview needs (the page's long side → 1024 px).
fn pdftoppm_floor(pdf: &Path) -> Command {
    let info = Command::new("pdfinfo")
        .args(["-f", "1", "-l", "1"])
        .arg(pdf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    let size = text
        .lines()
        .find(|l| l.starts_with("Page    1 size:"))
        .unwrap();
    let nums: Vec<f64> = size
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let dpi = 72.0 * 1024.0 / nums[1].max(nums[2]);
    let mut c = Command::new("pdftoppm");
    c.args([
        "-f",
        "1",
        "-l",
        "1",
        "-singlefile",
        "-r",
        &format!("{dpi:.3}"),
    ])
    .arg(pdf);
    c
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn max_rss_mb(who: i32) -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds: usize = std::env::var("DERIVD_MEDIA_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let dir = tempfile::tempdir().unwrap();
    let clip = hd_clip(dir.path());
    let cfg = Config::default();
    let ex = derivd::backends::extractors(&cfg);
    let engine = Engine::new(cfg.limits);
    let clip_bytes = Bytes::from(std::fs::read(&clip).unwrap());
    let posters = poster_transforms();
    let (mut ours, mut floor1, mut floor_mt) = (Vec::new(), Vec::new(), Vec::new());
    let (mut probed, mut same) = (Vec::new(), Vec::new());
    let out = tempfile::tempdir().unwrap();
    job(&ex, &engine, &clip_bytes, &posters).await; // warm the page cache
    for _ in 0..rounds {
        floor1.push(ms(timed(ffmpeg_floor(&clip, Some("1")))));
        ours.push(ms(job(&ex, &engine, &clip_bytes, &posters).await));
        floor_mt.push(ms(timed(ffmpeg_floor(&clip, None))));
        let both = vec![ffprobe_floor(&clip), ffmpeg_floor(&clip, Some("1"))];
        probed.push(ms(timed_all(both)));
        same.push(ms(timed_quiet(ffmpeg_same_job(&clip, out.path()))));
    }
    let (o, f1, fm) = (median(ours), median(floor1), median(floor_mt));
    let (fp, fs) = (median(probed), median(same));
    println!("poster 1920x1080 H.264 10 s, 5 outputs at 1s ({rounds} rounds, medians):");
    println!("  derivd job (probe + ffmpeg + cascade):   {o:.1} ms");
    println!(
        "  ffmpeg -threads 1 -ss 1 … -f rawvideo:   {f1:.1} ms   ratio {:.2}x",
        o / f1
    );
    println!(
        "  ffmpeg (default threads) … -f rawvideo:  {fm:.1} ms   ratio {:.2}x",
        o / fm
    );
    println!(
        "  ffprobe, then ffmpeg -threads 1:         {fp:.1} ms   ratio {:.2}x",
        o / fp
    );
    println!(
        "  the same 5 posters by ffmpeg alone:      {fs:.1} ms   ratio {:.2}x",
        o / fs
    );
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/documents");
    let pages = page_transforms();
    println!("page previews (page-preview-1024 + page-thumb-256) vs pdftoppm alone at the preview's DPI:");
    for name in [
        "pysf_libreoffice_1page_text.pdf",
        "pdfjs_tracemonkey_14pages.pdf",
        "pdfjs_scanned_image_only_2pages.pdf",
        "pdfjs_a0_2384x3370pt_rot90.pdf",
        "pysf_geotopo_117pages.pdf",
    ] {
        let pdf = corpus.join(name);
        let bytes = Bytes::from(std::fs::read(&pdf).unwrap());
        let (mut ours, mut floor, mut probed) = (Vec::new(), Vec::new(), Vec::new());
        let mut same = Vec::new();
        for _ in 0..rounds {
            floor.push(ms(timed(pdftoppm_floor(&pdf))));
            ours.push(ms(job(&ex, &engine, &bytes, &pages).await));
            probed.push(ms(timed_all(vec![
                pdfinfo_floor(&pdf),
                pdftoppm_floor(&pdf),
            ])));
            let both = pdftoppm_same_job(&pdf, out.path());
            same.push(ms(both.into_iter().map(timed_quiet).sum()));
        }
        let (o, f, p, sj) = (median(ours), median(floor), median(probed), median(same));
        println!(
            "  {name:<40} derivd {o:7.1} ms  pdftoppm {f:7.1} ms  ratio {:.2}x  \
             pdfinfo+pdftoppm {p:7.1} ms  ratio {:.2}x  same job by pdftoppm {sj:7.1} ms  \
             ratio {:.2}x",
            o / f,
            o / p,
            o / sj
        );
    }
    println!(
        "peak RSS: derivd process {:.0} MB, largest tool process {:.0} MB",
        max_rss_mb(libc::RUSAGE_SELF),
        max_rss_mb(libc::RUSAGE_CHILDREN)
    );
}
