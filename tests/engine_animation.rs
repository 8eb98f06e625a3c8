//! Animated sources (`animation = "keep"`, `src/engine/anim/`): animated WebP out of
//! animated GIF, WebP and APNG, read back by libwebp's `webpmux` (frames, durations, loop
//! count, canvas); the frame limits enforced before any decode; `animation = "first"`
//! (the default) unchanged.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::anim::{gif_with_undecodable_frames, parse_info, webpmux_info, WebpInfo};
use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, EngineError, Limits, RenderOptions};

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/animation")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn transform(name: &str, animation: &str, format: &str, size: u32, extra: &str) -> Arc<Transform> {
    let text = format!(
        "description = \"t\"\naccepts = [\"image/*\"]\n{animation}{extra}\
         [output]\nformat = \"{format}\"\n[resize]\nmode = \"fit\"\nwidth = {size}\nheight = {size}\n"
    );
    Arc::new(Transform::parse(name, &text, 8192).unwrap())
}

fn keep(size: u32) -> Arc<Transform> {
    transform(
        &format!("keep-{size}"),
        "animation = \"keep\"\n",
        "webp",
        size,
        "",
    )
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(120))
}

/// Source frames' durations and loop count, as Pillow reads them
/// (`ImageSequence`, `info["duration"]`, `info["loop"]`), and webpmux for the WebP.
fn source_timing(name: &str) -> (Vec<u32>, u32) {
    match name {
        "ir_apng_ball.png" => (vec![75; 20], 0),
        "sharp_animated_squares_30f.gif" => (vec![30; 30], 0),
        "sharp_animated.webp" => (vec![120, 120, 90, 120, 120, 90, 120, 90, 30], 0),
        other => panic!("{other}"),
    }
}

#[test]
fn animated_sources_become_animated_webp_with_their_timing_and_loop_count() {
    let engine = Engine::default();
    for name in [
        "ir_apng_ball.png",
        "sharp_animated_squares_30f.gif",
        "sharp_animated.webp",
    ] {
        let src = fixture(name);
        let (durations, loops) = source_timing(name);
        let (sw, sh) = image::load_from_memory(&src)
            .map(|i| (i.width(), i.height()))
            .unwrap();
        // The source's size (nothing to shrink) and a thumbnail, from one pass.
        let out = engine
            .render(&src, &[keep(256), keep(40)], deadline())
            .unwrap();
        let sizes = [(sw, sh), (40, 40 * sh / sw)];
        for (r, size) in out.iter().zip(sizes) {
            let info = webpmux_info(&r.bytes);
            assert!(info.animated, "{name}: {info:?}");
            assert_eq!((info.canvas, (r.width, r.height)), (size, size), "{name}");
            assert_eq!(info.loops, loops, "{name}");
            // libwebp merges a frame (nearly) identical to the one before into it, adding
            // up their durations: every frame boundary it keeps is one of the source's, and
            // the whole animation lasts as long.
            let ends = |d: &[u32]| {
                d.iter()
                    .scan(0, |t, d| {
                        *t += d;
                        Some(*t)
                    })
                    .collect::<Vec<_>>()
            };
            let (src_ends, out_ends) = (ends(&durations), ends(&info.durations));
            assert_eq!(out_ends.last(), src_ends.last(), "{name}: {info:?}");
            assert!(
                out_ends.iter().all(|t| src_ends.contains(t)),
                "{name}: {info:?}"
            );
            assert!(info.durations.len() >= 9, "{name}: {info:?}");
        }
    }
}

#[test]
fn every_distinct_frame_is_kept_in_order() {
    // The ball moves in each of the APNG's 20 frames: all 20 come out, 75 ms each.
    let src = fixture("ir_apng_ball.png");
    let out = Engine::default()
        .render(&src, &[keep(64)], deadline())
        .unwrap();
    let info = webpmux_info(&out[0].bytes);
    assert_eq!(info.durations, vec![75; 20], "{info:?}");
}

