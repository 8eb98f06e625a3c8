//! Animated outputs read back by libwebp's own `webpmux` (Debian `webp`, installed by
//! `scripts/setup-system.sh test`): an independent reader of what derivd wrote, not the
//! `image` decoder derivd decodes with. A missing tool fails the test.

use std::io::Write;
use std::process::Command;

/// What `webpmux -info` says about a WebP file.
#[derive(Debug, PartialEq, Eq)]
pub struct WebpInfo {
    pub canvas: (u32, u32),
    pub animated: bool,
    pub loops: u32,
    /// Each frame's duration in ms (empty for a still).
    pub durations: Vec<u32>,
}

pub fn webpmux_info(webp: &[u8]) -> WebpInfo {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(webp).unwrap();
    let out = Command::new("webpmux")
        .arg("-info")
        .arg(file.path())
        .output()
        .expect("webpmux (Debian package webp) must be installed: scripts/setup-system.sh test");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "webpmux -info failed: {text}");
    parse_info(&text)
}

/// `webpmux -info`'s text, parsed.
pub fn parse_info(text: &str) -> WebpInfo {
    let after = |key: &str| {
        text.lines()
            .find_map(|l| l.split_once(key).map(|(_, r)| r.trim().to_string()))
    };
    let canvas = after("Canvas size:").expect("canvas size");
    let (w, h) = canvas.split_once(" x ").expect("W x H");
    let features = after("Features present:").unwrap_or_default();
    let loops = after("Loop Count :").map_or(0, |l| l.parse().expect("loop count"));
    // Frame rows: "  1:    55    55   yes  12  12  120  none  no  716  lossy".
    let durations = text
        .lines()
        .filter_map(|l| {
            let (no, rest) = l.trim().split_once(':')?;
            no.parse::<u32>().ok()?;
            rest.split_whitespace().nth(5)?.parse().ok()
        })
        .collect();
    WebpInfo {
        canvas: (w.trim().parse().unwrap(), h.trim().parse().unwrap()),
        animated: features.contains("animation"),
        loops,
        durations,
    }
}

/// A `frames`-frame 16×16 GIF whose first frame is real and whose others no decoder takes
/// (an LZW code size of 15): a render that decodes past the first frame fails as corrupt,
/// so a refusal by the frame limit shows it came before any decode.
pub fn gif_with_undecodable_frames(frames: usize) -> Vec<u8> {
    let mut first = Vec::new();
    let img = image::RgbaImage::from_fn(16, 16, |x, y| {
        image::Rgba([x as u8 * 16, y as u8 * 16, 0, 255])
    });
    image::codecs::gif::GifEncoder::new(&mut first)
        .encode(img.as_raw(), 16, 16, image::ExtendedColorType::Rgba8)
        .unwrap();
    assert_eq!(first.pop(), Some(0x3B), "ends with the trailer");
    for _ in 1..frames {
        // Graphic control (10 ms), descriptor 16×16 without a local table, bad LZW data.
        first.extend_from_slice(&[0x21, 0xF9, 4, 0, 1, 0, 0, 0]);
        first.extend_from_slice(&[0x2C, 0, 0, 0, 0, 16, 0, 16, 0, 0]);
        first.extend_from_slice(&[0x0F, 3, 0xFF, 0xFF, 0xFF, 0]);
    }
    first.push(0x3B);
    first
}

/// What Pillow (`.ci/.venv`, installed by `scripts/test.sh`) reads in a GIF: size,
/// each frame's duration in ms and the loop count (`None`: no NETSCAPE block, plays once).
#[derive(Debug, PartialEq, Eq, serde::Deserialize)]
pub struct GifInfo {
    pub size: (u32, u32),
    pub durations: Vec<u32>,
    pub loops: Option<u32>,
}

pub fn pillow_gif_info(gif: &[u8]) -> GifInfo {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(gif).unwrap();
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/.venv/bin/python");
    let script = "import json, sys\nfrom PIL import Image\nim = Image.open(sys.argv[1])\n\
                  assert im.format == 'GIF', im.format\nd = []\n\
                  for i in range(im.n_frames):\n    im.seek(i); d.append(im.info.get('duration', 0))\n\
                  print(json.dumps({'size': im.size, 'durations': d, 'loops': im.info.get('loop')}))";
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/test.sh installs Pillow there)",
                python.display()
            )
        });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Pillow: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap()
}
