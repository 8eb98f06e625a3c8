//! Subject-aware crops (issue 14): `gravity = "attention"` / `"entropy"` for `fill`, and a
//! focal point in the job message that wins over gravity, is kept in the manifest, is part
//! of a fill object's identity, and is what repairs crop at.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::images::{corpus_file, decode};
use common::service::{embedded_config, eventually};
use derivd::catalogue::{Catalogue, Transform};
use derivd::engine::geometry::Focus;
use derivd::engine::{Deadline, Engine, RenderOptions};
use derivd::storage::{PutRequest, StorageClass};
use image::{DynamicImage, Rgb, RgbImage};

const WAIT: Duration = Duration::from_secs(60);

fn fill(gravity: &str) -> Arc<Transform> {
    let toml = format!(
        "description = \"square\"\naccepts = [\"image/*\"]\n[output]\nformat = \"png\"\n\
         [resize]\nmode = \"fill\"\nwidth = 128\nheight = 128\ngravity = \"{gravity}\"\n"
    );
    Arc::new(Transform::parse("square", &toml, 8192).unwrap())
}

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// 600×300, a soft grey gradient with a busy red/blue/skin-toned subject in its
/// top-left corner (x, y in 10..70).
fn corner_subject() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(600, 300, |x, y| {
        if (10..70).contains(&x) && (10..70).contains(&y) {
            match (x / 4 + y / 4) % 3 {
                0 => Rgb([220, 30, 30]),
                1 => Rgb([30, 40, 210]),
                _ => Rgb([225, 170, 140]),
            }
        } else {
            let v = 110 + (x / 40) as u8;
            Rgb([v, v, v])
        }
    }))
}

fn render(bytes: &[u8], t: Arc<Transform>, focus: Option<Focus>) -> DynamicImage {
    let opts = RenderOptions {
        placeholders: false,
        focus,
    };
    let r = Engine::default()
        .render_all(bytes, &[t], Deadline::none(), &opts)
        .unwrap();
    decode(&r.renditions[0].bytes)
}

/// Pixels of `img` far from grey (the subject's), as a share of all.
fn subject_share(img: &DynamicImage) -> f64 {
    let rgb = img.to_rgb8();
    let coloured = rgb.pixels().filter(|p| {
        let (max, min) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
        max - min > 60
    });
    coloured.count() as f64 / (rgb.width() * rgb.height()) as f64
}

