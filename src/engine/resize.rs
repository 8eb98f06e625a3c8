//! Resizing with `fast_image_resize` (SIMD convolution, Lanczos3), cropping in the same pass.
//!
//! Callers check [`is_identity`] first and use the image as it is: an output the size of
//! the decode must not cost a copy of it.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::bitmap::Bitmap;
use super::error::EngineError;
use super::geometry::Rect;

fn pixel_type(channels: u8) -> PixelType {
    match channels {
        1 => PixelType::U8,
        4 => PixelType::U8x4,
        _ => PixelType::U8x3,
    }
}

/// True when resizing `crop` of `src` to `out_w × out_h` would return `src` unchanged.
pub fn is_identity(src: &Bitmap, crop: Rect, out_w: u32, out_h: u32) -> bool {
    crop.x == 0.0
        && crop.y == 0.0
        && crop.w == src.width as f64
        && crop.h == src.height as f64
        && out_w == src.width
        && out_h == src.height
}

/// Resizes the `crop` region of `src` (in `src`'s own pixel coordinates) to `out_w × out_h`.
/// Alpha is premultiplied during the convolution so transparent pixels do not bleed colour.
pub fn resize(
    resizer: &mut Resizer,
    src: &Bitmap,
    crop: Rect,
    out_w: u32,
    out_h: u32,
) -> Result<Bitmap, EngineError> {
    let pt = pixel_type(src.channels);
    let src_view = ImageRef::new(src.width, src.height, &src.data, pt)
        .map_err(|e| EngineError::Internal(format!("resize source: {e}")))?;
    let mut dst = Image::new(out_w, out_h, pt);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(crop.x, crop.y, crop.w, crop.h);
    resizer
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| EngineError::Internal(format!("resize: {e}")))?;
    Ok(Bitmap {
        width: out_w,
        height: out_h,
        channels: src.channels,
        data: dst.into_vec(),
    })
}
