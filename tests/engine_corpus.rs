//! The transform engine on the real-world corpus (`../shared/corpus`, see its SOURCES.md):
//! orientation, colour, formats, malformed input, and every default transform on every photo.

mod common;

use std::sync::Arc;

use common::images::{corpus_dir, corpus_file, decode, mean_abs_diff, mean_rgb};
use derivd::catalogue::{Catalogue, Transform};
use derivd::engine::{Deadline, Engine, EngineError, Limits};
use derivd::media::MediaType;
use image::imageops::FilterType;
use image::RgbImage;

fn transform(name: &str, toml: &str) -> Arc<Transform> {
    Arc::new(Transform::parse(name, toml, 8192).unwrap())
}

/// A lossless small rendition, for pixel comparisons.
fn png_fit(size: u32) -> Arc<Transform> {
    transform(
        "cmp",
        &format!(
            "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"png\"\n\
             [resize]\nmode = \"fit\"\nwidth = {size}\nheight = {size}\n"
        ),
    )
}

fn render_png(bytes: &[u8], size: u32) -> RgbImage {
    let out = Engine::default()
        .render(bytes, &[png_fit(size)], Deadline::none())
        .unwrap();
    decode(&out[0].bytes).to_rgb8()
}

#[test]
fn every_orientation_comes_out_upright() {
    for family in ["Landscape", "Portrait"] {
        let control = render_png(&corpus_file(&format!("orientation/{family}_0.jpg")), 96);
        for n in 1..=8 {
            let name = format!("orientation/{family}_{n}.jpg");
            let out = render_png(&corpus_file(&name), 96);
            assert_eq!(out.dimensions(), control.dimensions(), "{name}");
            let d = mean_abs_diff(&out, &control);
            assert!(
                d < 6.0,
                "{name}: mean difference {d:.1} from the upright control"
            );
        }
        // The comparison can fail: a mirrored control differs a lot.
        let mirrored = image::imageops::flip_horizontal(&control);
        assert!(mean_abs_diff(&mirrored, &control) > 15.0);
    }
}

#[test]
fn real_camera_orientations_swap_axes() {
    for (file, portrait) in [
        ("orientation/es_canon_orient6_2048x1536.jpg", true),
        ("orientation/wm_butterfly_orient6_3264x1836.jpg", true),
        ("orientation/th_cmyk_with_orientation.jpg", true),
        (
            "orientation/wm_EXIF_rotation_180_progressive_gray.jpg",
            true,
        ),
    ] {
        let out = render_png(&corpus_file(file), 64);
        assert_eq!(
            out.height() > out.width(),
            portrait,
            "{file}: {:?}",
            out.dimensions()
        );
    }
    // Orientation 3 (180°) on a 40x60 grey image: compare with a plain 180° rotation.
    let bytes = corpus_file("orientation/wm_EXIF_rotation_180_progressive_gray.jpg");
    let raw = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let rotated = image::imageops::rotate180(&raw);
    let out = render_png(&bytes, 64);
    assert_eq!(out.dimensions(), rotated.dimensions());
    assert!(mean_abs_diff(&out, &rotated) < 3.0);
}