#[test]
fn the_default_takes_the_first_frame_as_before() {
    let engine = Engine::default();
    let src = fixture("sharp_animated_squares_30f.gif");
    let plain = transform("plain", "", "webp", 64, "");
    let first = transform("first", "animation = \"first\"\n", "webp", 64, "");
    assert_eq!(plain.digest, first.digest);
    let a = engine.render(&src, &[plain], deadline()).unwrap();
    let b = engine.render(&src, &[first], deadline()).unwrap();
    assert_eq!(a[0].bytes, b[0].bytes);
    let info = webpmux_info(&a[0].bytes);
    assert!(!info.animated && info.durations.is_empty(), "{info:?}");
}

#[test]
fn under_keep_other_formats_take_the_first_frame_from_the_same_pass() {
    let engine = Engine::default();
    let src = fixture("ir_apng_ball.png");
    let variants = "variants = [\"webp\", \"jpeg\"]\n";
    let kept = transform("v", "animation = \"keep\"\n", "webp", 64, variants);
    let still = transform("v", "", "webp", 64, variants);
    let (kept, still) = (kept.expand(), still.expand());
    let opts = RenderOptions {
        placeholders: true,
        ..Default::default()
    };
    let a = engine.render_all(&src, &kept, deadline(), &opts).unwrap();
    let b = engine.render_all(&src, &still, deadline(), &opts).unwrap();
    assert!(webpmux_info(&a.renditions[0].bytes).animated);
    assert!(!webpmux_info(&b.renditions[0].bytes).animated);
    assert_eq!(
        a.renditions[1].bytes, b.renditions[1].bytes,
        "the JPEG is the first frame, as before"
    );
    assert_eq!(
        a.placeholders, b.placeholders,
        "placeholders from the first frame"
    );
    // A still source under keep renders as it always did.
    let one = gif_with_undecodable_frames(1);
    let a = engine.render(&one, &kept, deadline()).unwrap();
    let b = engine.render(&one, &still, deadline()).unwrap();
    assert_eq!(a[0].bytes, b[0].bytes);
    assert!(!webpmux_info(&a[0].bytes).animated);
}

#[test]
fn a_5000_frame_gif_is_refused_before_decoding_under_keep_and_renders_under_first() {
    let gif = gif_with_undecodable_frames(5000);
    let engine = Engine::default();
    let started = Instant::now();
    let err = engine.render(&gif, &[keep(64)], deadline()).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&err, EngineError::LimitExceeded(m) if m.contains("5000 frames")),
        "{err}"
    );
    assert_eq!(err.kind(), "limit_exceeded");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // Frames 2.. do not decode: had the render decoded them, it would have failed as
    // corrupt, which it does once the limit allows it.
    let lax = Engine::new(Limits {
        max_frames: 10_000,
        ..Limits::default()
    });
    let err = lax.render(&gif, &[keep(64)], deadline()).unwrap_err();
    assert!(matches!(err, EngineError::Corrupt(_)), "{err}");
    // The first frame alone renders, under the default.
    let first = transform("first", "", "webp", 64, "");
    let out = engine.render(&gif, &[first], deadline()).unwrap();
    assert_eq!((out[0].width, out[0].height), (16, 16));
}

#[test]
fn total_decoded_pixels_are_limited_too() {
    let src = fixture("ir_apng_ball.png"); // 20 frames of 100×100: 0.2 MP
    let tight = Engine::new(Limits {
        max_animation_pixels: 150_000,
        ..Limits::default()
    });
    let err = tight.render(&src, &[keep(64)], deadline()).unwrap_err();
    assert!(
        matches!(&err, EngineError::LimitExceeded(m) if m.contains("animation limit")),
        "{err}"
    );
    let first = transform("first", "", "webp", 64, "");
    assert!(
        tight.render(&src, &[first], deadline()).is_ok(),
        "not held to it under first"
    );
    let just = Engine::new(Limits {
        max_animation_pixels: 200_000,
        max_frames: 20,
        ..Limits::default()
    });
    assert!(just.render(&src, &[keep(64)], deadline()).is_ok());
}

