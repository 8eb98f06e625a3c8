//! AVIF output through Debian's libheif (1.15, with libaom 3.6 as its AV1 encoder): the
//! same stack sharp and libvips use. 8-bit, 4:2:0, lossy at `quality`; libaom's `speed`;
//! alpha, when the image has any, kept as libheif's auxiliary alpha image.
//!
//! Two ways in. From an RGB(A) bitmap, libheif converts to YCbCr itself (BT.601 matrix,
//! full range — its default for sRGB). From the YCbCr path's 4:2:0 planes (`planar.rs`), a
//! JPEG's full-range BT.601 YCbCr goes to the encoder as it is, tagged with exactly that
//! nclx, so no RGB is made and chroma is resampled once.
//!
//! One encoder thread per image by default: the worker already runs one job per core.

mod ffi;
#[cfg(test)]
mod tests;
#[doc(hidden)]
pub mod verify;
mod wrap;

pub use wrap::AvifError;
pub use wrap::Meta;
use wrap::{Context, Image};

use super::bitmap::Bitmap;
use super::planar::Planes;

/// libaom's speed when a transform does not say (0 slowest … 9 fastest). sharp's and
/// libvips' default `effort` 4 is libaom speed 9 − 4 = 5.
pub const DEFAULT_SPEED: u8 = crate::catalogue::spec::DEFAULT_AVIF_SPEED;
/// sharp's and libvips' default AVIF quality.
pub const DEFAULT_QUALITY: u8 = 50;
/// The largest speed libheif's libaom encoder takes.
pub const MAX_SPEED: u8 = crate::catalogue::spec::MAX_AVIF_SPEED;

/// How one image is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// 1..=100, libheif's lossy quality (mapped by it onto AV1 quantisers).
    pub quality: u8,
    /// 0..=[`MAX_SPEED`].
    pub speed: u8,
    /// Encoder threads for this one image.
    pub threads: u8,
}

/// Encodes an RGB or RGBA bitmap (straight alpha).
pub fn encode_bitmap(bitmap: &Bitmap, params: Params) -> Result<Vec<u8>, AvifError> {
    encode_bitmap_with(bitmap, params, Meta::default())
}

/// [`encode_bitmap`] with metadata.
pub fn encode_bitmap_with(
    bitmap: &Bitmap,
    params: Params,
    meta: Meta<'_>,
) -> Result<Vec<u8>, AvifError> {
    let chroma = match bitmap.channels {
        3 => ffi::HEIF_CHROMA_INTERLEAVED_RGB,
        4 => ffi::HEIF_CHROMA_INTERLEAVED_RGBA,
        n => return Err(AvifError::Input(format!("{n}-channel bitmap"))),
    };
    let (w, h) = (bitmap.width, bitmap.height);
    let mut image = Image::new(w, h, ffi::HEIF_COLORSPACE_RGB, chroma)?;
    let row = w as usize * bitmap.channels as usize;
    image.add_plane(
        ffi::HEIF_CHANNEL_INTERLEAVED,
        (w, h),
        row,
        (&bitmap.data, row),
    )?;
    finish(image, params, meta)
}

/// Encodes 4:2:0 YCbCr planes (full-range BT.601, as a JPEG stores them).
pub fn encode_planes(planes: &Planes, params: Params) -> Result<Vec<u8>, AvifError> {
    encode_planes_with(planes, params, Meta::default())
}

/// [`encode_planes`] with metadata.
pub fn encode_planes_with(
    planes: &Planes,
    params: Params,
    meta: Meta<'_>,
) -> Result<Vec<u8>, AvifError> {
    let (w, h) = (planes.width, planes.height);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let [y, cb, cr] = &planes.planes;
    if planes.chroma != (0.5, 0.5)
        || y.width < w
        || y.height < h
        || (cb.width, cb.height, cr.width, cr.height) != (cw, ch, cw, ch)
    {
        return Err(AvifError::Input(format!(
            "planes do not fit a {w}×{h} 4:2:0 picture"
        )));
    }
    let mut image = Image::new(w, h, ffi::HEIF_COLORSPACE_YCBCR, ffi::HEIF_CHROMA_420)?;
    let luma = (&y.data[..], y.width as usize);
    image.add_plane(ffi::HEIF_CHANNEL_Y, (w, h), w as usize, luma)?;
    for (channel, plane) in [(ffi::HEIF_CHANNEL_CB, cb), (ffi::HEIF_CHANNEL_CR, cr)] {
        let src = (&plane.data[..], cw as usize);
        image.add_plane(channel, (cw, ch), cw as usize, src)?;
    }
    image.set_srgb_nclx()?;
    finish(image, params, meta)
}

/// Sets up libaom through libheif, encodes `image` and writes the file.
fn finish(mut image: Image, params: Params, meta: Meta<'_>) -> Result<Vec<u8>, AvifError> {
    if !(1..=100).contains(&params.quality) || params.speed > MAX_SPEED || params.threads == 0 {
        return Err(AvifError::Input(format!("bad AVIF parameters {params:?}")));
    }
    let mut ctx = Context::new()?;
    let mut encoder = ctx.av1_encoder()?;
    encoder.set_quality(params.quality)?;
    encoder.set_integer("speed", params.speed.into())?;
    encoder.set_integer("threads", params.threads.into())?;
    encoder.set_string("chroma", "420")?;
    if let Some(icc) = meta.icc {
        image.set_icc(icc)?;
    }
    ctx.encode(&image, &mut encoder, meta)?;
    ctx.write()
}
