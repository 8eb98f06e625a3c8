//! libtiff's RGBA interface: every photometric it knows (grey, palette, RGB, YCbCr, CMYK,
//! CIELab, 1 to 16 bits, any planar configuration or compression) as 8-bit RGBA, then
//! narrowed in place to what the pixels need.

use std::ffi::c_int;

use super::handle::Open;
use super::{ffi, Header};
use crate::engine::color::Pixels;
use crate::engine::error::EngineError;

/// The whole image as stored (libtiff asked for the file's own orientation, so it flips
/// nothing; the engine turns the small renditions upright instead).
pub fn read(t: &Open, h: &Header) -> Result<Pixels, EngineError> {
    let px = h.width as usize * h.height as usize;
    let mut data = zeroed(4 * px)?;
    let ok = if (data.as_ptr() as usize).is_multiple_of(std::mem::align_of::<u32>()) {
        // SAFETY: 4 × px bytes, aligned for u32; libtiff writes exactly width × height.
        unsafe { read_into(t, h, data.as_mut_ptr() as *mut u32) }
    } else {
        // The allocator gave unaligned bytes (not glibc's, which aligns to 16): a copy.
        let mut words = vec![0u32; px];
        let ok = unsafe { read_into(t, h, words.as_mut_ptr()) };
        for (d, w) in data.chunks_exact_mut(4).zip(&words) {
            d.copy_from_slice(&w.to_ne_bytes());
        }
        ok
    };
    if !ok {
        return Err(t.error("cannot decode the image"));
    }
    if cfg!(target_endian = "big") {
        // Packed ABGR words: R is the low byte, so big-endian memory holds A, B, G, R.
        data.chunks_exact_mut(4).for_each(|p| p.reverse());
    }
    Ok(narrow(data, h.is_grey()))
}

unsafe fn read_into(t: &Open, h: &Header, raster: *mut u32) -> bool {
    let stop_on_error: c_int = 1;
    ffi::TIFFReadRGBAImageOriented(
        t.tif,
        h.width,
        h.height,
        raster,
        h.orientation as c_int,
        stop_on_error,
    ) == 1
}

/// A zeroed buffer, or a typed error if the allocation fails (the estimate was reserved,
/// but the allocator may still refuse). Zeroed by the allocator (calloc), so pages a
/// truncated file never reaches are never touched.
fn zeroed(len: usize) -> Result<Vec<u8>, EngineError> {
    let refused = || EngineError::LimitExceeded(format!("cannot allocate {len} bytes"));
    if len == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(len).map_err(|_| refused())?;
    // SAFETY: a non-zero size; the Vec takes the allocation with the same layout (u8, len).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(refused());
    }
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// Opaque images lose the alpha byte (grey ones keep one channel); others get their
/// colour un-premultiplied (libtiff's RGBA is premultiplied; the engine's is straight).
fn narrow(mut data: Vec<u8>, grey: bool) -> Pixels {
    if data.chunks_exact(4).all(|p| p[3] == 255) {
        let n = if grey { 1 } else { 3 };
        let px = data.len() / 4;
        for i in 0..px {
            data.copy_within(4 * i..4 * i + n, n * i);
        }
        data.truncate(n * px);
        // Hands the rest back before the grey → RGB copy (glibc shrinks in place).
        data.shrink_to_fit();
        return if grey {
            Pixels::Gray(data)
        } else {
            Pixels::Rgb(data)
        };
    }
    for p in data.chunks_exact_mut(4) {
        let a = p[3] as u32;
        if a == 0 {
            p[..3].fill(0);
        } else if a < 255 {
            for c in &mut p[..3] {
                *c = ((*c as u32 * 255 + a / 2) / a).min(255) as u8;
            }
        }
    }
    Pixels::Rgba(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_pixels_narrow_and_premultiplied_ones_are_undone() {
        let px = vec![10, 20, 30, 255, 40, 50, 60, 255];
        assert!(
            matches!(narrow(px.clone(), false), Pixels::Rgb(d) if d == [10, 20, 30, 40, 50, 60])
        );
        assert!(matches!(narrow(px, true), Pixels::Gray(d) if d == [10, 40]));
        let half = vec![50, 25, 0, 128, 9, 9, 9, 0];
        assert!(
            matches!(narrow(half, false), Pixels::Rgba(d) if d == [100, 50, 0, 128, 0, 0, 0, 0])
        );
    }
}
