//! Resizing with `fast_image_resize` (SIMD convolution, Lanczos3), cropping in the same pass.
//!
//! Callers check [`is_identity_dims`] first and use the image as it is: an output the size of
//! the decode must not cost a copy of it. Each thread keeps its `Resizer` (and so its
//! intermediate buffer, 18 MB for a 12 MP → 2048 px resize) from job to job, for the same
//! reason as `scratch.rs`: fresh pages cost faults and zeroing on every job.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::bitmap::Bitmap;
use super::error::EngineError;
use super::geometry::Rect;

/// Intermediate buffers kept between jobs, at most (per thread).
const KEEP_BUFFERS: usize = 32 << 20;

thread_local! {
    static RESIZER: RefCell<Option<Resizer>> = const { RefCell::new(None) };
}

/// This thread's `Resizer`, handed back (buffers trimmed to [`KEEP_BUFFERS`]) on drop.
pub struct ThreadResizer(Option<Resizer>);

pub fn thread_resizer() -> ThreadResizer {
    let kept = RESIZER.with(|r| r.borrow_mut().take());
    ThreadResizer(Some(kept.unwrap_or_default()))
}

impl Deref for ThreadResizer {
    type Target = Resizer;
    fn deref(&self) -> &Resizer {
        self.0.as_ref().expect("present until drop")
    }
}

impl DerefMut for ThreadResizer {
    fn deref_mut(&mut self) -> &mut Resizer {
        self.0.as_mut().expect("present until drop")
    }
}

impl Drop for ThreadResizer {
    fn drop(&mut self) {
        if let Some(mut r) = self.0.take() {
            if r.size_of_internal_buffers() > KEEP_BUFFERS {
                r.reset_internal_buffers();
            }
            RESIZER.with(|slot| *slot.borrow_mut() = Some(r));
        }
    }
}

fn pixel_type(channels: u8) -> PixelType {
    match channels {
        1 => PixelType::U8,
        4 => PixelType::U8x4,
        _ => PixelType::U8x3,
    }
}

/// True when resizing `crop` of a `width × height` image to `out_w × out_h` would return
/// it unchanged.
pub fn is_identity_dims(width: u32, height: u32, crop: Rect, out_w: u32, out_h: u32) -> bool {
    crop.x == 0.0
        && crop.y == 0.0
        && crop.w == width as f64
        && crop.h == height as f64
        && out_w == width
        && out_h == height
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
    let data = resize_raw(
        resizer,
        (src.width, src.height, src.channels),
        &src.data,
        crop,
        out_w,
        out_h,
    )?;
    Ok(Bitmap {
        width: out_w,
        height: out_h,
        channels: src.channels,
        data,
    })
}

/// [`resize`] on raw interleaved pixels `(width, height, channels)`; the result comes
/// from `scratch` (hand it back there when done).
pub fn resize_raw(
    resizer: &mut Resizer,
    (width, height, channels): (u32, u32, u8),
    pixels: &[u8],
    crop: Rect,
    out_w: u32,
    out_h: u32,
) -> Result<Vec<u8>, EngineError> {
    let pt = pixel_type(channels);
    let src_view = ImageRef::new(width, height, pixels, pt)
        .map_err(|e| EngineError::Internal(format!("resize source: {e}")))?;
    let len = out_w as usize * out_h as usize * channels as usize;
    let mut buf = super::scratch::take(len);
    buf.resize(len, 0);
    let mut dst = Image::from_vec_u8(out_w, out_h, buf, pt)
        .map_err(|e| EngineError::Internal(format!("resize target: {e}")))?;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(crop.x, crop.y, crop.w, crop.h);
    resizer
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| EngineError::Internal(format!("resize: {e}")))?;
    Ok(dst.into_vec())
}
