//! The engine against hostile and broken input: every case gets its typed error (or, where
//! the policy is to render, a rendition), fast, and nothing panics (a panic would come back
//! as `EngineError::Internal` from the engine's guard, which every case rules out).
//!
//! The inputs are built here (`common/bombs.rs`), none stored: a 1 px PNG whose profile
//! inflates to 700 MB, a progressive 8000² JPEG with its first AC scan repeated 3,000 times,
//! 50,000² header bombs, a 5,000-frame GIF. Peak memory of the bombs is measured in
//! `tests/engine_memory.rs`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::bombs;
use common::images::{corpus_file, decode};
use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, EngineError, Limits, Rendition};

fn transform(toml: &str) -> Arc<Transform> {
    Arc::new(Transform::parse("t", toml, 8192).unwrap())
}

/// A 64 px PNG (lossless, so the pixels can be checked).
fn small_png() -> Arc<Transform> {
    transform(
        "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"png\"\n\
         [resize]\nmode = \"fit\"\nwidth = 64\nheight = 64\n",
    )
}

fn render(bytes: &[u8]) -> Result<Vec<Rendition>, EngineError> {
    Engine::default().render(bytes, &[small_png()], Deadline::none())
}

/// Both entry points give `kind` for `bytes`, each within `within`.
fn refused(bytes: &[u8], kind: &str, within: Duration) {
    let started = Instant::now();
    let probe = Engine::default().probe(bytes);
    let probe_time = started.elapsed();
    let started = Instant::now();
    let rendered = render(bytes);
    let render_time = started.elapsed();
    for (what, r, took) in [
        ("probe", probe.err(), probe_time),
        ("render", rendered.err(), render_time),
    ] {
        let e = r.unwrap_or_else(|| panic!("{what}: accepted, expected {kind}"));
        assert_eq!(e.kind(), kind, "{what}: {e}");
        assert!(took < within, "{what} took {took:?} (over {within:?}): {e}");
    }
}

#[test]
fn an_empty_source_is_not_an_image() {
    refused(b"", "unsupported_format", Duration::from_secs(1));
}

#[test]
fn a_bmp_is_unsupported() {
    let mut bmp = b"BM".to_vec();
    bmp.extend(70u32.to_le_bytes());
    bmp.resize(70, 0);
    refused(&bmp, "unsupported_format", Duration::from_secs(1));
}

#[test]
fn a_jpeg_cut_in_its_header_is_corrupt_and_cut_in_its_data_renders() {
    let photo = corpus_file("photos/es_jolla_3264x2448.jpg");
    // Inside the EXIF segment: no frame header at all.
    refused(&photo[..300], "corrupt", Duration::from_secs(2));
    // Inside the entropy-coded data: libjpeg-turbo fills the rest grey, as libvips does.
    let half = render(&photo[..photo.len() / 2]).expect("half a photo renders");
    assert_eq!((half[0].width, half[0].height), (64, 48));
}

#[test]
fn header_bombs_are_refused_before_decoding() {
    let within = Duration::from_secs(1);
    refused(
        &bombs::png_claiming(50_000, 50_000),
        "limit_exceeded",
        within,
    );
    refused(
        &bombs::jpeg_claiming(50_000, 50_000),
        "limit_exceeded",
        within,
    );
    refused(
        &bombs::tiff_claiming(50_000, 50_000),
        "limit_exceeded",
        within,
    );
}

/// libtiff reads from memory only; a TIFF whose header is cut, whose first directory lies
/// past the end, or whose 64 MP strip has 8 bytes behind it is corrupt, and fast.
#[test]
fn broken_tiffs_are_corrupt() {
    let within = Duration::from_secs(2);
    let claims = bombs::tiff_claiming(8000, 8000);
    refused(&claims[..12], "corrupt", within);
    let mut lost = claims.clone();
    lost[4..8].copy_from_slice(&10_000u32.to_le_bytes());
    refused(&lost, "corrupt", within);
    // Under the pixel limit, so probed fine; the decode then finds no data.
    assert!(Engine::default().probe(&claims).is_ok());
    let e = render(&claims).unwrap_err();
    assert_eq!(e.kind(), "corrupt", "{e}");
    // The same file with its 8 bytes as the whole image renders.
    let tiny = render(&bombs::tiff_claiming(4, 2)).expect("a 4×2 TIFF renders");
    assert_eq!(
        (tiny[0].width, tiny[0].height),
        (4, 2),
        "fit never enlarges"
    );
}

