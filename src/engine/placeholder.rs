//! Placeholders and colour of a source: ThumbHash, BlurHash and the dominant colour, so a
//! client can paint something before the first derived object arrives.
//!
//! All three come from one **uncropped** preview of at most [`PREVIEW_SIDE`] px a side,
//! made in the same render as the derived objects (`render.rs` resizes it from the
//! smallest whole-frame output that covers it, like any other output, so it costs a
//! 100-px resize plus the hashing, never a decode). ThumbHash needs ≤ 100 px anyway, and
//! BlurHash's few cosine components gain nothing from more pixels.

use serde::{Deserialize, Serialize};

use super::bitmap::Bitmap;
use super::color::ColorFix;
use super::error::EngineError;
use super::frame::Frame;
use super::geometry::Rect;
use super::resize::{self, ThreadResizer};
use super::{orient, planar};

/// The preview's longest side.
pub const PREVIEW_SIDE: u32 = 100;

/// What a client paints before the image arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placeholders {
    /// ThumbHash, standard base64 (with padding), as its reference decoders take it.
    pub thumbhash: String,
    /// BlurHash with 4×3 components (3×4 for portrait sources).
    pub blurhash: String,
    /// The mean colour of the most populated bin of a 16×16×16 RGB histogram, `#rrggbb`.
    pub dominant_color: String,
}

/// The preview size for an upright `w × h` source: inside [`PREVIEW_SIDE`], aspect kept,
/// never enlarged, at least 1 px a side.
pub fn preview_size(w: u32, h: u32) -> (u32, u32) {
    let long = w.max(h).max(1);
    if long <= PREVIEW_SIDE {
        return (w.max(1), h.max(1));
    }
    let k = PREVIEW_SIDE as f64 / long as f64;
    let side = |v: u32| ((v as f64 * k).round() as u32).clamp(1, PREVIEW_SIDE);
    (side(w), side(h))
}

/// The placeholders of `preview` (upright, sRGB, RGB or RGBA, ≤ [`PREVIEW_SIDE`] a side).
pub fn compute(preview: &Bitmap) -> Result<Placeholders, EngineError> {
    let (w, h) = (preview.width, preview.height);
    if w == 0 || h == 0 || w > PREVIEW_SIDE || h > PREVIEW_SIDE || preview.channels < 3 {
        return Err(EngineError::Internal(format!(
            "placeholder preview is {w}×{h}×{}",
            preview.channels
        )));
    }
    let rgba = to_rgba(preview);
    let thumb = thumbhash::rgba_to_thumb_hash(w as usize, h as usize, &rgba);
    let (cx, cy) = if w >= h { (4, 3) } else { (3, 4) };
    // BlurHash's 12 cosines need few pixels, and cost a cosine pair per pixel each.
    let (small, sw, sh) = box_shrink(&rgba, w, h, BLURHASH_SIDE);
    let blur = blurhash::encode(cx, cy, sw, sh, &small)
        .map_err(|e| EngineError::Internal(format!("blurhash: {e}")))?;
    use base64::Engine as _;
    Ok(Placeholders {
        thumbhash: base64::engine::general_purpose::STANDARD.encode(thumb),
        blurhash: blur,
        dominant_color: hex_colour(dominant(&rgba)),
    })
}

/// The longest side BlurHash is computed at.
const BLURHASH_SIDE: u32 = 32;

/// `rgba` (`w × h`) averaged down by a whole factor until its longest side is ≤ `max`.
fn box_shrink(rgba: &[u8], w: u32, h: u32, max: u32) -> (Vec<u8>, u32, u32) {
    let f = w.max(h).div_ceil(max).max(1);
    if f == 1 {
        return (rgba.to_vec(), w, h);
    }
    let (sw, sh) = (w.div_ceil(f), h.div_ceil(f));
    let mut out = Vec::with_capacity((sw * sh * 4) as usize);
    for by in 0..sh {
        for bx in 0..sw {
            let (mut sum, mut n) = ([0u32; 4], 0u32);
            for y in by * f..((by + 1) * f).min(h) {
                for x in bx * f..((bx + 1) * f).min(w) {
                    let i = ((y * w + x) * 4) as usize;
                    for c in 0..4 {
                        sum[c] += rgba[i + c] as u32;
                    }
                    n += 1;
                }
            }
            out.extend(sum.map(|s| ((s + n / 2) / n) as u8));
        }
    }
    (out, sw, sh)
}

fn to_rgba(b: &Bitmap) -> Vec<u8> {
    if b.channels == 4 {
        return b.data.clone();
    }
    let n = b.channels as usize;
    b.data
        .chunks_exact(n)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect()
}

