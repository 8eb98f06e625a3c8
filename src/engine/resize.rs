//! Resizing with `fast_image_resize` (SIMD convolution, Lanczos3), cropping in the same pass.
//!
//! Callers check [`is_identity_dims`] first and use the image as it is: an output the size of
//! the decode must not cost a copy of it. Each thread keeps its `Resizer` (and so its
//! intermediate buffer, 18 MB for a 12 MP → 2048 px resize) from job to job, for the same
//! reason as `scratch.rs`: fresh pages cost faults and zeroing on every job.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::LazyLock;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{Filter, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

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
    crop == Rect::whole(width, height) && (out_w, out_h) == (width, height)
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
    let data = convolve(
        resizer,
        (src.width, src.height, pixel_type(src.channels)),
        &src.data,
        crop,
        (out_w, out_h),
        true,
    )?;
    Ok(Bitmap {
        width: out_w,
        height: out_h,
        channels: src.channels,
        data,
    })
}

/// One Lanczos3 resize of `crop` of an image to `out_w × out_h`, into a `scratch` buffer.
/// With `alpha`, a fourth channel is treated as alpha (premultiplied while convolving).
fn convolve(
    resizer: &mut Resizer,
    (width, height, pt): (u32, u32, PixelType),
    pixels: &[u8],
    crop: Rect,
    (out_w, out_h): (u32, u32),
    alpha: bool,
) -> Result<Vec<u8>, EngineError> {
    let src_view = ImageRef::new(width, height, pixels, pt)
        .map_err(|e| EngineError::Internal(format!("resize source: {e}")))?;
    let len = out_w as usize * out_h as usize * pt.size();
    // Every pixel of the target is written by the resizer.
    let buf = super::scratch::take_sized(len);
    let mut dst = Image::from_vec_u8(out_w, out_h, buf, pt)
        .map_err(|e| EngineError::Internal(format!("resize target: {e}")))?;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(lanczos3()))
        .use_alpha(alpha)
        .crop(crop.x, crop.y, crop.w, crop.h);
    resizer
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| EngineError::Internal(format!("resize: {e}")))?;
    Ok(dst.into_vec())
}

/// Lanczos3, its weights read from a table. `fast_image_resize` evaluates the filter for
/// every tap of every output pixel of every resize (two `sin` calls each); with three
/// planes per output that was 4 % of a W2 job. Linear interpolation between 1/1024-px
/// samples is within 2e-6 of the exact kernel, far below the 14-bit fixed-point weights
/// the convolution then uses.
fn lanczos3() -> FilterType {
    FilterType::Custom(Filter::new("Lanczos3", lanczos3_table, 3.0).expect("positive support"))
}

fn lanczos3_table(x: f64) -> f64 {
    let t = x.abs() * LUT_STEPS as f64;
    if t >= 3.0 * LUT_STEPS as f64 {
        return 0.0;
    }
    let (i, f) = (t as usize, t.fract());
    let table = &*LANCZOS3;
    table[i] + (table[i + 1] - table[i]) * f
}

const LUT_STEPS: usize = 1024;

static LANCZOS3: LazyLock<Vec<f64>> = LazyLock::new(|| {
    (0..=3 * LUT_STEPS + 1)
        .map(|i| lanczos3_exact(i as f64 / LUT_STEPS as f64))
        .collect()
});

