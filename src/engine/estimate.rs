//! How much memory one decode of a source may take, from its header alone: what the worker
//! reserves from its memory budget before rendering (`SourceInfo::estimated_decode_bytes`),
//! and the cap each decoder then runs under, so the estimate is enforced, not hoped for.
//!
//! Each figure is the peak of the decode path at full size (shrink-on-load only lowers it),
//! counted from what the decoders and our conversions allocate:
//!
//! * **JPEG, libjpeg-turbo**: the output buffer (3 bytes/px; grey is widened to RGB and CMYK
//!   converted to RGB beside the decoded copy: 1 + 3 and 4 + 3), libjpeg's row buffers, and
//!   for a file with several scans (progressive, or one scan per component) its whole-image
//!   coefficient buffers: 2 bytes per sample of every component **at full resolution,
//!   whatever the DCT scaling** (libjpeg must hold every coefficient until the last scan).
//!   A 12 MP 4:2:0 progressive photo needs 36 MB of them even for a 256 px thumbnail.
//! * **JPEG, `jpeg-decoder`** (the fallback): every component's plane at full resolution,
//!   its coefficients (progressive only) and its output. The estimate is the larger of the
//!   two decoders, as the fallback can run after libjpeg-turbo gave up.
//! * **`image` formats**: the decoded buffer (by colour type: 16-bit RGBA is 8 bytes/px),
//!   the 8-bit copy and the RGB/alpha copies `decode.rs` makes, plus the decoder's own
//!   working memory: PNG two rows; GIF a frame buffer (a frame smaller than the screen is
//!   decoded apart first); WebP its YUV or ARGB planes and an animation canvas; TIFF one
//!   decoded strip or tile (bounded here by an eighth of the image plus 1 MiB).
//!
//! * **HEIC/HEIF, AVIF** (libheif): see `heif::estimate`: libheif cannot be capped, so the
//!   pixel limit bounds it and the estimate is measured like the others.
//! * **JPEG XL** (`jxl.rs`): jxl-oxide's f32 planes, three per channel, and our copies;
//!   enforced by jxl-oxide's allocation tracker. **SVG** (`svg/`): canvas-sized pixmaps at
//!   the largest canvas it may be drawn at, and usvg's tree. **Camera RAW**: the estimate of
//!   the embedded preview's own format.
//!
//! Where there is an ICC profile, Little CMS's working memory comes on top
//! ([`COLOUR_MANAGEMENT`]). `tests/engine_memory.rs` measures the peak of real decodes against these figures.

use image::ColorType;

use super::jpeg::Header;
use super::Limits;
use crate::media::MediaType;

/// Room for the decoders' small allocations (tables, structs, headers).
const FIXED: u64 = 1 << 20;

/// Little CMS's working memory for one profile: the parsed profile and the precalculated
/// transform (a CMYK profile's 4-D lookup table is the big one: 1.5 MB measured).
pub const COLOUR_MANAGEMENT: u64 = 4 << 20;

/// Samples of every component at full resolution, in whole MCUs as libjpeg stores them.
fn jpeg_samples(h: &Header) -> u64 {
    let (w, ht) = (h.width as u64, h.height as u64);
    if h.sampling.is_empty() {
        // Sampling unknown (jpeg-decoder read the header): every component full size.
        return h.components.max(1) as u64 * w.next_multiple_of(16) * ht.next_multiple_of(16);
    }
    let hmax = h.sampling.iter().map(|s| s.0).max().unwrap_or(1) as u64;
    let vmax = h.sampling.iter().map(|s| s.1).max().unwrap_or(1) as u64;
    h.sampling
        .iter()
        .map(|&(hs, vs)| {
            let (hs, vs) = (hs as u64, vs as u64);
            let bw = (w * hs).div_ceil(hmax * 8).next_multiple_of(hs);
            let bh = (ht * vs).div_ceil(vmax * 8).next_multiple_of(vs);
            bw * bh * 64
        })
        .sum()
}

/// libjpeg's own working memory for `h`: coefficient buffers when the file has several
/// scans, and row buffers. Also the cap libjpeg-turbo runs under.
pub fn jpeg_working(h: &Header) -> u64 {
    let multi_scan = !h.single_scan();
    let coefficients = if multi_scan { 2 * jpeg_samples(h) } else { 0 };
    // Row groups of every component (context rows, upsampling, colour conversion).
    let rows = (h.width as u64).next_multiple_of(16) * 64 * h.components.max(1) as u64;
    coefficients + rows + FIXED
}

/// Peak bytes of one JPEG decode at full size, by either decoder.
pub fn jpeg(h: &Header) -> u64 {
    let px = h.width as u64 * h.height as u64;
    // The decoded pixels (grey, RGB or CMYK), and the RGB copy made of grey and CMYK.
    let out = px
        * if h.components == 1 || h.components == 4 {
            h.components as u64
        } else {
            3
        };
    let rgb_copy = if out == 3 * px { 0 } else { 3 * px };
    let turbo = jpeg_working(h) + out + rgb_copy;
    let samples = jpeg_samples(h);
    let coefficients = if h.progressive { 2 * samples } else { 0 };
    // jpeg-decoder: planes, coefficients and its output; then our RGB copy of that.
    let fallback = (samples + coefficients + out).max(out + rgb_copy) + FIXED;
    let icc = h
        .icc
        .as_ref()
        .map_or(0, |p| p.len() as u64 + COLOUR_MANAGEMENT);
    turbo.max(fallback) + icc
}

