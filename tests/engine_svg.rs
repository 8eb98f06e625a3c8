//! SVG sources through the engine, on the files of `tests/fixtures/modern/`: real drawings
//! render (text with the system font), nothing outside the file is ever read (a loopback
//! server and a real PNG on disk are referenced and must stay untouched), hostile files
//! are refused with typed errors, fast, and a huge declared size is capped.
//! Run: `cargo test --test engine_svg` (needs fonts-dejavu-core).

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::images::decode;
use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, EngineError};
use derivd::media::MediaType;

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/modern/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn fit(format: &str, size: u32, enlarge: bool) -> Arc<Transform> {
    let toml = format!(
        "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"{format}\"\n\
         [resize]\nmode = \"fit\"\nwidth = {size}\nheight = {size}\nenlarge = {enlarge}\n"
    );
    Arc::new(Transform::parse("t", &toml, 8192).unwrap())
}

fn render(bytes: &[u8], format: &str, size: u32, enlarge: bool) -> image::DynamicImage {
    let out = Engine::default()
        .render(bytes, &[fit(format, size, enlarge)], Deadline::none())
        .unwrap_or_else(|e| panic!("render: {e}"));
    decode(&out[0].bytes)
}

/// Pixels darker than mid-grey once flattened (JPEG output is on white).
fn dark_pixels(img: &image::RgbImage) -> usize {
    img.pixels()
        .filter(|p| p.0.iter().all(|&c| c < 100))
        .count()
}

#[test]
fn real_drawings_render_at_their_size_with_text() {
    for (name, size) in [
        ("wm_IPv6_header_text.svg", (506, 233)),
        ("wm_illustrator_internal_entities.svg", (412, 245)),
    ] {
        let bytes = fixture(name);
        let info = Engine::default().probe(&bytes).unwrap();
        assert_eq!(info.media, MediaType::Svg);
        assert_eq!((info.width, info.height), size, "{name}");
        let img = render(&bytes, "jpeg", 1024, false).to_rgb8();
        assert_eq!(img.dimensions(), size, "{name}");
        assert!(
            dark_pixels(&img) > 200,
            "{name}: {} dark pixels",
            dark_pixels(&img)
        );
    }
    // Text alone (no strokes to confuse the count): drawn only if a font was found.
    let text = br#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50">
        <text x="5" y="40" font-family="Arial, sans-serif" font-size="36">Hello</text></svg>"#;
    let img = render(text, "jpeg", 200, false).to_rgb8();
    assert!(dark_pixels(&img) > 300, "{} dark pixels", dark_pixels(&img));
}

