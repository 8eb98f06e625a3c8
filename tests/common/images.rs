//! Test images: the shared corpus, decoding outputs back, and image comparisons.

use std::path::PathBuf;

use image::{DynamicImage, RgbImage};

/// `../shared/corpus` beside the checkout (as in CI), or `$DERIVD_CORPUS`. Missing corpus
/// is a failure, not a skip: a skipped test must never count as a pass.
pub fn corpus() -> PathBuf {
    let dir = std::env::var_os("DERIVD_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    assert!(
        dir.join("SOURCES.md").is_file(),
        "test corpus not found at {} (set DERIVD_CORPUS)",
        dir.display()
    );
    dir
}

pub fn corpus_file(rel: &str) -> Vec<u8> {
    let p = corpus().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every file in a corpus folder, sorted, as (name, bytes).
pub fn corpus_dir(rel: &str) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(corpus().join(rel))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Any output derivd writes, decoded: AVIF through libheif (the `image` crate here has no
/// AVIF decoder), everything else through `image`.
pub fn decode(bytes: &[u8]) -> DynamicImage {
    if bytes.get(4..12) == Some(b"ftypavif") {
        let d = derivd::engine::stages::decode_avif(bytes).expect("AVIF output decodes");
        return match d.channels {
            4 => DynamicImage::ImageRgba8(
                image::RgbaImage::from_raw(d.width, d.height, d.data).expect("RGBA"),
            ),
            _ => DynamicImage::ImageRgb8(
                image::RgbImage::from_raw(d.width, d.height, d.data).expect("RGB"),
            ),
        };
    }
    image::load_from_memory(bytes).expect("output decodes")
}

/// Mean absolute difference per channel value (0..=255) of two same-size RGB images.
pub fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "sizes differ");
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as u64)
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// Mean of each channel.
pub fn mean_rgb(a: &RgbImage) -> [f64; 3] {
    let mut s = [0f64; 3];
    for p in a.pixels() {
        for c in 0..3 {
            s[c] += p[c] as f64;
        }
    }
    let n = (a.width() * a.height()) as f64;
    s.map(|v| v / n)
}

/// Mean SSIM over 8×8 windows of the luma (BT.601) of two same-size images.
pub fn ssim(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (a, b) = (a.to_luma8(), b.to_luma8());
    assert_eq!(a.dimensions(), b.dimensions(), "sizes differ");
    let (w, h) = a.dimensions();
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut total, mut n) = (0.0, 0u32);
    for y0 in (0..h.saturating_sub(7)).step_by(4) {
        for x0 in (0..w.saturating_sub(7)).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    let (p, q) = (a.get_pixel(x, y)[0] as f64, b.get_pixel(x, y)[0] as f64);
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let k = 64.0;
            let (ma, mb) = (sa / k, sb / k);
            let va = saa / k - ma * ma;
            let vb = sbb / k - mb * mb;
            let cov = sab / k - ma * mb;
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1;
        }
    }
    if n == 0 {
        return 1.0;
    }
    total / n as f64
}