/// The mean colour of the fullest bin of a 16×16×16 histogram (ties: the lowest bin, so
/// the answer is deterministic). Mostly transparent pixels (alpha < 128) do not vote,
/// unless every pixel is: their colour is not what a viewer sees.
pub fn dominant(rgba: &[u8]) -> [u8; 3] {
    let opaque = rgba.chunks_exact(4).any(|p| p[3] >= 128);
    let mut count = vec![0u32; 4096];
    let mut sum = vec![[0u64; 3]; 4096];
    for p in rgba.chunks_exact(4).filter(|p| !opaque || p[3] >= 128) {
        let bin = (p[0] as usize >> 4) << 8 | (p[1] as usize >> 4) << 4 | p[2] as usize >> 4;
        count[bin] += 1;
        for c in 0..3 {
            sum[bin][c] += p[c] as u64;
        }
    }
    let best = (0..4096).max_by_key(|&i| (count[i], std::cmp::Reverse(i)));
    match best {
        Some(i) if count[i] > 0 => {
            let n = count[i] as u64;
            sum[i].map(|s| ((s + n / 2) / n) as u8)
        }
        _ => [0, 0, 0],
    }
}

fn hex_colour([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// `crop` of `frame` (its own coordinates, stored orientation `orientation`) resized to
/// `size` (stored orientation) as an RGB(A) bitmap, then turned upright. Planes are
/// resized with full-resolution chroma and converted, so both paths give the same colours;
/// `fix` (the decode's pending conversion to sRGB) applies to RGB.
pub fn shrink(
    frame: &Frame,
    resizer: &mut ThreadResizer,
    crop: Rect,
    (w, h): (u32, u32),
    orientation: u8,
    fix: Option<&mut ColorFix>,
) -> Result<Bitmap, EngineError> {
    let rgb = match frame {
        Frame::Rgb(b) => {
            let mut small = resize::resize(resizer, b, crop, w, h)?;
            if let Some(f) = fix {
                f.apply(&mut small);
            }
            small
        }
        Frame::Ycc(p) => {
            let reversed = orient::stored_axes_reversed(orientation);
            let small: planar::Planes = p.resize(resizer, crop, (w, h), 1.0, reversed)?;
            let [y, cb, cr] = &small.planes;
            let rgb = ycc_to_rgb(y, cb, cr, w, h);
            small.recycle();
            rgb
        }
    };
    Ok(orient::apply(rgb, orientation))
}

/// YCbCr (JFIF: full range, BT.601) planes of one size to RGB: the YCbCr path's preview.
pub fn ycc_to_rgb(y: &Bitmap, cb: &Bitmap, cr: &Bitmap, w: u32, h: u32) -> Bitmap {
    let mut data = Vec::with_capacity(w as usize * h as usize * 3);
    let px = |p: &Bitmap, x: u32, yy: u32| {
        let (x, yy) = (x.min(p.width - 1), yy.min(p.height - 1));
        p.data[(yy * p.width + x) as usize] as f32
    };
    for row in 0..h {
        for col in 0..w {
            let l = px(y, col, row);
            let (b, r) = (px(cb, col, row) - 128.0, px(cr, col, row) - 128.0);
            let to = |v: f32| v.round().clamp(0.0, 255.0) as u8;
            data.extend([
                to(l + 1.402 * r),
                to(l - 0.344_136 * b - 0.714_136 * r),
                to(l + 1.772 * b),
            ]);
        }
    }
    Bitmap {
        width: w,
        height: h,
        channels: 3,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Bitmap {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend(f(x, y));
            }
        }
        Bitmap {
            width: w,
            height: h,
            channels: 3,
            data,
        }
    }

    #[test]
    fn preview_sizes_fit_inside_100_px_and_never_enlarge() {
        assert_eq!(preview_size(4032, 3024), (100, 75));
        assert_eq!(preview_size(3024, 4032), (75, 100));
        assert_eq!(preview_size(60, 40), (60, 40));
        assert_eq!(preview_size(10_000, 3), (100, 1));
    }

    #[test]
    fn dominant_colour_is_the_mean_of_the_fullest_bin() {
        // 70 % near-red (two shades in one bin), 30 % blue.
        let b = solid(10, 10, |x, y| match (x, y) {
            (0..=6, 0..=4) => [250, 2, 2],
            (0..=6, _) => [242, 10, 4],
            _ => [0, 0, 255],
        });
        assert_eq!(dominant(&to_rgba(&b)), [246, 6, 3]);
        assert_eq!(compute(&b).unwrap().dominant_color, "#f60603");
    }

    #[test]
    fn transparent_pixels_do_not_vote() {
        let mut rgba = Vec::new();
        for i in 0..100 {
            rgba.extend(if i < 80 {
                [0, 255, 0, 0]
            } else {
                [10, 20, 30, 255]
            });
        }
        assert_eq!(dominant(&rgba), [10, 20, 30]);
    }

    #[test]
    fn ycc_grey_and_primaries() {
        let p = |v: u8| Bitmap::plane(1, 1, vec![v]);
        let rgb = |y, cb, cr| ycc_to_rgb(&p(y), &p(cb), &p(cr), 1, 1).data;
        assert_eq!(rgb(128, 128, 128), [128, 128, 128]);
        let red = rgb(76, 85, 255);
        assert!(red[0] > 250 && red[1] < 5 && red[2] < 5, "{red:?}");
    }

    #[test]
    fn a_preview_over_the_limit_is_an_error_not_a_panic() {
        assert!(compute(&solid(101, 10, |_, _| [0, 0, 0])).is_err());
    }
}
