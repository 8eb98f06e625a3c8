//! The engine's YCbCr path (a JPEG source with only JPEG and WebP outputs: decoded to
//! planes, resized per plane, encoded from planes) against its RGB path on the same
//! sources. Adding a PNG output to a job sends it down the RGB path, so every comparison
//! here goes through the public API only.
//!
//! Sources cover each chroma layout the corpus has (4:2:0, 4:2:2, 4:4:0, 4:4:4), odd
//! sizes (luma planes padded by libjpeg-turbo), every EXIF orientation, an sRGB profile
//! (planar), an Adobe RGB profile (must convert, so RGB), CMYK and grey (RGB), and a file
//! with corrupt entropy data.

mod common;

use std::sync::Arc;

use common::images::{corpus_file, decode, mean_abs_diff, mean_rgb};
use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, Rendition};
use image::imageops::FilterType;
use image::RgbImage;

fn transform(
    name: &str,
    format: &str,
    quality: Option<u8>,
    mode: &str,
    size: u32,
) -> Arc<Transform> {
    let quality = quality.map_or(String::new(), |q| format!("quality = {q}\n"));
    let toml = format!(
        "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"{format}\"\n\
         {quality}[resize]\nmode = \"{mode}\"\nwidth = {size}\nheight = {size}\n"
    );
    Arc::new(Transform::parse(name, &toml, 8192).unwrap())
}

/// A W2-like job: big and small JPEGs (4:2:0), a 4:4:4 JPEG (quality ≥ 90), a WebP and a
/// centre crop; the sizes cascade from one another.
fn job() -> Vec<Arc<Transform>> {
    vec![
        transform("j1200", "jpeg", Some(85), "fit", 1200),
        transform("j600-444", "jpeg", Some(92), "fit", 600),
        transform("w300", "webp", Some(80), "fit", 300),
        transform("j150", "jpeg", Some(80), "fit", 150),
        transform("sq77", "jpeg", Some(80), "fill", 77),
    ]
}

/// The same job's outputs through the YCbCr path, the RGB path, and lossless PNGs of each
/// output size made on the RGB path (the reference both are measured against).
struct Paths {
    ycc: Vec<Rendition>,
    rgb: Vec<Rendition>,
    png: Vec<Rendition>,
}

fn both_paths(bytes: &[u8], job: &[Arc<Transform>]) -> Paths {
    let engine = Engine::default();
    let job = job.to_vec();
    let ycc = engine.render(bytes, &job, Deadline::none()).unwrap();
    let mut with_png = job.clone();
    with_png.push(transform("png", "png", None, "fit", 64));
    let mut rgb = engine.render(bytes, &with_png, Deadline::none()).unwrap();
    rgb.pop();
    // One PNG per output, same geometry, so errors can be measured per output.
    let png = job
        .iter()
        .map(|t| {
            let as_png = transform(&t.name, "png", None, mode(t), size(t));
            engine
                .render(bytes, &[as_png], Deadline::none())
                .unwrap()
                .remove(0)
        })
        .collect();
    Paths { ycc, rgb, png }
}

fn mode(t: &Transform) -> &'static str {
    if t.name.starts_with("sq") {
        "fill"
    } else {
        "fit"
    }
}

fn size(t: &Transform) -> u32 {
    t.resize.width.unwrap()
}

/// Mean absolute difference of the luma (BT.601) of two images of one size.
fn luma_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    let y = |p: &image::Rgb<u8>| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
    let sum: f64 = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| (y(p) - y(q)).abs())
        .sum();
    sum / (a.width() * a.height()) as f64
}

/// The YCbCr path's outputs have the RGB path's sizes and formats, and are as close to the
/// lossless reference as the RGB path's: luma within 0.3 levels of the RGB path's mean
/// error (the paths compute the same luma, to rounding), colour within 10 % + 0.2 levels
/// (chroma is resampled once instead of upsampled and averaged back down, which differs
/// slightly at small sizes).
fn assert_as_good(name: &str, bytes: &[u8]) {
    let Paths { ycc, rgb, png } = both_paths(bytes, &job());
    for ((y, r), p) in ycc.iter().zip(&rgb).zip(&png) {
        let what = format!("{name} {}", y.transform.name);
        assert_eq!((y.width, y.height), (r.width, r.height), "{what}");
        assert_eq!(
            image::guess_format(&y.bytes).unwrap(),
            image::guess_format(&r.bytes).unwrap(),
            "{what}"
        );
        let (yi, ri, pi) = (
            decode(&y.bytes).to_rgb8(),
            decode(&r.bytes).to_rgb8(),
            decode(&p.bytes).to_rgb8(),
        );
        assert_eq!(yi.dimensions(), (y.width, y.height), "{what}");
        let (yl, rl) = (luma_diff(&yi, &pi), luma_diff(&ri, &pi));
        assert!(
            yl <= rl + 0.3,
            "{what}: YCbCr path's luma is {yl:.2} levels from the reference, RGB path's {rl:.2}"
        );
        let (ye, re) = (mean_abs_diff(&yi, &pi), mean_abs_diff(&ri, &pi));
        assert!(
            ye <= re * 1.1 + 0.2,
            "{what}: YCbCr path is {ye:.2} levels from the reference, RGB path {re:.2}"
        );
        assert!(mean_abs_diff(&yi, &ri) < 4.0, "{what}: paths differ");
    }
}