fn srgb_decode(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn srgb_encode(v: f64) -> f64 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.0031308 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// Independent reference conversion: decode the file without colour management, linearise
/// with the source space's transfer curve, map to linear sRGB with the standard 3×3 matrix
/// (derived from the published primaries, D65), re-encode, then downscale like the engine.
fn reference(
    bytes: &[u8],
    to_linear: fn(f64) -> f64,
    m: [[f64; 3]; 3],
    w: u32,
    h: u32,
) -> RgbImage {
    let mut raw = image::load_from_memory(bytes).unwrap().to_rgb8();
    for p in raw.pixels_mut() {
        let l = [0, 1, 2].map(|c| to_linear(p[c] as f64 / 255.0));
        for (c, row) in m.iter().enumerate() {
            let v = row[0] * l[0] + row[1] * l[1] + row[2] * l[2];
            p[c] = (srgb_encode(v) * 255.0).round() as u8;
        }
    }
    image::imageops::resize(&raw, w, h, FilterType::Lanczos3)
}

#[test]
fn adobe_rgb_is_converted_to_srgb() {
    let bytes = corpus_file("color/wm_adobergb_icc.jpg");
    let out = render_png(&bytes, 128);
    // Adobe RGB (1998): gamma 563/256; matrix Adobe RGB → sRGB (linear, D65).
    let m = [
        [1.39836, -0.39836, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -0.04293, 1.04293],
    ];
    let want = reference(
        &bytes,
        |v| v.powf(563.0 / 256.0),
        m,
        out.width(),
        out.height(),
    );
    let unconverted = image::imageops::resize(
        &image::load_from_memory(&bytes).unwrap().to_rgb8(),
        out.width(),
        out.height(),
        FilterType::Lanczos3,
    );
    let d = mean_abs_diff(&out, &want);
    let d_raw = mean_abs_diff(&out, &unconverted);
    assert!(d < 3.0, "difference from the reference conversion: {d:.2}");
    assert!(
        d_raw > d + 1.0,
        "output is no closer to converted ({d:.2}) than raw ({d_raw:.2})"
    );
}

#[test]
fn display_p3_is_converted_to_srgb() {
    let bytes = corpus_file("color/sharp_display_p3.png");
    let out = render_png(&bytes, 8);
    // Display P3 → sRGB, linear, D65 (both use the sRGB transfer curve).
    let m = [
        [1.22494, -0.22494, 0.0],
        [-0.04206, 1.04206, 0.0],
        [-0.01964, -0.07864, 1.09828],
    ];
    let want = reference(&bytes, srgb_decode, m, out.width(), out.height());
    let d = mean_abs_diff(&out, &want);
    assert!(d < 3.0, "difference from the reference conversion: {d:.2}");
}

#[test]
fn cmyk_comes_out_close_to_the_srgb_version_of_the_same_photo() {
    // thumbor ships one photo as sRGB (with ICC) and as CMYK (no ICC): the CMYK rendition
    // must look like the sRGB one (mean colour within a few levels, pixels close).
    let srgb = render_png(&corpus_file("color/th_giunchedi_srgb_icc.jpg"), 96);
    let cmyk = render_png(&corpus_file("color/th_giunchedi_cmyk.jpg"), 96);
    let (a, b) = (mean_rgb(&srgb), mean_rgb(&cmyk));
    for c in 0..3 {
        assert!(
            (a[c] - b[c]).abs() < 20.0,
            "channel {c}: {:.1} vs {:.1}",
            a[c],
            b[c]
        );
    }
    assert!(mean_abs_diff(&srgb, &cmyk) < 25.0);
}

#[test]
fn cmyk_with_and_without_profile_agree() {
    // sharp ships the same picture with a SWOP profile and without one.
    let with = render_png(&corpus_file("color/sharp_cmyk_with_icc.jpg"), 96);
    let without = render_png(&corpus_file("color/sharp_cmyk_no_icc.jpg"), 96);
    let d = mean_abs_diff(&with, &without);
    assert!(d < 30.0, "profile vs naive conversion differ by {d:.1}");
    // Both are real colour images, not black or inverted.
    let m = mean_rgb(&with);
    assert!(m.iter().all(|v| (30.0..230.0).contains(v)), "{m:?}");
    let cmyk_icc = render_png(&corpus_file("color/th_cmyk_icc.jpg"), 96);
    let m = mean_rgb(&cmyk_icc);
    assert!(m.iter().all(|v| (20.0..240.0).contains(v)), "{m:?}");
}

#[test]
fn grey_with_profile_stays_grey() {
    for file in [
        "color/sharp_grayscale_with_icc.jpg",
        "color/th_giunchedi_grayscale.jpg",
    ] {
        let bytes = corpus_file(file);
        let out = render_png(&bytes, 96);
        let max_chroma = out
            .pixels()
            .map(|p| p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]))
            .max()
            .unwrap();
        assert!(max_chroma <= 3, "{file}: chroma {max_chroma}");
        let raw = image::load_from_memory(&bytes).unwrap().to_luma8();
        let raw_mean = raw.pixels().map(|p| p[0] as f64).sum::<f64>() / raw.len() as f64;
        let m = mean_rgb(&out)[0];
        assert!(
            (m - raw_mean).abs() < 8.0,
            "{file}: {m:.1} vs {raw_mean:.1}"
        );
    }
}

