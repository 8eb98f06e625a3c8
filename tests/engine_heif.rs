//! HEIC/HEIF and AVIF sources through the engine (libheif): detection, header-first limits,
//! transformations applied once, alpha, deep colour, and bad files as typed errors.
//! Fixtures: `tests/fixtures/heif/` (provenance in its `SOURCES.md`).
//! Run: `cargo test --test engine_heif` (needs libheif1 — `scripts/setup-system.sh`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::images::{decode, mean_abs_diff, mean_rgb};
use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, EngineError, Fault, Limits};
use derivd::media::{detect, Detected, MediaType};
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/heif")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A lossless rendition fitting `size`×`size`.
fn png_fit(size: u32) -> Arc<Transform> {
    let toml = format!(
        "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"png\"\n\
         [resize]\nmode = \"fit\"\nwidth = {size}\nheight = {size}\n"
    );
    Arc::new(Transform::parse("cmp", &toml, 8192).unwrap())
}

fn render(engine: &Engine, bytes: &[u8], size: u32) -> Result<DynamicImage, EngineError> {
    let out = engine.render(bytes, &[png_fit(size)], Deadline::none())?;
    let img = decode(&out[0].bytes);
    assert_eq!((img.width(), img.height()), (out[0].width, out[0].height));
    Ok(img)
}

#[test]
fn every_fixture_is_detected_and_probed_with_its_displayed_size() {
    let cases = [
        (
            "ph_iphone8plus_arrow_grid_orient6.heic",
            MediaType::Heic,
            (3024, 4032),
        ),
        (
            "ph_rgba_8bit_alpha_128x128.heif",
            MediaType::Heic,
            (128, 128),
        ),
        ("lu_fox_8bit_yuv420.avif", MediaType::Avif, (1204, 800)),
        ("lu_fox_10bit_yuv420.avif", MediaType::Avif, (1204, 800)),
        ("lu_plum_blossom_alpha.avif", MediaType::Avif, (2048, 2048)),
        // Coded 1024×722 with irot 270: shown portrait.
        ("lu_kimono_irot270.avif", MediaType::Avif, (722, 1024)),
        (
            "lu_star_animated_5frames.avifs",
            MediaType::Avif,
            (159, 159),
        ),
    ];
    for (name, media, size) in cases {
        let bytes = fixture(name);
        assert_eq!(detect(&bytes), Detected::Supported(media), "{name}");
        let info = Engine::default()
            .probe(&bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (info.media, info.width, info.height),
            (media, size.0, size.1),
            "{name}"
        );
        let px = size.0 as u64 * size.1 as u64;
        assert!(info.estimated_decode_bytes >= 3 * px, "{name}: {info:?}");
    }
    assert_eq!(MediaType::from_mime("image/heic"), Some(MediaType::Heic));
    assert_eq!(MediaType::from_mime("image/heif"), Some(MediaType::Heif));
    assert!(MediaType::Avif.may_be_animated());
}

#[test]
fn the_200_megapixel_heic_is_refused_from_its_header_fast() {
    let bytes = fixture("ph_galaxy_s24ultra_200mp_grid.heic");
    let started = Instant::now();
    let e = render(&Engine::default(), &bytes, 256).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&e, EngineError::LimitExceeded(m) if m.contains("199.8 MP")),
        "{e}"
    );
    // A decode of 768 HEVC tiles takes tens of seconds; the header look milliseconds.
    assert!(took < Duration::from_millis(500), "{took:?}");
    // Peak memory of the refusal (no tile decoded) is measured by tests/engine_memory.rs.
}

#[test]
fn the_200_megapixel_heic_renders_when_the_limit_allows_it() {
    let bytes = fixture("ph_galaxy_s24ultra_200mp_grid.heic");
    let engine = Engine::new(Limits {
        max_input_pixels: 250_000_000,
        ..Limits::default()
    });
    let info = engine.probe(&bytes).unwrap();
    // Stored 16320×12240 with irot 270: portrait.
    assert_eq!((info.width, info.height), (12240, 16320));
    let img = render(&engine, &bytes, 256).unwrap();
    assert_eq!(img.dimensions(), (192, 256));
}

#[test]
fn a_1340_byte_avif_claiming_17000_squared_is_refused_before_decoding() {
    let bytes = fixture("vips_17000x17000_bomb.avif");
    assert_eq!(bytes.len(), 1340);
    let started = Instant::now();
    let e = Engine::default().probe(&bytes).unwrap_err();
    assert!(
        matches!(&e, EngineError::LimitExceeded(m) if m.contains("17000×17000")),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_millis(200));
}

/// Dark pixels (the marker lines) of a grey rendition, as (x, y).
fn dark_pixels(img: &DynamicImage) -> Vec<(u32, u32)> {
    let g = img.to_luma8();
    g.enumerate_pixels()
        .filter(|p| p.2[0] < 80)
        .map(|p| (p.0, p.1))
        .collect()
}

