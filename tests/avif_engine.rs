//! AVIF outputs from the engine: the YCbCr path (a JPEG source, AVIF and JPEG outputs only)
//! and the RGB path (alpha sources, or a PNG output beside), each decoded back through
//! libheif and compared with a lossless PNG rendition of the same transform.
//! Run: `cargo test --test avif_engine`.

mod common;

use std::sync::Arc;

use common::images::{corpus_file, decode};
use derivd::catalogue::Transform;
use derivd::engine::stages::{decode_avif, DecodedAvif};
use derivd::engine::{Deadline, Engine};
use image::{DynamicImage, RgbImage, RgbaImage};

fn transform(name: &str, format: &str, extra: &str) -> Arc<Transform> {
    let toml = format!(
        "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"{format}\"\n{extra}\n\
         [resize]\nmode = \"fit\"\nwidth = 512\nheight = 512\n"
    );
    Arc::new(Transform::parse(name, &toml, 8192).unwrap())
}

fn render(bytes: &[u8], t: &[Arc<Transform>]) -> Vec<Vec<u8>> {
    let out = Engine::default()
        .render(bytes, t, Deadline::none())
        .unwrap();
    out.into_iter().map(|r| r.bytes).collect()
}

fn rgb_of(d: &DecodedAvif) -> RgbImage {
    let rgb: Vec<u8> = match d.channels {
        3 => d.data.clone(),
        _ => d
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    RgbImage::from_raw(d.width, d.height, rgb).unwrap()
}

/// Mean absolute difference and SSIM of the AVIF's colours against the PNG's.
fn closeness(avif: &DecodedAvif, png: &DynamicImage) -> (f64, f64) {
    let a = rgb_of(avif);
    let p = png.to_rgb8();
    let mad = common::images::mean_abs_diff(&a, &p);
    let ssim = common::images::ssim(&DynamicImage::ImageRgb8(a), &DynamicImage::ImageRgb8(p));
    (mad, ssim)
}

/// The YCbCr path (every output JPEG or AVIF) and the RGB path (a PNG output in the same
/// job) both give an upright AVIF of the PNG's size and close to its pixels.
#[test]
fn a_jpeg_photo_on_both_paths() {
    let avif = transform("a", "avif", "quality = 60");
    let png = transform("p", "png", "");
    let jpeg = transform("j", "jpeg", "quality = 90");
    for file in [
        "photos/es_jolla_3264x2448.jpg",
        "orientation/Landscape_6.jpg",
    ] {
        let src = corpus_file(file);
        let reference = decode(&render(&src, std::slice::from_ref(&png))[0]);
        let ycc = decode_avif(&render(&src, &[avif.clone(), jpeg.clone()])[0]).unwrap();
        let rgb = decode_avif(&render(&src, &[avif.clone(), png.clone()])[0]).unwrap();
        for (path, d) in [("YCbCr", &ycc), ("RGB", &rgb)] {
            assert_eq!(
                (d.width, d.height, d.channels),
                (reference.width(), reference.height(), 3),
                "{file} {path}"
            );
            let (mad, ssim) = closeness(d, &reference);
            assert!(
                mad < 4.0 && ssim > 0.9,
                "{file} {path}: diff {mad:.2}, SSIM {ssim:.3}"
            );
        }
    }
}

/// An RGBA source keeps its alpha (and its colours) in the AVIF.
#[test]
fn alpha_is_kept() {
    let (w, h) = (300u32, 200u32);
    let img = RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            90,
            (x * 255 / w) as u8,
        ])
    });
    let mut src = Vec::new();
    DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut src), image::ImageFormat::Png)
        .unwrap();
    let outs = render(
        &src,
        &[transform("a", "avif", ""), transform("p", "png", "")],
    );
    let avif = decode_avif(&outs[0]).unwrap();
    let png = decode(&outs[1]).to_rgba8();
    assert_eq!((avif.width, avif.height, avif.channels), (w, h, 4));
    let alpha_diff: f64 = avif
        .data
        .chunks_exact(4)
        .zip(png.pixels())
        .map(|(a, p)| (a[3] as f64 - p[3] as f64).abs())
        .sum::<f64>()
        / (w * h) as f64;
    assert!(
        alpha_diff < 3.0,
        "alpha differs by {alpha_diff:.2} on average"
    );
}

/// Quality reaches the encoder through the transform: more quality, more bytes.
#[test]
fn quality_key_changes_the_bytes() {
    let src = corpus_file("photos/es_jolla_3264x2448.jpg");
    let low = transform("l", "avif", "quality = 30");
    let high = transform("h", "avif", "quality = 80\nspeed = 8");
    let outs = render(&src, &[low, high]);
    assert!(
        outs[1].len() > outs[0].len(),
        "{} vs {}",
        outs[1].len(),
        outs[0].len()
    );
}