/// issue 15, item 1: the profile inflated to 700 MB inside the probe, before any memory was
/// reserved. Now it is measured (inflated into a counter, stopping past the cap) and the
/// source refused; `engine_memory.rs` shows the peak stays small.
#[test]
fn a_png_profile_inflate_bomb_is_refused_before_inflating() {
    let bomb = bombs::png_iccp_bomb(700 << 20);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    refused(&bomb, "limit_exceeded", Duration::from_secs(2));
    // A profile under the cap is read (and, being no real profile, ignored as corrupt).
    let fine = bombs::png_iccp_bomb(1 << 20);
    assert_eq!(render(&fine).unwrap()[0].width, 1);
    // The cap is configurable.
    let strict = Engine::new(Limits {
        max_metadata_bytes: 512 << 10,
        ..Limits::default()
    });
    assert_eq!(strict.probe(&fine).unwrap_err().kind(), "limit_exceeded");
}

#[test]
fn jpeg_icc_chunks_over_the_cap_are_refused() {
    let base = corpus_file("photos/wm_The_Poppet_3996x2140_q40.jpg");
    let big = bombs::jpeg_with_icc(&base, 5 << 20);
    refused(&big, "limit_exceeded", Duration::from_secs(2));
}

/// issue 15, item 2: 3,001 scans passed libjpeg-turbo's 500-scan limit because its error
/// sent the file to `jpeg-decoder`, which has none (28 s of CPU). Now the scans are counted
/// before either decoder runs.
#[test]
fn a_progressive_scan_bomb_is_refused_fast() {
    let jpeg = bombs::progressive_jpeg(8000, 8000);
    let normal = bombs::jpeg_scans(&jpeg);
    assert!((2..=12).contains(&normal), "{normal} scans");
    let bomb = bombs::scan_bomb(&jpeg, 3000);
    assert_eq!(bombs::jpeg_scans(&bomb), normal + 3000);
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    refused(&bomb, "limit_exceeded", Duration::from_secs(1));
    // Within a raised limit it is a (slow, legal) image again: the limit is what refused it.
    let lenient = Engine::new(Limits {
        max_jpeg_scans: 5000,
        ..Limits::default()
    });
    let few = bombs::scan_bomb(&bombs::progressive_jpeg(64, 64), 600);
    assert!(lenient.probe(&few).is_ok());
    assert_eq!(
        Engine::default().probe(&few).unwrap_err().kind(),
        "limit_exceeded"
    );
    // The unmodified progressive file renders.
    assert_eq!(render(&jpeg).unwrap()[0].width, 64);
}

/// The same bomb on a baseline file. A baseline photo can have one scan only, so its scans
/// are not counted up front (that walk would cost 1 % of a thumbnail job): libjpeg-turbo
/// decodes the first and stops at the second; the count runs before `jpeg-decoder` could
/// take over, and refuses.
#[test]
fn a_baseline_scan_bomb_is_refused_before_the_fallback_decodes_it() {
    // 4 MP: libjpeg-turbo's one pass over the first scan is milliseconds even on a loaded
    // machine, while jpeg-decoder would decode all 3,001 full scans (minutes).
    let jpeg = bombs::grey_jpeg(2000, 2000, false);
    assert_eq!(bombs::jpeg_scans(&jpeg), 1);
    let started = Instant::now();
    let r = render(&bombs::repeat_scan(&jpeg, 0, 3000));
    assert_eq!(r.unwrap_err().kind(), "limit_exceeded");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Under the limit it is still no baseline JPEG: a second scan is corrupt data.
    let two = render(&bombs::repeat_scan(&bombs::grey_jpeg(64, 64, false), 0, 1));
    assert_eq!(two.unwrap_err().kind(), "corrupt");
}

#[test]
fn a_gif_of_5000_frames_renders_its_first_frame() {
    let gif = bombs::many_frame_gif(5000);
    let started = Instant::now();
    let out = render(&gif).expect("renders");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let img = decode(&out[0].bytes).to_rgb8();
    assert_eq!(img.dimensions(), (4, 4));
    assert!(
        img.pixels().all(|p| p.0 == [255, 0, 0]),
        "first frame is red"
    );
}