#[test]
fn irot_is_applied_once_and_exif_orientation_not_again() {
    // irot 270 + EXIF 6: once is a portrait page with the drawn arrow pointing up (tip at
    // the top centre); EXIF applied as well would give a landscape image.
    let img = render(
        &Engine::default(),
        &fixture("ph_iphone8plus_arrow_grid_orient6.heic"),
        256,
    )
    .unwrap();
    assert_eq!(img.dimensions(), (192, 256));
    let dark = dark_pixels(&img);
    assert!(dark.len() > 200, "{}", dark.len());
    let top = dark.iter().min_by_key(|p| p.1).unwrap();
    assert!(
        top.1 < 256 / 5 && (192 * 35 / 100..192 * 65 / 100).contains(&top.0),
        "{top:?}"
    );
    let mean_y = dark.iter().map(|p| p.1 as f64).sum::<f64>() / dark.len() as f64;
    assert!((64.0..192.0).contains(&mean_y), "{mean_y}");

    // The rotated kimono, against the same picture decoded and turned back by hand: the
    // stored orientation rotated 90° clockwise is what irot 270 (anticlockwise) undoes.
    let kimono = render(&Engine::default(), &fixture("lu_kimono_irot270.avif"), 256).unwrap();
    assert_eq!(kimono.dimensions(), (181, 256));
    let turned = kimono.rotate90();
    let back = turned.rotate270();
    assert_eq!(back.to_rgb8(), kimono.to_rgb8());
}

#[test]
fn alpha_is_kept() {
    for name in [
        "ph_rgba_8bit_alpha_128x128.heif",
        "lu_plum_blossom_alpha.avif",
    ] {
        let img = render(&Engine::default(), &fixture(name), 128).unwrap();
        let rgba = img.to_rgba8();
        assert!(img.color().has_alpha(), "{name}: {:?}", img.color());
        let clear = rgba.pixels().filter(|p| p[3] < 255).count();
        assert!(
            clear > rgba.len() / 4 / 20,
            "{name}: {clear} translucent pixels"
        );
        let max = rgba.pixels().map(|p| p[3]).max().unwrap();
        let min = rgba.pixels().map(|p| p[3]).min().unwrap();
        assert!(max > 192 && min < 64, "{name}: alpha {min}..={max}");
    }
}

#[test]
fn ten_bit_decodes_like_the_eight_bit_one() {
    let engine = Engine::default();
    let a = render(&engine, &fixture("lu_fox_8bit_yuv420.avif"), 256)
        .unwrap()
        .to_rgb8();
    let b = render(&engine, &fixture("lu_fox_10bit_yuv420.avif"), 256)
        .unwrap()
        .to_rgb8();
    let (ma, mb) = (mean_rgb(&a), mean_rgb(&b));
    for c in 0..3 {
        assert!((ma[c] - mb[c]).abs() < 3.0, "channel {c}: {ma:?} vs {mb:?}");
    }
    // Not just the same mean: the same picture (a 10-bit sample read as 8 bits is garbage).
    assert!(mean_abs_diff(&a, &b) < 4.0, "{}", mean_abs_diff(&a, &b));
    let small = |i: &image::RgbImage| image::imageops::resize(i, 32, 21, FilterType::Triangle);
    assert!(mean_abs_diff(&small(&a), &small(&b)) < 3.0);
}

#[test]
fn the_first_frame_of_an_animated_avif_is_rendered() {
    // Its brands (avis, msf1, miaf) name no still format libheif 1.15 reads; the poster item
    // it carries is read once a `mif1` brand is patched in.
    let bytes = fixture("lu_star_animated_5frames.avifs");
    let poster = render(&Engine::default(), &bytes, 256).unwrap();
    assert_eq!(poster.dimensions(), (159, 159));
    let rgb = poster.to_rgb8();
    let distinct: std::collections::HashSet<_> = rgb.pixels().map(|p| p.0).collect();
    assert!(
        distinct.len() > 8,
        "a blank frame: {} colours",
        distinct.len()
    );
    // Without the poster item (`meta` renamed `free`: no offset moves), the first sample of
    // the track is rewrapped as a still: the same picture.
    let mut bare = bytes.clone();
    let at = bytes.windows(4).position(|w| w == b"meta").unwrap();
    bare[at..at + 4].copy_from_slice(b"free");
    let first = render(&Engine::default(), &bare, 256).unwrap();
    assert_eq!(first.dimensions(), (159, 159));
    let diff = mean_abs_diff(&first.to_rgb8(), &rgb);
    assert!(diff < 2.0, "track frame 0 vs poster: {diff}");
}

#[test]
fn truncated_and_corrupt_files_are_typed_client_errors() {
    let engine = Engine::default();
    for name in [
        "ph_iphone8plus_arrow_grid_orient6.heic",
        "lu_fox_10bit_yuv420.avif",
        "ph_rgba_8bit_alpha_128x128.heif",
        "lu_star_animated_5frames.avifs",
    ] {
        let bytes = fixture(name);
        let mut cases: Vec<(String, Vec<u8>)> = [64, 600, bytes.len() / 2, bytes.len() - 10]
            .into_iter()
            .map(|n| (format!("first {n} bytes"), bytes[..n].to_vec()))
            .collect();
        // Flipped bytes through the coded data (after the header boxes).
        let mut flipped = bytes.clone();
        for i in (bytes.len() / 3..bytes.len()).step_by(97) {
            flipped[i] ^= 0x5A;
        }
        cases.push(("flipped".into(), flipped));
        for (what, b) in cases {
            match engine.render(&b, &[png_fit(64)], Deadline::none()) {
                Ok(_) => {}
                Err(e) => assert_eq!(e.fault(), Fault::Client, "{name}, {what}: {e}"),
            }
        }
    }
}