#[test]
fn photos_with_each_chroma_layout_and_odd_sizes() {
    for file in [
        // 4:4:4, smaller than most outputs, with line-by-line colour detail: a 4:4:4 output
        // must not be made from an earlier 4:2:0 output of the same size (the cascade's
        // chroma check).
        "color/sharp_gamma_dalai_lama.jpg",
        "photos/wm_Rostockstein_2347x3568.jpg", // 4:2:0, odd width
        "formats/wm_Cerkiew_progressive_1914x2565.jpg", // 4:4:0, progressive, odd height
        "formats/ir_progressive_650x470.jpg",   // 4:4:4
        "color/sharp_icc_iptc_xmp.jpg",         // 4:2:0 with an sRGB profile
    ] {
        assert_as_good(file, &corpus_file(file));
    }
}

/// A 4:2:0 source decoded at 1/2 or 1/4 for a 4:4:4 output (JPEG quality ≥ 90) must keep
/// the chroma the file has: libjpeg keeps it when decoding to RGB, and the planes are
/// decoded one scale larger for it. Fine colour stripes show any loss.
#[test]
fn shrink_on_load_keeps_the_chroma_a_444_output_needs() {
    let stripes = image::RgbImage::from_fn(1600, 1200, |x, _| {
        if (x / 4) % 2 == 0 {
            image::Rgb([200, 40, 40])
        } else {
            image::Rgb([40, 40, 200])
        }
    });
    let mut png = Vec::new();
    stripes
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // Made into a 4:2:0 JPEG (quality < 90) of the same size by the engine itself.
    let to_jpeg = transform("src", "jpeg", Some(88), "fit", 1600);
    let source = Engine::default()
        .render(&png, &[to_jpeg], Deadline::none())
        .unwrap()
        .remove(0)
        .bytes;
    let job = [
        transform("j800-444", "jpeg", Some(95), "fit", 800),
        transform("j400-444", "jpeg", Some(95), "fit", 400),
    ];
    // Against the stripes themselves, resized with Lanczos3: the two paths decode at
    // different scales here, so neither path's own decode is a fair reference.
    let Paths { ycc, rgb, .. } = both_paths(&source, &job);
    for (y, r) in ycc.iter().zip(&rgb) {
        let truth = image::imageops::resize(&stripes, y.width, y.height, FilterType::Lanczos3);
        let (yi, ri) = (decode(&y.bytes).to_rgb8(), decode(&r.bytes).to_rgb8());
        let (ye, re) = (mean_abs_diff(&yi, &truth), mean_abs_diff(&ri, &truth));
        assert!(
            ye <= re * 1.1 + 0.5,
            "{}: YCbCr path {ye:.2} levels from the stripes, RGB path {re:.2}",
            y.transform.name
        );
    }
}

#[test]
fn every_orientation_on_the_ycbcr_path() {
    for family in ["Landscape", "Portrait"] {
        for n in 1..=8 {
            let file = format!("orientation/{family}_{n}.jpg");
            assert_as_good(&file, &corpus_file(&file));
        }
    }
    for file in [
        "orientation/es_canon_orient6_2048x1536.jpg", // 4:2:2, turned 90°
        "orientation/wm_butterfly_orient6_3264x1836.jpg",
    ] {
        assert_as_good(file, &corpus_file(file));
    }
}

#[test]
fn sources_that_need_rgb_still_come_out_right() {
    // Adobe RGB must be converted: a JPEG-only job gives the colours the PNG job gives.
    let bytes = corpus_file("color/wm_adobergb_icc.jpg");
    let jpeg = transform("j", "jpeg", Some(95), "fit", 128);
    let png = transform("p", "png", None, "fit", 128);
    let engine = Engine::default();
    let j = engine.render(&bytes, &[jpeg], Deadline::none()).unwrap();
    let p = engine.render(&bytes, &[png], Deadline::none()).unwrap();
    let (jm, pm) = (
        mean_rgb(&decode(&j[0].bytes).to_rgb8()),
        mean_rgb(&decode(&p[0].bytes).to_rgb8()),
    );
    for c in 0..3 {
        assert!((jm[c] - pm[c]).abs() < 1.5, "channel {c}: {jm:?} vs {pm:?}");
    }
    // CMYK, grey and CMYK-with-orientation take the RGB path and still render.
    for file in [
        "color/th_giunchedi_cmyk.jpg",
        "color/th_giunchedi_grayscale.jpg",
        "orientation/th_cmyk_with_orientation.jpg",
        "orientation/wm_EXIF_rotation_180_progressive_gray.jpg",
    ] {
        assert_as_good(file, &corpus_file(file));
    }
}

#[test]
fn damaged_entropy_data_renders_on_both_paths() {
    let bytes = corpus_file("malformed/es_corrupt_entropy_olympus_3648x2736.jpg");
    let engine = Engine::default();
    let ycc = engine.render(&bytes, &job(), Deadline::none()).unwrap();
    let mut with_png = job();
    with_png.push(transform("png", "png", None, "fit", 64));
    let rgb = engine.render(&bytes, &with_png, Deadline::none()).unwrap();
    assert_eq!(ycc.len(), job().len());
    for (y, r) in ycc.iter().zip(&rgb) {
        assert_eq!((y.width, y.height), (r.width, r.height));
        let (yi, ri) = (decode(&y.bytes).to_rgb8(), decode(&r.bytes).to_rgb8());
        assert!(mean_abs_diff(&yi, &ri) < 4.0, "{}", y.transform.name);
    }
}