/// Peak bytes of one decode through the `image` crate (`decode.rs`'s `decode_other`) of a
/// `width × height` source decoding to `color` (metadata not included).
pub fn image_crate(media: MediaType, width: u32, height: u32, color: ColorType) -> u64 {
    let px = width as u64 * height as u64;
    let decoded = px * color.bytes_per_pixel() as u64;
    // (8-bit copy, final copy): Luma16 → Luma8 → RGB; RGB16 → RGB8; alpha → RGBA8 → RGB.
    let (to8, last) = match color {
        ColorType::L8 => (0, 3 * px),
        ColorType::L16 => (px, 3 * px),
        ColorType::Rgb8 => (0, 0),
        ColorType::Rgba8 => (0, 3 * px),
        c if c.has_alpha() => (4 * px, 3 * px),
        _ => (3 * px, 0),
    };
    let conversions = (decoded + to8).max(if to8 > 0 { to8 } else { decoded } + last);
    let working = match media {
        // Two rows (current and previous, for unfiltering) plus the inflater's window and
        // output buffer, which grow to a few hundred KiB whatever the image size.
        MediaType::Png => 2 * (width as u64 * 8 + 1) + FIXED,
        MediaType::Gif => 4 * px,
        // YUV planes and the RGBA canvas, plus, for a lossy image with alpha, the ALPH
        // plane, which the lossless decoder expands to one ARGB word a pixel first.
        MediaType::Webp => 12 * px,
        MediaType::Tiff => decoded / 8 + FIXED,
        MediaType::Jpeg => 0,
        // Not decoded here: their pixels arrive from `extract` (`render_still`).
        _ => 0,
    };
    conversions + working + FIXED
}

/// What an animated source (`frames` > 1) may add to its decode when it is rendered
/// animated (`anim/`), at 4 bytes a canvas pixel: the frame decoder's canvases (the one it
/// composes on, the previous one for disposal, the frame it hands out: 3), the first
/// frame kept for the still outputs (1), and the WebP animation encoders, about 8 canvases
/// of their output each, for outputs adding up to twice the source's area (16); plus
/// [`ANIMATION_FIXED`]. Reserved for every animated source the frame limits let render
/// animated (the probe does not know the transforms); nothing for one over them, which
/// only ever renders its first frame. `tests/engine_memory.rs` measures animated renders
/// against it.
pub fn animation(width: u32, height: u32, frames: u64, limits: &Limits) -> u64 {
    let px = width as u64 * height as u64;
    let renders_animated = frames > 1
        && frames <= limits.max_frames as u64
        && frames.saturating_mul(px) <= limits.max_animation_pixels;
    match renders_animated {
        true => 20 * 4 * px + ANIMATION_FIXED,
        false => 0,
    }
}

/// What an animated render takes whatever the size: libwebp's encoders and the resizers'
/// buffers (an 80×80 animation into two outputs peaked 5.4 MiB over the still estimate).
const ANIMATION_FIXED: u64 = 8 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn header(w: u32, h: u32, sampling: &[(u8, u8)], progressive: bool) -> Header {
        Header {
            width: w,
            height: h,
            components: sampling.len() as u8,
            sampling: sampling.to_vec(),
            progressive,
            first_scan_components: sampling.len() as u8,
            scans: if progressive { 10 } else { 1 },
            ..Header::default()
        }
    }

    #[test]
    fn progressive_jpegs_pay_for_full_resolution_coefficients() {
        let s420 = [(2, 2), (1, 1), (1, 1)];
        let base = jpeg(&header(4000, 3000, &s420, false));
        let prog = jpeg(&header(4000, 3000, &s420, true));
        let px = 12_000_000f64;
        // Baseline: jpeg-decoder's planes (1.5) + output (3) is the larger path.
        assert!((4.4..4.8).contains(&(base as f64 / px)), "{base}");
        // Progressive 4:2:0: 1.5 samples/px of coefficients at 2 bytes, on both paths.
        assert!((7.4..7.9).contains(&(prog as f64 / px)), "{prog}");
        assert_eq!(jpeg_samples(&header(4000, 3000, &s420, true)), 18_048_000);
        // 4:4:4: 3 samples/px, 6 bytes of coefficients.
        let s444 = [(1, 1), (1, 1), (1, 1)];
        assert!(jpeg_working(&header(4000, 3000, &s444, true)) > 72_000_000);
        // Odd sizes round up to whole MCUs.
        assert_eq!(
            jpeg_samples(&header(17, 9, &s420, true)),
            32 * 16 + 2 * 16 * 8
        );
    }

    #[test]
    fn image_formats_count_their_conversions() {
        let mp = |m, c| image_crate(m, 1000, 1000, c) as f64 / 1e6;
        // 1 MP; each PNG figure includes 2 MiB: FIXED and the inflater's buffers.
        assert!((5.0..5.3).contains(&mp(MediaType::Png, ColorType::Rgb8)));
        // 16-bit RGBA: 8 decoded + 4 converted, then 4 + 3.
        assert!((14.0..14.3).contains(&mp(MediaType::Png, ColorType::Rgba16)));
        assert!((6.0..6.3).contains(&mp(MediaType::Png, ColorType::L8)));
        assert!(mp(MediaType::Gif, ColorType::Rgba8) >= 11.0);
    }
}
