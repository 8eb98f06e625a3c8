//! Placeholders (issue 14): ThumbHash, BlurHash and the dominant colour of a source, made
//! in the same render as its derived objects. Each hash is decoded back with the crates'
//! own decoders and compared with the image it stands for.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::images::{corpus_file, decode, mean_abs_diff};
use derivd::catalogue::{Catalogue, Transform};
use derivd::engine::{Deadline, Engine, Placeholders, RenderOptions};
use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};

fn transforms(names: &[&str]) -> Vec<Arc<Transform>> {
    let cat = Catalogue::built_in(8192).unwrap();
    names.iter().map(|n| cat.get(n).unwrap().clone()).collect()
}

fn with_placeholders() -> RenderOptions {
    RenderOptions {
        placeholders: true,
        focus: None,
    }
}

fn placeholders(bytes: &[u8], names: &[&str]) -> Placeholders {
    let r = Engine::default()
        .render_all(
            bytes,
            &transforms(names),
            Deadline::none(),
            &with_placeholders(),
        )
        .unwrap();
    assert_eq!(r.renditions.len(), names.len());
    r.placeholders.expect("asked for")
}

/// The ThumbHash decoded (at its own small size) as RGB.
fn thumbhash_image(p: &Placeholders) -> RgbImage {
    let hash = base64::engine::general_purpose::STANDARD
        .decode(&p.thumbhash)
        .unwrap();
    let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
    DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w as u32, h as u32, rgba).unwrap())
        .to_rgb8()
}

fn blurhash_image(p: &Placeholders, w: u32, h: u32) -> RgbImage {
    let rgba = blurhash::decode(&p.blurhash, w, h, 1.0).unwrap();
    DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, rgba).unwrap()).to_rgb8()
}

/// Mean colour of columns `x0..x1` of `img`.
fn mean_cols(img: &RgbImage, x0: u32, x1: u32) -> [f64; 3] {
    let mut s = [0.0; 3];
    let mut n = 0.0;
    for y in 0..img.height() {
        for x in x0..x1 {
            let p = img.get_pixel(x, y);
            for c in 0..3 {
                s[c] += p[c] as f64;
            }
            n += 1.0;
        }
    }
    s.map(|v| v / n)
}

/// 300×200, red on the left 60 %, blue on the right.
fn red_blue() -> RgbImage {
    RgbImage::from_fn(300, 200, |x, _| {
        if x < 180 {
            image::Rgb([255, 0, 0])
        } else {
            image::Rgb([0, 0, 255])
        }
    })
}

