//! Media made by the tests themselves: clips from ffmpeg's lavfi sources (the tests fail,
//! never skip, when ffmpeg is missing) and PDFs written by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/media")
        .join(name)
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Runs ffmpeg with `args` (inputs, filters, output options) writing `out`.
pub fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg must be installed (scripts/setup-system.sh runtime)");
    assert!(status.success(), "ffmpeg {args:?} failed");
}

/// Black for 2 s, then colour bars for 2 s: `best` must not return black.
pub fn black_then_bars(dir: &Path) -> Vec<u8> {
    let out = dir.join("black_then_bars.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=black:s=320x240:d=2:r=25",
            "-f",
            "lavfi",
            "-i",
            "smptebars=s=320x240:d=2:r=25",
            "-filter_complex",
            "[0][1]concat=n=2:v=1,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
        &out,
    );
    std::fs::read(out).unwrap()
}

/// A 320×180 landscape clip stored with a 90° display matrix: shown portrait 180×320.
/// The top half of the stored frame is white, the bottom black (so upright means the
/// white half is on the right after a clockwise turn).
pub fn rotated_clip(dir: &Path) -> Vec<u8> {
    let plain = dir.join("plain.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=white:s=320x90:d=1:r=25",
            "-f",
            "lavfi",
            "-i",
            "color=black:s=320x90:d=1:r=25",
            "-filter_complex",
            "[0][1]vstack,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
        &plain,
    );
    let out = dir.join("rotated.mp4");
    let p = plain.to_str().unwrap();
    // ffmpeg 5.1 (Debian 12) writes the display matrix from the `rotate` tag.
    ffmpeg(
        &["-i", p, "-c", "copy", "-metadata:s:v:0", "rotate=90"],
        &out,
    );
    std::fs::read(out).unwrap()
}

/// A 1920×1080 H.264 clip of `seconds` from ffmpeg's test pattern (benchmarks).
pub fn hd_clip(dir: &Path, seconds: u32) -> PathBuf {
    let out = dir.join(format!("hd_{seconds}s.mp4"));
    let src = format!("testsrc2=s=1920x1080:d={seconds}:r=30");
    ffmpeg(
        &[
            "-f", "lavfi", "-i", &src, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset",
            "veryfast",
        ],
        &out,
    );
    out
}

/// A PDF of `pages` pages of `w_pt × h_pt` points, each with a filled rectangle.
pub fn pdf(pages: usize, w_pt: f64, h_pt: f64) -> Vec<u8> {
    pdf_with(pages, w_pt, h_pt, "")
}

/// [`pdf`] with extra page-dictionary entries (`/CropBox [...]`, `/Rotate 90`).
pub fn pdf_with(pages: usize, w_pt: f64, h_pt: f64, page_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let obj = |out: &mut Vec<u8>, offsets: &mut Vec<usize>, body: String| {
        offsets.push(out.len());
        let n = offsets.len();
        out.extend_from_slice(format!("{n} 0 obj\n{body}\nendobj\n").as_bytes());
    };
    let content = "0 0 1 rg 10 10 50 50 re f";
    obj(
        &mut out,
        &mut offsets,
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
    );
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + i)).collect();
    obj(
        &mut out,
        &mut offsets,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
    );
    obj(
        &mut out,
        &mut offsets,
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
    );
    for _ in 0..pages {
        obj(
            &mut out,
            &mut offsets,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w_pt} {h_pt}] {page_extra} /Contents 3 0 R >>"
            ),
        );
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for o in &offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        offsets.len() + 1
    ));
    out.extend_from_slice(tail.as_bytes());
    out
}

/// Mean grey level (0..=255) of frame `at` seconds of `clip` as ffmpeg itself shows it
/// through `vf` (the test's reference).
pub fn ffmpeg_mean_grey(clip: &Path, at: f64, vf: &str) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", &format!("{at:.3}"), "-i"])
        .arg(clip)
        .args(["-frames:v", "1", "-vf", vf, "-f", "rawvideo", "pipe:1"])
        .output()
        .expect("ffmpeg must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty(), "ffmpeg gave no frame at {at}");
    out.stdout.iter().map(|&v| v as f64).sum::<f64>() / out.stdout.len() as f64
}

/// Mean of each channel of an RGB buffer.
pub fn mean_rgb(rgb: &[u8]) -> [f64; 3] {
    let n = (rgb.len() / 3) as f64;
    let mut s = [0f64; 3];
    for p in rgb.chunks_exact(3) {
        for c in 0..3 {
            s[c] += p[c] as f64;
        }
    }
    s.map(|v| v / n)
}

/// A Matroska (FFV1) clip whose header claims `side × side` (patched from 256×256): the
/// frame size is refused before any frame is decoded.
pub fn claimed_size_mkv(dir: &Path, side: u16) -> Vec<u8> {
    let out = dir.join("small.mkv");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=gray:s=256x256:d=0.04:r=25",
            "-c:v",
            "ffv1",
        ],
        &out,
    );
    let mut b = std::fs::read(out).unwrap();
    for id in [0xB0u8, 0xBA] {
        // PixelWidth / PixelHeight: ID, size 2, value 0x0100.
        let at = b
            .windows(4)
            .position(|w| w == [id, 0x82, 0x01, 0x00])
            .expect("pixel size element");
        b[at + 2..at + 4].copy_from_slice(&side.to_be_bytes());
    }
    b
}

/// An MP4 (brand isom, not M4A) holding only an AAC track.
pub fn audio_only_mp4(dir: &Path) -> Vec<u8> {
    let out = dir.join("audio.mp4");
    ffmpeg(
        &["-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", "-f", "mp4"],
        &out,
    );
    std::fs::read(out).unwrap()
}