/// The built-in transforms for still images (the rest are for video and PDF sources).
fn image_transforms() -> Vec<Arc<Transform>> {
    let catalogue = Catalogue::built_in(8192).unwrap();
    let images = catalogue.iter().filter(|t| t.accepts(MediaType::Jpeg));
    images.cloned().collect()
}

#[test]
fn every_format_gives_outputs_or_a_typed_unsupported_error() {
    let all = image_transforms();
    for (name, bytes) in corpus_dir("formats") {
        match Engine::default().render(&bytes, &all, Deadline::none()) {
            Ok(outs) => {
                assert_eq!(outs.len(), all.len(), "{name}");
                for o in outs {
                    let img = decode(&o.bytes);
                    assert_eq!((img.width(), img.height()), (o.width, o.height), "{name}");
                }
            }
            Err(EngineError::UnsupportedFormat(why)) => {
                assert!(
                    name.contains("unsupported"),
                    "{name} unexpectedly unsupported: {why}"
                );
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

fn assert_typed(name: &str, r: Result<Vec<derivd::engine::Rendition>, EngineError>) {
    if let Err(e) = r {
        assert!(!matches!(e, EngineError::Internal(_)), "{name}: {e}");
    }
}

#[test]
fn malformed_files_fail_cleanly_or_render() {
    let t = [png_fit(64)];
    for (name, bytes) in corpus_dir("malformed") {
        let r = Engine::default().render(&bytes, &t, Deadline::none());
        if name.starts_with("es_bad_exif") {
            assert!(
                r.is_ok(),
                "{name}: broken EXIF must not fail the job: {:?}",
                r.err()
            );
        }
        if name.contains("huge") {
            // 99.6 MP: just under the default 100 MP limit, so it must render.
            assert!(r.is_ok(), "{name}: {:?}", r.err());
        }
        if name.contains("giant") {
            assert!(
                matches!(r, Err(EngineError::LimitExceeded(_))),
                "{name}: {:?}",
                r.err()
            );
        }
        assert_typed(&name, r);
    }
}

#[test]
fn pixel_bombs_are_refused_from_the_header() {
    let engine = Engine::default();
    let giant = corpus_file("malformed/sharp_giant_20000x14000.jpg");
    assert!(matches!(
        engine.probe(&giant),
        Err(EngineError::LimitExceeded(_))
    ));
    // A PNG whose header claims 50,000 × 50,000 (2.5 GP) with almost no data behind it.
    let png = claimed_png(50_000, 50_000);
    assert!(matches!(
        engine.probe(&png),
        Err(EngineError::LimitExceeded(_))
    ));
    let r = engine.render(&png, &[png_fit(64)], Deadline::none());
    assert!(
        matches!(r, Err(EngineError::LimitExceeded(_))),
        "{:?}",
        r.err()
    );
    // Tighter configured limits apply too.
    let small = Engine::new(Limits {
        max_input_pixels: 1_000_000,
        ..Limits::default()
    });
    let photo = corpus_file("photos/es_jolla_3264x2448.jpg");
    assert!(matches!(
        small.probe(&photo),
        Err(EngineError::LimitExceeded(_))
    ));
    let few_bytes = Engine::new(Limits {
        max_input_bytes: 1000,
        ..Limits::default()
    });
    assert!(matches!(
        few_bytes.probe(&photo),
        Err(EngineError::LimitExceeded(_))
    ));
}

fn claimed_png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn truncated_prefixes_never_panic() {
    let t = [png_fit(32)];
    for file in [
        "formats/ir_progressive_650x470.jpg",
        "formats/wm_rgba_dice_800x600.png",
        "formats/sharp_lossy_alpha.webp",
        "formats/sharp_animated_squares_30f.gif",
        "formats/ir_mandrill_512.tiff",
        "color/sharp_cmyk_with_icc.jpg",
    ] {
        let bytes = corpus_file(file);
        for cut in [
            0,
            1,
            3,
            8,
            16,
            40,
            100,
            400,
            2000,
            bytes.len() / 3,
            bytes.len() - 1,
        ] {
            let r = Engine::default().render(&bytes[..cut.min(bytes.len())], &t, Deadline::none());
            assert_typed(&format!("{file}[..{cut}]"), r);
        }
    }
}

#[test]
fn every_default_transform_on_every_photo() {
    let all = image_transforms();
    for (name, bytes) in corpus_dir("photos") {
        let src = image::load_from_memory(&bytes).unwrap();
        let (w, h) = (src.width() as f64, src.height() as f64);
        let outs = Engine::default()
            .render(&bytes, &all, Deadline::none())
            .unwrap();
        for o in outs {
            let img = decode(&o.bytes);
            let (ow, oh) = (img.width(), img.height());
            let want = match o.transform.name.as_str() {
                "thumb-128" => (128, 128),
                n => {
                    let b = n.split('-').nth(1).unwrap().parse::<f64>().unwrap();
                    let s = (b / w).min(b / h).min(1.0);
                    ((w * s).round() as u32, (h * s).round() as u32)
                }
            };
            assert_eq!((ow, oh), want, "{name} {}", o.transform.name);
            let fmt = image::guess_format(&o.bytes).unwrap();
            assert_eq!(fmt.to_mime_type(), o.transform.output.format.mime());
        }
    }
}

#[test]
fn deadline_stops_the_job() {
    let bytes = corpus_file("photos/es_jolla_3264x2448.jpg");
    let past = Deadline::at(std::time::Instant::now());
    let r = Engine::default().render(&bytes, &[png_fit(64)], past);
    assert!(matches!(r, Err(EngineError::DeadlineExceeded(_))));
}

#[test]
fn transform_that_does_not_accept_the_type_is_a_typed_error() {
    let jpeg_only = transform(
        "jpeg-only",
        "description = \"t\"\naccepts = [\"image/jpeg\"]\n[output]\nformat = \"png\"\n\
         [resize]\nmode = \"fit\"\nwidth = 10\n",
    );
    let png = corpus_file("formats/wm_rgba_dice_800x600.png");
    let r = Engine::default().render(&png, &[jpeg_only], Deadline::none());
    assert!(matches!(r, Err(EngineError::NotAccepted { .. })));
}

#[test]
fn alpha_is_kept_in_png_and_flattened_in_jpeg() {
    let bytes = corpus_file("formats/wm_rgba_dice_800x600.png");
    let catalogue = Catalogue::built_in(8192).unwrap();
    let t = vec![
        catalogue.get("icon-64-png").unwrap().clone(),
        catalogue.get("thumb-256").unwrap().clone(),
    ];
    let outs = Engine::default()
        .render(&bytes, &t, Deadline::none())
        .unwrap();
    let icon = decode(&outs[0].bytes);
    assert!(icon.color().has_alpha());
    assert!(
        icon.to_rgba8().pixels().any(|p| p[3] < 128),
        "icon lost transparency"
    );
    let thumb = decode(&outs[1].bytes).to_rgb8();
    // Transparent corners become the white background.
    let corner = thumb.get_pixel(0, 0);
    assert!(corner.0.iter().all(|&v| v > 240), "{corner:?}");
}