#[test]
fn svgs_are_rasterised_at_the_output_size_not_their_own() {
    // Declared 80×80: a 1024 px output is drawn at 1024 px, sharp (not an 80 px upscale).
    let bytes = fixture("resvg_external_https_image.svg");
    let img = render(&bytes, "png", 1024, true).to_rgba8();
    assert_eq!(img.dimensions(), (1024, 1024));
    // The 1-unit frame stroke is ~13 px wide at this scale, with hard edges.
    let row: Vec<u8> = (0..40).map(|x| img.get_pixel(x, 512)[3]).collect();
    let opaque = row.iter().filter(|&&a| a > 250).count();
    let partial = row.iter().filter(|&&a| a > 5 && a < 250).count();
    assert!(opaque >= 10 && partial <= 3, "{row:?}");
    // width='32768' height='1': capped at the output side limit, rendered fast.
    let started = Instant::now();
    let tiny = fixture("rsvg_width_32768.svg");
    let info = Engine::default().probe(&tiny).unwrap();
    assert_eq!((info.width, info.height), (8192, 1));
    // Its estimate is a 2048² canvas (the enlargement cap), not a 32768-wide one.
    assert!(info.estimated_decode_bytes < 96 << 20);
    let img = render(&tiny, "png", 256, false);
    assert_eq!((img.width(), img.height()), (256, 1));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn no_file_or_url_is_ever_read() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    server.set_nonblocking(true).unwrap();
    let port = server.local_addr().unwrap().port();
    let png_on_disk = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    image::RgbImage::from_pixel(8, 8, image::Rgb([255, 0, 0]))
        .save_with_format(png_on_disk.path(), image::ImageFormat::Png)
        .unwrap();
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
             width="80" height="80">
           <style>@font-face {{ font-family: X; src: url(http://127.0.0.1:{port}/f.ttf); }}
                  @import url(http://127.0.0.1:{port}/s.css);</style>
           <image x="0" y="0" width="40" height="40" xlink:href="http://127.0.0.1:{port}/a.png"/>
           <image x="40" y="0" width="40" height="40" href="{}"/>
           <image x="0" y="40" width="40" height="40" href="file://{}"/>
           <text x="0" y="78" font-family="X" font-size="10">t</text></svg>"#,
        png_on_disk.path().display(),
        png_on_disk.path().display()
    );
    let img = render(svg.as_bytes(), "png", 80, false).to_rgba8();
    let drawn = img.pixels().take(80 * 70).filter(|p| p[3] > 0).count();
    assert_eq!(drawn, 0, "an external image was drawn");
    let mut conn = server.accept();
    assert!(
        conn.is_err(),
        "the renderer connected to the loopback server"
    );
    if let Ok((s, _)) = conn.as_mut() {
        let _ = s.read(&mut [0; 16]);
    }
    // The corpus file's only content is its frame: the https image is not fetched.
    let img = render(&fixture("resvg_external_https_image.svg"), "png", 80, false).to_rgba8();
    assert_eq!(img.get_pixel(40, 40)[3], 0);
    assert!(img.get_pixel(1, 40)[3] > 100);
}

#[test]
fn data_images_are_drawn() {
    let mut png = Vec::new();
    image::RgbImage::from_pixel(4, 4, image::Rgb([255, 0, 0]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">
           <image width="40" height="40" href="data:image/png;base64,{b64}"/></svg>"#
    );
    let img = render(svg.as_bytes(), "png", 40, false).to_rgb8();
    assert_eq!(img.get_pixel(20, 20).0, [255, 0, 0]);
}

#[test]
fn entity_bombs_are_refused_fast_and_harmless_entities_accepted() {
    for (name, bytes) in [
        (
            "svgo_billion_laughs.svg",
            fixture("svgo_billion_laughs.svg"),
        ),
        // The same bomb with an <svg> root, so it reaches the SVG parser.
        (
            "billion laughs in <svg>",
            String::from_utf8(fixture("svgo_billion_laughs.svg"))
                .unwrap()
                .replace(
                    "<lolz>&lol9;</lolz>",
                    "<svg xmlns='http://www.w3.org/2000/svg'><text>&lol9;</text></svg>",
                )
                .into_bytes(),
        ),
    ] {
        let started = Instant::now();
        let err = Engine::default()
            .render(&bytes, &[fit("jpeg", 64, false)], Deadline::none())
            .unwrap_err();
        assert!(
            matches!(
                err,
                EngineError::LimitExceeded(_) | EngineError::UnsupportedFormat(_)
            ),
            "{name}: {err}"
        );
        assert_eq!(err.fault(), derivd::engine::Fault::Client);
        assert!(started.elapsed() < Duration::from_millis(500), "{name}");
    }
    // Illustrator's namespace entities are expanded as usual (the drawing renders).
    let ok = fixture("wm_illustrator_internal_entities.svg");
    assert!(Engine::default().probe(&ok).is_ok());
}

#[test]
fn oversized_svgs_are_refused_by_their_byte_limit() {
    let limits = derivd::engine::Limits {
        max_svg_bytes: 1000,
        ..Default::default()
    };
    let err = Engine::new(limits)
        .probe(&fixture("wm_IPv6_header_text.svg"))
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::LimitExceeded(m) if m.contains("max_svg_bytes")),
        "{err}"
    );
}
