//! JPEG XL and camera RAW sources through the engine, on the files of
//! `tests/fixtures/modern/` (copied from `../shared/corpus/modern/`, see SOURCES.md there):
//! each renders upright at its shown aspect, JPEG XL matches libjxl (through ffmpeg) pixel
//! for pixel within rounding, and hostile or undecodable ones are refused with typed
//! errors, fast. SVG is `tests/engine_svg.rs`.
//! Run: `cargo test --test engine_modern` (needs ffmpeg built with libjxl).

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::images::{decode, mean_abs_diff};
use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, EngineError, Limits};
use derivd::media::MediaType;

pub fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/modern/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn fit(format: &str, size: u32) -> Arc<Transform> {
    let toml = format!(
        "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"{format}\"\n\
         [resize]\nmode = \"fit\"\nwidth = {size}\nheight = {size}\n"
    );
    Arc::new(Transform::parse("t", &toml, 8192).unwrap())
}

fn render(bytes: &[u8], format: &str, size: u32) -> image::DynamicImage {
    let out = Engine::default()
        .render(bytes, &[fit(format, size)], Deadline::none())
        .unwrap_or_else(|e| panic!("render: {e}"));
    decode(&out[0].bytes)
}

/// libjxl's decode of a fixture (through ffmpeg), as a PNG (with the ICC profile, if any).
fn libjxl_png(name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join(name), dir.path().join("ref.png"));
    std::fs::write(&src, fixture(name)).unwrap();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&src)
        .args(["-frames:v", "1", "-pix_fmt", "rgba"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg could not decode {name}");
    std::fs::read(out).unwrap()
}

/// BT.709-encoded values (what ffmpeg writes, tagged only by a gAMA chunk) re-encoded as
/// sRGB: what a colour-managed viewer shows, and what derivd's conversion produces.
fn bt709_to_srgb(img: &mut image::RgbImage) {
    let lut: Vec<u8> = (0..256)
        .map(|v| {
            let v = v as f64 / 255.0;
            let linear = if v < 0.081 {
                v / 4.5
            } else {
                ((v + 0.099) / 1.099).powf(1.0 / 0.45)
            };
            let s = if linear <= 0.003_130_8 {
                12.92 * linear
            } else {
                1.055 * linear.powf(1.0 / 2.4) - 0.055
            };
            (s * 255.0).round() as u8
        })
        .collect();
    img.iter_mut().for_each(|c| *c = lut[*c as usize]);
}

#[test]
fn jpeg_xl_files_render_upright_and_match_libjxl() {
    let cases = [
        ("jxl_bike_lossy_vardct.jxl", (2048, 2560)),
        ("jxl_patches_lossless_rgba.jxl", (1600, 1096)),
        // Orientation 5 in the codestream (and its Exif box): stored 500×606.
        ("jxl_recompressed_jpeg_oriented.jxl", (606, 500)),
    ];
    for (name, size) in cases {
        let bytes = fixture(name);
        let info = Engine::default().probe(&bytes).unwrap();
        assert_eq!(info.media, MediaType::Jxl, "{name}");
        assert_eq!((info.width, info.height), size, "{name}");
        let ours = render(&bytes, "png", 256).to_rgb8();
        let mut theirs = render(&libjxl_png(name), "png", 256).to_rgb8();
        if name.contains("bike") {
            // CICP 1/1/0: BT.709 transfer, which derivd converts to sRGB.
            bt709_to_srgb(&mut theirs);
        }
        let d = mean_abs_diff(&ours, &theirs);
        assert!(d < 1.5, "{name}: mean difference {d:.2} from libjxl");
        // The comparison can fail: the same picture turned once more is far off.
        let turned = image::imageops::rotate180(&theirs);
        assert!(mean_abs_diff(&ours, &turned) > 8.0, "{name}");
    }
}

#[test]
fn premultiplied_alpha_is_divided_out_once() {
    // 12-bit colour, 16-bit premultiplied alpha. ffmpeg hands libjxl's premultiplied
    // values on as they are: derivd's straight colour times alpha must give them back.
    let name = "jxl_alpha_premultiplied.jxl";
    let ours = render(&fixture(name), "png", 1024).to_rgba8();
    let theirs = decode(&libjxl_png(name)).to_rgba8();
    assert_eq!(ours.dimensions(), theirs.dimensions());
    let (mut err, mut n, mut translucent) = (0u64, 0u64, 0u64);
    for (o, t) in ours.pixels().zip(theirs.pixels()) {
        assert!(o[3].abs_diff(t[3]) <= 1, "alpha {o:?} vs {t:?}");
        translucent += u64::from(o[3] > 20 && o[3] < 235);
        for c in 0..3 {
            let premultiplied = (o[c] as u32 * o[3] as u32 + 127) / 255;
            err += (premultiplied as i32 - t[c] as i32).unsigned_abs() as u64;
            n += 1;
        }
    }
    let mean = err as f64 / n as f64;
    assert!(
        mean < 1.0,
        "mean error {mean:.2} against libjxl's premultiplied values"
    );
    assert!(translucent > 500_000, "{translucent}");
    // Kept for PNG; flattened for JPEG.
    assert!(render(&fixture(name), "png", 64).color().has_alpha());
    assert!(!render(&fixture(name), "jpeg", 64).color().has_alpha());
    // An all-opaque alpha channel is dropped.
    assert!(
        !render(&fixture("jxl_patches_lossless_rgba.jxl"), "png", 64)
            .color()
            .has_alpha()
    );
}

#[test]
fn recompressed_jpeg_matches_the_jpeg_it_came_from() {
    // jxl-oxide rebuilds the original JPEG (EXIF orientation 5, "BRG" ICC profile that
    // swaps channels): the JPEG path applies both once; the JXL path must end at the same
    // pixels (small differences: libjpeg-turbo's DCT scaling and chroma upsampling).
    let bytes = fixture("jxl_recompressed_jpeg_oriented.jxl");
    let image = jxl_oxide::JxlImage::builder().read(&bytes[..]).unwrap();
    let mut jpeg = Vec::new();
    image.reconstruct_jpeg(&mut jpeg).unwrap();
    let small = |i: &image::RgbImage| {
        image::imageops::resize(i, 75, 62, image::imageops::FilterType::Triangle)
    };
    let from_jpeg = small(&render(&jpeg, "png", 300).to_rgb8());
    let from_jxl = render(&bytes, "png", 300).to_rgb8();
    assert_eq!(from_jxl.dimensions(), (300, 248));
    let d = mean_abs_diff(&small(&from_jxl), &from_jpeg);
    assert!(
        d < 2.0,
        "mean difference {d:.2} from the reconstructed JPEG"
    );
    // The bench is red: the BRG profile was applied (unapplied, it would come out blue).
    let mean = common::images::mean_rgb(&from_jpeg);
    assert!(mean[0] > mean[2] + 10.0, "{mean:?}");
}

#[test]
fn jpeg_xl_over_the_pixel_limit_or_truncated_is_refused_before_decoding() {
    let bytes = fixture("jxl_bike_lossy_vardct.jxl");
    let small = Engine::new(Limits {
        max_input_pixels: 1_000_000,
        ..Limits::default()
    });
    let started = Instant::now();
    let err = small
        .render(&bytes, &[fit("jpeg", 64)], Deadline::none())
        .unwrap_err();
    assert!(matches!(err, EngineError::LimitExceeded(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    for cut in [2, 40, bytes.len() / 2] {
        let err = Engine::default()
            .render(&bytes[..cut], &[fit("jpeg", 64)], Deadline::none())
            .unwrap_err();
        assert!(
            matches!(err, EngineError::Corrupt(_)),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn cr3_renders_its_largest_preview() {
    let bytes = fixture("exiv2_canon_r6_pruned_previews.cr3");
    let info = Engine::default().probe(&bytes).unwrap();
    assert_eq!(info.media, MediaType::Cr3);
    assert_eq!((info.width, info.height), (1620, 1080));
    let img = render(&bytes, "jpeg", 256).to_rgb8();
    assert_eq!(img.dimensions(), (256, 171));
    // The 160×120 THMB thumbnail is the same picture (squeezed to 4:3 by the camera): the
    // preview is neither garbage nor turned.
    let thmb_at = bytes.windows(4).position(|w| w == b"THMB").unwrap();
    let soi = thmb_at
        + bytes[thmb_at..]
            .windows(3)
            .position(|w| w == [0xFF, 0xD8, 0xFF])
            .unwrap();
    let thumb = render(&bytes[soi..], "png", 160).to_rgb8();
    assert_eq!(thumb.dimensions(), (160, 120));
    let (p, t) = (luma_32x24(&img), luma_32x24(&thumb));
    let same = correlation(&p, &t);
    let turned: Vec<f64> = t.iter().rev().copied().collect();
    let other = correlation(&p, &turned);
    assert!(
        same > 0.5 && other < same - 0.3,
        "correlation {same:.2}, turned {other:.2}"
    );
}

/// A 32×24 grey copy, for comparing pictures whose colours or aspect differ a little.
fn luma_32x24(i: &image::RgbImage) -> Vec<f64> {
    let small = image::imageops::resize(i, 32, 24, image::imageops::FilterType::Triangle);
    let grey = image::DynamicImage::ImageRgb8(small).to_luma8();
    grey.as_raw().iter().map(|&v| v as f64).collect()
}

/// Pearson correlation of two equal-length series.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>().sqrt();
    cov / (var(a, ma) * var(b, mb))
}

#[test]
fn kdc_renders_its_rgb_thumbnail_and_a_pruned_dng_is_unsupported() {
    let kdc = fixture("rawpy_kodak_dc50.kdc");
    let info = Engine::default().probe(&kdc).unwrap();
    assert_eq!(
        (info.media, info.width, info.height),
        (MediaType::Kdc, 96, 64)
    );
    let img = render(&kdc, "png", 256).to_rgb8();
    assert_eq!(img.dimensions(), (96, 64));
    let spread =
        img.pixels().map(|p| p[1]).max().unwrap() - img.pixels().map(|p| p[1]).min().unwrap();
    assert!(spread > 60, "a flat thumbnail: {spread}");

    let dng = fixture("exiv2_iphone12pro_proraw_pruned.dng");
    let started = Instant::now();
    let err = Engine::default().probe(&dng).unwrap_err();
    assert!(
        matches!(&err, EngineError::UnsupportedFormat(m) if m.contains("image/x-adobe-dng")),
        "{err}"
    );
    assert_eq!(err.fault(), derivd::engine::Fault::Client);
    assert!(started.elapsed() < Duration::from_millis(100));
}

#[test]
fn a_tiff_preview_keeps_the_raw_files_orientation() {
    // A minimal DNG: IFD0 with DNGVersion, Orientation 6 and a JPEG preview strip.
    let jpeg = {
        let img = image::RgbImage::from_fn(40, 20, |x, _| image::Rgb([(x * 6) as u8, 0, 0]));
        let mut out = Vec::new();
        img.write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
        out
    };
    let entries: [(u16, u16, u32); 6] = [
        (0x0103, 3, 7),
        (0x0106, 3, 6),
        (0x0111, 4, 8 + 2 + 6 * 12 + 4),
        (0x0112, 3, 6),
        (0x0117, 4, jpeg.len() as u32),
        (0xC612, 1, 0x0104_0000),
    ];
    let mut dng = b"II*\0\x08\0\0\0".to_vec();
    dng.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        dng.extend_from_slice(&tag.to_le_bytes());
        dng.extend_from_slice(&kind.to_le_bytes());
        let count: u32 = if tag == 0xC612 { 4 } else { 1 };
        dng.extend_from_slice(&count.to_le_bytes());
        dng.extend_from_slice(&value.to_le_bytes());
    }
    dng.extend_from_slice(&[0; 4]);
    dng.extend_from_slice(&jpeg);
    let info = Engine::default().probe(&dng).unwrap();
    assert_eq!(
        (info.media, info.width, info.height),
        (MediaType::Dng, 20, 40)
    );
    let img = render(&dng, "png", 64).to_rgb8();
    assert_eq!(img.dimensions(), (20, 40));
    // Orientation 6: the red ramp (left to right) now runs top to bottom.
    assert!(img.get_pixel(10, 38)[0] > img.get_pixel(10, 1)[0] + 100);
}

#[test]
fn damaged_jpeg_xl_and_svg_get_typed_client_errors() {
    // Deterministic byte flips and cuts (a fixed LCG): rendered, or refused as the
    // client's fault — never a panic (`Internal`) or a hang.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let files = [
        "jxl_alpha_premultiplied.jxl",
        "jxl_patches_lossless_rgba.jxl",
        "wm_illustrator_internal_entities.svg",
    ];
    let started = Instant::now();
    for name in files {
        let original = fixture(name);
        for _ in 0..40 {
            let mut b = original.clone();
            if next() % 2 == 0 {
                b.truncate(16 + next() % (original.len() - 16));
            }
            for _ in 0..1 + next() % 4 {
                let at = next() % b.len();
                b[at] = next() as u8;
            }
            match Engine::default().render(&b, &[fit("jpeg", 64)], Deadline::none()) {
                Ok(_) => {}
                Err(e) => assert_eq!(e.fault(), derivd::engine::Fault::Client, "{name}: {e}"),
            }
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60));
}