/// Standard deviation of the luma: how much picture, as opposed to flat canvas, a crop has.
fn detail(img: &DynamicImage) -> f64 {
    let l = img.to_luma8();
    let n = l.pixels().len() as f64;
    let mean = l.pixels().map(|p| p[0] as f64).sum::<f64>() / n;
    (l.pixels()
        .map(|p| (p[0] as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

#[test]
fn attention_and_entropy_find_a_subject_the_centre_crop_misses() {
    let bytes = png(&corner_subject());
    let centre = render(&bytes, fill("center"), None);
    assert_eq!(
        subject_share(&centre),
        0.0,
        "the centre crop must miss the subject"
    );
    for g in ["attention", "entropy"] {
        let out = render(&bytes, fill(g), None);
        assert_eq!(out.width(), 128);
        // The whole 60×60 subject in a 300×300 crop is 4 % of it.
        let share = subject_share(&out);
        assert!(share > 0.03, "{g}: subject share {share}");
    }
}

#[test]
fn a_corpus_photo_on_a_wide_canvas_is_found() {
    // A real photo at the left of a flat canvas three times as wide: the centre square is
    // all canvas, the attention square must be the photo.
    let photo = decode(&corpus_file("photos/es_jolla_3264x2448.jpg"))
        .resize_exact(1000, 750, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut canvas = RgbImage::from_pixel(3000, 1000, Rgb([128, 128, 128]));
    image::imageops::replace(&mut canvas, &photo, 0, 125);
    let bytes = png(&DynamicImage::ImageRgb8(canvas));
    let centre = detail(&render(&bytes, fill("center"), None));
    assert!(centre < 1.0, "centre crop should be flat canvas: {centre}");
    for g in ["attention", "entropy"] {
        let out = render(&bytes, fill(g), None);
        let d = detail(&out);
        assert!(d > 20.0, "{g}: detail {d}");
        // Mostly photo: its top and bottom eighths are canvas, the rest picture.
        let rows_with_picture = (0..128)
            .filter(|&y| (0..128).any(|x| out.to_rgb8().get_pixel(x, y).0 != [128, 128, 128]))
            .count();
        assert!(
            rows_with_picture > 90,
            "{g}: {rows_with_picture} rows of picture"
        );
    }
}

#[test]
fn a_focus_wins_over_gravity() {
    let bytes = png(&corner_subject());
    let focus = Focus::new(40.0 / 600.0, 40.0 / 300.0);
    for g in ["center", "east", "attention"] {
        let out = render(&bytes, fill(g), focus);
        let share = subject_share(&out);
        assert!(share > 0.03, "{g}: subject share {share}");
    }
    // Fractions outside 0..=1 are not a focus.
    assert!(Focus::new(1.2, 0.5).is_none() && Focus::new(f64::NAN, 0.5).is_none());
}

/// Embedded service: a job's focus is kept in the manifest, a job without one keeps it, a
/// repair reproduces the focal-point crop, and a new focus remakes the fill objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_focus_is_kept_used_by_repairs_and_part_of_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = embedded_config(dir.path());
    cfg.queue.repair = Some("derivd-repair".into());
    let svc = start_with_square(cfg).await;
    let (store, src) = (svc.app.store.clone(), "uploads/corner.png");
    let put = PutRequest {
        key: src.into(),
        bytes: png(&corner_subject()).into(),
        content_type: "image/png".into(),
        storage_class: StorageClass::Standard,
        cache_control: None,
        metadata: Default::default(),
        condition: Default::default(),
    };
    store.put("derivd", put).await.unwrap();
    let key = format!("derived/{src}/square.png");
    let jobs = svc.app.jobs.clone();
    let send = |job: serde_json::Value| {
        let jobs = jobs.clone();
        async move { jobs.send(&job.to_string()).await.unwrap() }
    };
    let manifest = || async {
        let layout = derivd::keys::KeyLayout::default();
        let m = derivd::manifest::read(store.as_ref(), "derivd", &layout, src).await;
        m.unwrap().map(|(m, _)| m)
    };
    let object = || async { store.get("derivd", &key).await.unwrap() };

    send(serde_json::json!({"source": src, "transforms": ["square"], "focus": {"x": 0.0667, "y": 0.1333}})).await;
    let first = eventually(WAIT, "focus crop", object).await;
    assert!(subject_share(&decode(&first.bytes)) > 0.03);
    let m = eventually(WAIT, "manifest", manifest).await;
    assert_eq!(m.focus, Focus::new(0.0667, 0.1333));

    // A job without a focus: the object is current at the stored focus.
    send(serde_json::json!({"source": src, "transforms": ["square", "thumb-256"]})).await;
    eventually(WAIT, "second job", || async {
        manifest()
            .await
            .filter(|m| m.derived.contains_key("thumb-256"))
    })
    .await;
    let made = common::service::metric(&svc.app, "derivd_derived_objects_total", &["\"square\""]);
    assert_eq!(made, 1.0, "rewritten though current at the stored focus");

    // Lost and repaired: the same focal-point crop, byte for byte.
    store.delete("derivd", &key).await.unwrap();
    let repair = svc.app.repair.clone().unwrap();
    let lost = derivd::repair::lost_object_event("derivd", &key);
    repair.send(&lost).await.unwrap();
    let back = eventually(WAIT, "repaired", object).await;
    assert_eq!(
        back.bytes, first.bytes,
        "the repair did not crop at the focus"
    );

    // A new focus (bottom right: canvas only) makes the fill stale and remakes it.
    send(
        serde_json::json!({"source": src, "transforms": ["square"], "focus": {"x": 0.9, "y": 0.9}}),
    )
    .await;
    let moved = eventually(WAIT, "new focus crop", || async {
        object().await.filter(|o| o.bytes != first.bytes)
    })
    .await;
    assert_eq!(subject_share(&decode(&moved.bytes)), 0.0);
    assert_eq!(manifest().await.unwrap().focus, Focus::new(0.9, 0.9));
    svc.stop().await;
}

async fn start_with_square(cfg: derivd::config::Config) -> common::service::Running {
    let thumb = Catalogue::built_in(8192)
        .unwrap()
        .get("thumb-256")
        .unwrap()
        .as_ref()
        .clone();
    let cat = Catalogue::from_transforms(vec![(*fill("center")).clone(), thumb]);
    common::service::start_with(cfg, cat, false).await
}