fn encode(img: &RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn assert_red_left_blue_right(img: &RgbImage, what: &str) {
    let w = img.width();
    let left = mean_cols(img, 0, w / 4);
    let right = mean_cols(img, w - w / 4, w);
    // BlurHash's four cosines blur the edge, so judge each side by which colour wins.
    assert!(
        left[0] > 150.0 && left[0] > left[2] + 100.0,
        "{what}: left {left:?}"
    );
    assert!(
        right[2] > 150.0 && right[2] > right[0] + 100.0,
        "{what}: right {right:?}"
    );
}

#[test]
fn a_red_blue_split_decodes_red_on_the_left_and_blue_on_the_right() {
    // JPEG with JPEG outputs takes the YCbCr path; PNG the RGB one; the fill-only job has
    // no whole-frame output, so its preview comes from the decode.
    for (format, names) in [
        (image::ImageFormat::Jpeg, &["thumb-256", "thumb-128"][..]),
        (image::ImageFormat::Png, &["thumb-256"][..]),
        (image::ImageFormat::Jpeg, &["thumb-128"][..]),
    ] {
        let what = format!("{format:?} {names:?}");
        let p = placeholders(&encode(&red_blue(), format), names);
        assert_red_left_blue_right(&thumbhash_image(&p), &format!("thumbhash {what}"));
        assert_red_left_blue_right(&blurhash_image(&p, 60, 40), &format!("blurhash {what}"));
        let hex = u32::from_str_radix(&p.dominant_color[1..], 16).unwrap();
        let (r, g, b) = (hex >> 16, (hex >> 8) & 0xff, hex & 0xff);
        assert!(
            r > 230 && g < 30 && b < 30,
            "dominant {what}: {}",
            p.dominant_color
        );
        // ThumbHash keeps the aspect ratio (3:2).
        let t = thumbhash_image(&p);
        let aspect = t.width() as f64 / t.height() as f64;
        assert!((aspect - 1.5).abs() < 0.2, "aspect {what}: {aspect}");
    }
}

/// How far the decoded hashes are from `img` itself, and from `img` mirrored (which a
/// hash that ignored layout would match as well).
fn distances(p: &Placeholders, img: &DynamicImage) -> ([f64; 2], [f64; 2]) {
    let t = thumbhash_image(p);
    let b = blurhash_image(p, 32, 24);
    let at = |w, h, i: &DynamicImage| i.resize_exact(w, h, FilterType::Triangle).to_rgb8();
    let mirrored = img.fliph();
    let own = [
        mean_abs_diff(&t, &at(t.width(), t.height(), img)),
        mean_abs_diff(&b, &at(32, 24, img)),
    ];
    let mirror = [
        mean_abs_diff(&t, &at(t.width(), t.height(), &mirrored)),
        mean_abs_diff(&b, &at(32, 24, &mirrored)),
    ];
    (own, mirror)
}

#[test]
fn a_corpus_photos_hashes_decode_close_to_the_photo() {
    let bytes = corpus_file("photos/es_jolla_3264x2448.jpg");
    let p = placeholders(&bytes, &["web-1024", "thumb-256", "thumb-128"]);
    let (own, mirror) = distances(&p, &decode(&bytes));
    for (i, name) in ["thumbhash", "blurhash"].iter().enumerate() {
        assert!(own[i] < 28.0, "{name}: {own:?}");
        assert!(
            own[i] < mirror[i],
            "{name}: own {own:?} vs mirrored {mirror:?}"
        );
    }
    assert!(p.dominant_color.len() == 7 && p.dominant_color.starts_with('#'));
}

#[test]
fn placeholders_are_of_the_upright_image() {
    // The same picture stored in each of the eight EXIF orientations: every hash decodes
    // to about the same (upright) image.
    let upright = placeholders(&corpus_file("orientation/Landscape_1.jpg"), &["thumb-256"]);
    let reference = thumbhash_image(&upright);
    for o in 2..=8 {
        let file = format!("orientation/Landscape_{o}.jpg");
        let p = placeholders(&corpus_file(&file), &["thumb-256"]);
        let t = thumbhash_image(&p);
        assert_eq!(t.dimensions(), reference.dimensions(), "{file}");
        let d = mean_abs_diff(&t, &reference);
        assert!(d < 6.0, "{file}: {d}");
    }
}

#[test]
fn placeholders_are_made_only_when_asked() {
    let bytes = encode(&red_blue(), image::ImageFormat::Png);
    let r = Engine::default()
        .render_all(
            &bytes,
            &transforms(&["thumb-256"]),
            Deadline::none(),
            &RenderOptions::default(),
        )
        .unwrap();
    assert!(r.placeholders.is_none());
}

/// The embedded backend: the notice carries the facts, `GET /v1/sources/{key}` serves
/// them, and an up-to-date job's notice still carries them (from the manifest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_and_the_sources_route_carry_the_facts() {
    use common::service::{embedded_config, eventually, start};
    use derivd::storage::{PutRequest, StorageClass};
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    let token = "s3cret-token-0123456789";
    cfg.http.auth_token = Some(token.into());
    let svc = start(cfg, true).await;
    let source = "uploads/a photo+ü.jpg";
    let put = PutRequest {
        key: source.into(),
        bytes: corpus_file("photos/es_jolla_3264x2448.jpg").into(),
        content_type: "image/jpeg".into(),
        storage_class: StorageClass::Standard,
        cache_control: None,
        metadata: Default::default(),
        condition: Default::default(),
    };
    svc.app.store.put("derivd", put).await.unwrap();
    let notices = || {
        std::fs::read_to_string(dir.path().join("notices.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let job = |id: &str| {
        serde_json::json!({"source": source, "transforms": ["thumb-256", "web-1024"], "id": id})
            .to_string()
    };
    svc.app.jobs.send(&job("first")).await.unwrap();
    let wait = std::time::Duration::from_secs(60);
    let n = eventually(wait, "notice", || async { notices().pop() }).await;
    assert_eq!(n["status"], "ok", "{n}");
    let facts = (3264, 2448, "image/jpeg");
    let base = svc.url("");
    let doc = common::facts::check(
        &base,
        Some(token),
        source,
        &n,
        facts,
        &["thumb-256", "web-1024"],
    )
    .await;

    svc.app.jobs.send(&job("again")).await.unwrap();
    let again = eventually(wait, "second notice", || async {
        notices().into_iter().find(|n| n["id"] == "again")
    })
    .await;
    assert!(again["derived"].as_array().unwrap().is_empty(), "{again}");
    assert_eq!(again["facts"]["placeholders"], doc["placeholders"]);
    svc.stop().await;
}
