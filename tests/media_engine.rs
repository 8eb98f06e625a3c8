//! Video and PDF sources through the still path and the engine's cascade: the real clips
//! and PDFs of `tests/fixtures/media/` and clips generated with ffmpeg's lavfi sources.
//! Run: `cargo test --test media_engine` (needs ffmpeg and poppler-utils).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::clips::{self, read_fixture};
use common::stills::{decode, render};
use derivd::extract::Facts;

#[tokio::test]
async fn every_real_clip_gives_a_poster_of_its_shown_shape() {
    let cases = [
        ("ax_h264_faststart_1080x720.mp4", (640, 427)),
        ("ax_h264_ac3.mkv", (640, 427)),
        ("ax_bear_vp9_320x240.webm", (320, 240)),
        // Display matrix -90: stored 568×320, shown portrait.
        ("jz_iphone4s_portrait_rot90.mov", (320, 568)),
        // 5 frames, 0.1 s: `at = "1s"` falls back to the last frames; HLG, rotated.
        ("ax_iphone14pro_hevc_hlg_0.1s.mov", (360, 640)),
    ];
    for (name, (w, h)) in cases {
        let (facts, out) = render(read_fixture(name), &["poster-640"], &BTreeMap::new()).await;
        let (r, used) = &out[0];
        assert_eq!((r.width, r.height), (w, h), "{name}");
        let img = decode(r);
        assert_eq!(img.dimensions(), (w, h));
        assert_eq!(used.rule, "at=1s");
        let Facts::Video(v) = facts else { panic!() };
        assert!(
            v.duration_seconds > 0.0 && v.frames_per_second > 0.0,
            "{name}: {v:?}"
        );
        assert!(!v.codec.is_empty());
    }
}

#[tokio::test]
async fn outputs_sharing_a_rule_share_one_extraction() {
    let names = ["poster-640", "poster-best-320"];
    let (_, out) = render(
        read_fixture("ax_bear_vp9_320x240.webm"),
        &names,
        &BTreeMap::new(),
    )
    .await;
    let rules: Vec<&str> = out.iter().map(|(_, u)| u.rule.as_str()).collect();
    assert_eq!(rules.len(), 2);
    assert!(rules.contains(&"at=1s") && rules.contains(&"at=best"));
    assert_eq!(
        out.iter()
            .find(|(_, u)| u.rule == "at=1s")
            .unwrap()
            .1
            .at_seconds,
        Some(1.0)
    );
}

#[tokio::test]
async fn best_skips_black_and_is_reused_once_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let clip = clips::black_then_bars(dir.path());
    let (_, out) = render(clip.clone(), &["poster-best-320"], &BTreeMap::new()).await;
    let (r, used) = &out[0];
    let at = used.at_seconds.unwrap();
    assert!(at >= 2.0, "best chose {at} s, inside the black part");
    let mean = clips::mean_rgb(decode(r).as_raw());
    assert!(
        mean.iter().sum::<f64>() / 3.0 > 60.0,
        "poster is dark: {mean:?}"
    );
    // A recorded choice is taken as it is (a repair makes the same frame).
    let recorded = BTreeMap::from([("at=best".to_string(), 0.5)]);
    let (_, again) = render(clip, &["poster-best-320"], &recorded).await;
    assert_eq!(again[0].1.at_seconds, Some(0.5));
    let dark = clips::mean_rgb(decode(&again[0].0).as_raw());
    assert!(dark.iter().all(|c| *c < 30.0), "{dark:?}");
}

#[tokio::test]
async fn a_rotation_tag_gives_an_upright_poster_like_ffmpegs_own() {
    let dir = tempfile::tempdir().unwrap();
    let clip = clips::rotated_clip(dir.path());
    let (facts, out) = render(clip, &["poster-640"], &BTreeMap::new()).await;
    let Facts::Video(v) = facts else { panic!() };
    assert_eq!(
        (v.width, v.height, v.display_width, v.display_height),
        (320, 180, 180, 320)
    );
    assert!(v.rotation == 90 || v.rotation == 270, "{v:?}");
    let img = decode(&out[0].0);
    assert_eq!(img.dimensions(), (180, 320));
    // ffmpeg's own display of the clip has its white half on one side: so must ours.
    let left = img.get_pixel(20, 160)[0];
    let right = img.get_pixel(160, 160)[0];
    let white_left = v.rotation == 270;
    assert_eq!(
        left > 200,
        white_left,
        "left {left} right {right} rot {}",
        v.rotation
    );
    assert_eq!(right > 200, !white_left);
}

#[tokio::test]
async fn pdf_pages_rasterise_at_the_size_of_the_largest_output() {
    let names = ["page-preview-1024", "page-thumb-256"];
    let (facts, out) = render(
        read_fixture("pysf_libreoffice_1page_text.pdf"),
        &names,
        &BTreeMap::new(),
    )
    .await;
    let Facts::Pdf(p) = facts else { panic!() };
    assert_eq!(
        (p.pages, p.page_width_pt.round(), p.page_height_pt.round()),
        (1, 595.0, 842.0)
    );
    let dims: BTreeMap<&str, (u32, u32)> = out
        .iter()
        .map(|(r, _)| (r.transform.name.as_str(), (r.width, r.height)))
        .collect();
    assert_eq!(dims["page-preview-1024"], (724, 1024));
    assert_eq!(dims["page-thumb-256"], (181, 256));
    // A text page: white paper, dark ink.
    let mean = clips::mean_rgb(decode(&out[0].0).as_raw());
    assert!(mean.iter().all(|c| *c > 200.0), "{mean:?}");
}

#[tokio::test]
async fn pdf_rotate_and_a_huge_page_come_out_right_and_small() {
    let (_, out) = render(
        read_fixture("pdfjs_rotate90_a4.pdf"),
        &["page-thumb-256"],
        &BTreeMap::new(),
    )
    .await;
    assert_eq!(
        (out[0].0.width, out[0].0.height),
        (256, 181),
        "/Rotate 90 is landscape"
    );
    let started = Instant::now();
    let (facts, out) = render(
        read_fixture("pdfjs_a0_2384x3370pt_rot90.pdf"),
        &["page-thumb-256"],
        &BTreeMap::new(),
    )
    .await;
    let Facts::Pdf(p) = facts else { panic!() };
    assert_eq!(p.rotate, 90);
    assert_eq!((out[0].0.width, out[0].0.height), (256, 181));
    assert!(started.elapsed() < Duration::from_secs(10));
}