fn lanczos3_exact(x: f64) -> f64 {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let a = x * std::f64::consts::PI;
            a.sin() / a
        }
    }
    if x.abs() < 3.0 {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// Resizes one plane (one channel), as [`resize`] would but about twice as fast (an
/// identity resize is a copy).
///
/// `fast_image_resize` runs the vertical pass first, then the horizontal one, whose
/// one-channel kernel handles one sample per tap where the four-channel one handles four
/// for about the same work (it was 17 % of a W2 job on the YCbCr path). So: the vertical
/// pass on the plane as it is, then each group of four rows zipped into one four-channel
/// row, the horizontal pass on those, and the rows unzipped. The zips are plain copies,
/// and the result is the same as one two-pass resize.
pub fn resize_plane(
    resizer: &mut Resizer,
    src: &Bitmap,
    crop: Rect,
    out_w: u32,
    out_h: u32,
) -> Result<Bitmap, EngineError> {
    debug_assert_eq!(src.channels, 1);
    if is_identity_dims(src.width, src.height, crop, out_w, out_h) {
        return Ok(src.clone());
    }
    let w = src.width;
    let rows = Rect {
        x: 0.0,
        w: w as f64,
        ..crop
    };
    let tall = convolve(
        resizer,
        (w, src.height, PixelType::U8),
        &src.data,
        rows,
        (w, out_h),
        false,
    )?;
    let groups = out_h.div_ceil(4);
    let zipped = zip4(&tall, w as usize, out_h as usize);
    super::scratch::give(tall);
    let cols = Rect {
        y: 0.0,
        h: groups as f64,
        ..crop
    };
    let narrow = convolve(
        resizer,
        (w, groups, PixelType::U8x4),
        &zipped,
        cols,
        (out_w, groups),
        false,
    )?;
    super::scratch::give(zipped);
    let data = unzip4(&narrow, out_w as usize, out_h as usize);
    super::scratch::give(narrow);
    Ok(Bitmap::plane(out_w, out_h, data))
}

/// Rows `4g..4g+4` of a `w`-wide plane of `h` rows become row `g` of a four-channel image
/// (the last group repeats the last row). Written as 32-bit words so that it vectorises.
/// Never inlined: inlined into `resize_plane` its loop vectorised or not depending on how
/// the crate happened to be split into codegen units (a 3 % swing of W2 between builds).
#[inline(never)]
fn zip4(plane: &[u8], w: usize, h: usize) -> Vec<u8> {
    let groups = h.div_ceil(4);
    let mut out = super::scratch::take_sized(w * 4 * groups);
    let row = |r: usize| &plane[r.min(h - 1) * w..][..w];
    for (g, dst) in out.chunks_exact_mut(w * 4).enumerate() {
        let (a, b, c, d) = (row(4 * g), row(4 * g + 1), row(4 * g + 2), row(4 * g + 3));
        // Zipped iterators: no index, so no bounds checks in the way of vectorising.
        let quads = a.iter().zip(b).zip(c.iter().zip(d));
        for (px, ((&a, &b), (&c, &d))) in dst.chunks_exact_mut(4).zip(quads) {
            px.copy_from_slice(&[a, b, c, d]);
        }
    }
    out
}

/// The inverse of [`zip4`]: a `w`-wide plane of `h` rows. Never inlined, as `zip4`.
#[inline(never)]
fn unzip4(zipped: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = super::scratch::take_sized(w * h);
    for (g, src) in zipped.chunks_exact(w * 4).enumerate() {
        if let Some(rows) = out.get_mut(4 * g * w..(4 * g + 4) * w) {
            // A whole group: four rows at once, from zipped iterators (they vectorise).
            let (r01, r23) = rows.split_at_mut(2 * w);
            let (r0, r1) = r01.split_at_mut(w);
            let (r2, r3) = r23.split_at_mut(w);
            let dsts = r0.iter_mut().zip(r1.iter_mut()).zip(r2.iter_mut().zip(r3));
            for (px, ((a, b), (c, d))) in src.chunks_exact(4).zip(dsts) {
                (*a, *b, *c, *d) = (px[0], px[1], px[2], px[3]);
            }
            continue;
        }
        for k in 0..4.min(h - 4 * g) {
            let dst = &mut out[(4 * g + k) * w..][..w];
            for (o, px) in dst.iter_mut().zip(src.chunks_exact(4)) {
                let word = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
                *o = (word >> (8 * k)) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_table_matches_lanczos3() {
        for i in 0..=70_000 {
            let x = -3.5 + i as f64 * 1e-4;
            let err = (lanczos3_table(x) - lanczos3_exact(x)).abs();
            assert!(err < 2e-6, "{x}: {err}");
        }
    }

    #[test]
    fn zipped_plane_resize_equals_a_plain_resize() {
        let (w, h) = (203u32, 157u32);
        let data: Vec<u8> = (0..w * h)
            .map(|i| ((i * 37) ^ (i / w * 11)) as u8)
            .collect();
        let src = Bitmap {
            width: w,
            height: h,
            channels: 1,
            data,
        };
        let mut r = Resizer::new();
        for (crop, ow, oh) in [
            (
                Rect {
                    x: 0.0,
                    y: 0.0,
                    w: 203.0,
                    h: 157.0,
                },
                100,
                77,
            ),
            (
                Rect {
                    x: 10.5,
                    y: 3.25,
                    w: 150.0,
                    h: 150.0,
                },
                61,
                61,
            ),
            (
                Rect {
                    x: 0.0,
                    y: 0.0,
                    w: 203.0,
                    h: 157.0,
                },
                203,
                157,
            ),
            (
                Rect {
                    x: 0.0,
                    y: 0.0,
                    w: 202.0,
                    h: 155.0,
                },
                1,
                2,
            ),
        ] {
            let fast = resize_plane(&mut r, &src, crop, ow, oh).unwrap();
            let plain = resize(&mut r, &src, crop, ow, oh).unwrap();
            assert_eq!((fast.width, fast.height), (ow, oh));
            assert_eq!(fast.data, plain.data, "{crop:?} → {ow}×{oh}");
        }
    }
}
