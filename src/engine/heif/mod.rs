//! HEIC/HEIF and AVIF sources, decoded by the system's libheif (Debian 12: 1.15.1, which
//! brings libde265 for HEVC and dav1d/aom for AV1).
//!
//! * **Header first.** Opening a file parses its boxes only; the primary image's size (from
//!   `ispe`, after `irot`/`imir`/`clap`) is checked against the pixel limit before anything
//!   is decoded, so the 200 MP phone photo or a 1 KB file claiming 17000×17000 is refused in
//!   milliseconds. libheif's own side limit is set as well: it covers the items our check
//!   does not see (grid tiles, thumbnails, auxiliary images).
//! * **Transformations once.** libheif applies `irot`, `imir` and `clap` while decoding; by
//!   the HEIF spec those, not EXIF, are what orient the image, so the source reports EXIF
//!   orientation 1 and nothing rotates it again.
//! * **Only the primary image.** Thumbnails, depth maps and other auxiliary images are never
//!   decoded; an alpha auxiliary image is (it is the primary image's alpha).
//! * **8 bits.** 10- and 12-bit images are converted to 8 bits by libheif
//!   (`convert_hdr_to_8bit`), after its YCbCr → RGB conversion (matrix from `nclx`).
//! * **Colour.** An ICC profile (`colr` `prof`/`rICC`) goes to the engine's usual deferred
//!   conversion (`color.rs`); an `nclx`-only image is treated as sRGB.
//! * **Animated AVIF** (`avis`, no still item): libheif 1.15 refuses image sequences, so
//!   `sequence.rs` rewraps the first frame as a still AVIF first.
//!
//! libheif has no allocation hook: its memory cannot be capped like the `image` decoders'.
//! The pixel limit bounds it instead, and [`estimate`] is measured by `tests/engine_memory.rs`.

mod boxes;
mod ffi;
mod safe;
pub(crate) use safe::init;
mod sequence;

use std::borrow::Cow;

use super::bitmap::Bitmap;
use super::color::{to_srgb_deferred, Pixels, Srgb};
use super::{EngineError, Limits};

/// libheif's own limit on any item's width or height (its default too).
const MAX_SIDE: u32 = 32768;

/// What the header look found.
pub struct Header {
    /// Displayed size: transformations applied.
    pub width: u32,
    pub height: u32,
    pub alpha: bool,
    /// Bits per sample as coded (8, 10, 12).
    pub bits: u8,
    pub icc: Option<Vec<u8>>,
}

/// The file libheif is given: the bytes themselves, or the still rewrapped from an image
/// sequence's first frame.
fn still(bytes: &[u8]) -> Result<Cow<'_, [u8]>, EngineError> {
    Ok(match sequence::first_frame_as_still(bytes)? {
        Some(rewrapped) => Cow::Owned(rewrapped),
        None => Cow::Borrowed(bytes),
    })
}

/// Parses the boxes and reads the primary image's header; decodes nothing.
pub fn read_header(bytes: &[u8], limits: &Limits) -> Result<Header, EngineError> {
    let file = still(bytes)?;
    let ctx = safe::Context::read(&file, MAX_SIDE)?;
    let image = ctx.primary()?;
    let (width, height) = displayed_size(&file, image.size()?);
    Ok(Header {
        width,
        height,
        alpha: image.has_alpha(),
        bits: image.bits(),
        icc: image.icc(limits.max_metadata_bytes)?,
    })
}

/// Decodes the primary image to 8-bit RGB(A), upright; its colour conversion deferred.
/// `header` is what [`read_header`] found, its limits already checked.
pub fn decode(bytes: &[u8], header: &Header) -> Result<Srgb, EngineError> {
    let file = still(bytes)?;
    let ctx = safe::Context::read(&file, MAX_SIDE)?;
    let image = ctx.primary()?;
    let channels = if header.alpha { 4 } else { 3 };
    let decoded = image.decode(header.alpha)?;
    let (w, h, mut data) = decoded.to_packed(channels)?;
    drop(decoded);
    if (w, h) != (header.width, header.height) {
        return Err(EngineError::Internal(format!(
            "libheif decoded {w}×{h}, its header said {}×{}",
            header.width, header.height
        )));
    }
    if header.alpha && image.premultiplied() {
        unpremultiply(&mut data);
    }
    let pixels = if header.alpha {
        Pixels::Rgba(data)
    } else {
        Pixels::Rgb(data)
    };
    let Srgb { bitmap, fix } = to_srgb_deferred(pixels, w, h, header.icc.as_deref());
    Ok(Srgb {
        bitmap: Bitmap::drop_opaque_alpha(bitmap),
        fix,
    })
}

/// The size the decode will have. libheif 1.15 reports an HEVC image's size with `irot`
/// applied but an AV1 image's as coded (its `ispe`), though it rotates both when decoding:
/// a quarter turn on a size still equal to `ispe` is applied here.
fn displayed_size(file: &[u8], reported: (u32, u32)) -> (u32, u32) {
    match boxes::primary_geometry(file) {
        Some((ispe, 1 | 3)) if ispe == reported => (reported.1, reported.0),
        _ => reported,
    }
}

/// Straight alpha from premultiplied (the engine's bitmaps are straight).
fn unpremultiply(rgba: &mut [u8]) {
    for p in rgba.chunks_exact_mut(4) {
        let a = p[3] as u32;
        if a != 0 && a != 255 {
            for c in &mut p[..3] {
                *c = ((*c as u32 * 255 + a / 2) / a).min(255) as u8;
            }
        }
    }
}

/// Peak bytes of one decode (see `estimate.rs`): libheif's coded-order image (YCbCr at up
/// to 4:4:4, 2 bytes a sample over 8 bits, alpha plane included), its RGB conversion (at 16
/// bits first for a deep image), the transformed copy, and our packed copy of the result.
/// An AV1 decoder (dav1d, aom) keeps its own frame pool of the whole image besides (two
/// more coded frames, measured); HEVC grid tiles are decoded one at a time.
pub fn estimate(h: &Header, av1: bool) -> u64 {
    let px = h.width as u64 * h.height as u64;
    let sample = if h.bits > 8 { 2 } else { 1 };
    let planes = if h.alpha { 4 } else { 3 };
    let coded = px * planes * sample;
    let codec = if av1 { 2 * coded } else { 0 };
    let deep_rgb = if h.bits > 8 { px * planes * 2 } else { 0 };
    let rgb = px * planes;
    let icc = h
        .icc
        .as_ref()
        .map_or(0, |p| p.len() as u64 + super::estimate::COLOUR_MANAGEMENT);
    coded + codec + deep_rgb + 3 * rgb + icc + (4 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premultiplied_alpha_is_undone() {
        let mut px = [64, 32, 0, 128, 10, 20, 30, 0, 1, 2, 3, 255];
        unpremultiply(&mut px);
        assert_eq!(px, [128, 64, 0, 128, 10, 20, 30, 0, 1, 2, 3, 255]);
    }

    #[test]
    fn garbage_is_a_typed_client_error() {
        let limits = Limits::default();
        for bytes in [&b""[..], b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", b"junk"] {
            let e = read_header(bytes, &limits).err().expect("refused");
            assert_eq!(e.fault(), crate::engine::Fault::Client, "{e}");
        }
    }
}