#[test]
fn an_animated_source_reserves_memory_for_its_frames() {
    let engine = Engine::default();
    let gif = fixture("sharp_animated_squares_30f.gif");
    let anim = engine.probe(&gif).unwrap().estimated_decode_bytes;
    let mut one = Vec::new();
    let img = image::RgbaImage::from_pixel(80, 80, image::Rgba([1, 2, 3, 255]));
    image::codecs::gif::GifEncoder::new(&mut one)
        .encode(img.as_raw(), 80, 80, image::ExtendedColorType::Rgba8)
        .unwrap();
    let still = engine.probe(&one).unwrap().estimated_decode_bytes;
    // 80×80 canvases, 20 of them at 4 bytes a pixel, on top of a still's decode.
    assert!(anim >= still + 20 * 4 * 80 * 80, "{anim} vs {still}");
    // Over the frame limit the source only ever renders its first frame: nothing more.
    let strict = Engine::new(Limits {
        max_frames: 10,
        ..Limits::default()
    });
    let refused = strict.probe(&gif).unwrap().estimated_decode_bytes;
    assert!(refused < still + 20 * 4 * 80 * 80, "{refused} vs {still}");
}

#[test]
fn webpmux_rows_parse() {
    let text = "Canvas size: 80 x 60\nFeatures present: animation transparency\n\
                Background color : 0xFFFFFFFF  Loop Count : 3\nNumber of frames: 2\n\
                No.: width height alpha x_offset y_offset duration   dispose blend image_size  compression\n\
                  1:    55    55   yes       12       12      120       none    no        716       lossy\n\
                  2:    36    17   yes       12       50       30       none   yes        260       lossy\n";
    let want = WebpInfo {
        canvas: (80, 60),
        animated: true,
        loops: 3,
        durations: vec![120, 30],
    };
    assert_eq!(parse_info(text), want);
}

#[test]
fn a_finite_loop_count_is_kept() {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut gif);
        enc.set_repeat(Repeat::Finite(3)).unwrap();
        for i in 0..3u8 {
            let img = image::RgbaImage::from_pixel(32, 32, image::Rgba([i * 100, 0, 0, 255]));
            let delay = image::Delay::from_numer_denom_ms(50 * (i as u32 + 1), 1);
            enc.encode_frame(image::Frame::from_parts(img, 0, 0, delay))
                .unwrap();
        }
    }
    let out = Engine::default()
        .render(&gif, &[keep(16)], deadline())
        .unwrap();
    let info = webpmux_info(&out[0].bytes);
    assert_eq!(
        (info.loops, info.durations, info.canvas),
        (3, vec![50, 100, 150], (16, 16))
    );
}

#[test]
fn animated_gif_out_keeps_frames_timing_and_loops_as_pillow_reads_them() {
    let engine = Engine::default();
    let gif = transform("moving", "animation = \"keep\"\n", "gif", 40, "");
    // The APNG: 20 frames of 75 ms, forever; GIF counts in 10 ms, so 80 ms.
    let out = engine
        .render(&fixture("ir_apng_ball.png"), &[gif], deadline())
        .unwrap();
    let info = common::anim::pillow_gif_info(&out[0].bytes);
    assert_eq!(info.size, (40, 40));
    assert_eq!(info.loops, Some(0), "forever");
    assert_eq!(info.durations, vec![80; 20], "{info:?}");
    // Under first (the default), a GIF output is one frame.
    let still = transform("still", "", "gif", 40, "");
    let out = engine
        .render(&fixture("ir_apng_ball.png"), &[still], deadline())
        .unwrap();
    assert_eq!(
        common::anim::pillow_gif_info(&out[0].bytes).durations.len(),
        1
    );
}
