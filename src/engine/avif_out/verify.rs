//! Reading an AVIF back, for the tests only (unit tests here and `tests/avif_service.rs`
//! through [`crate::engine::stages`]): the primary image decoded to 8-bit RGB(A) by the
//! same libheif. Not the engine's AVIF *input* (that has header-first limits of its own).

use std::ffi::{c_int, c_void};
use std::ptr;

use super::ffi;
use super::ffi::{heif_context, heif_error, heif_image, heif_image_handle};
use super::wrap::{check, AvifError, Context};

#[link(name = "heif")]
extern "C" {
    fn heif_context_read_from_memory_without_copy(
        ctx: *mut heif_context,
        mem: *const c_void,
        size: usize,
        options: *const c_void,
    ) -> heif_error;
    fn heif_context_get_primary_image_handle(
        ctx: *mut heif_context,
        out: *mut *mut heif_image_handle,
    ) -> heif_error;
    fn heif_image_handle_has_alpha_channel(handle: *const heif_image_handle) -> c_int;
    fn heif_decode_image(
        handle: *const heif_image_handle,
        out: *mut *mut heif_image,
        colorspace: c_int,
        chroma: c_int,
        options: *const c_void,
    ) -> heif_error;
    fn heif_image_get_width(img: *const heif_image, channel: c_int) -> c_int;
    fn heif_image_get_height(img: *const heif_image, channel: c_int) -> c_int;
    fn heif_image_get_plane_readonly(
        img: *const heif_image,
        channel: c_int,
        out_stride: *mut c_int,
    ) -> *const u8;
}

/// A decoded AVIF: `channels` is 3, or 4 when the file has an alpha image.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

/// Decodes `bytes`' primary image to tightly packed RGB or RGBA.
pub fn decode(bytes: &[u8]) -> Result<Decoded, AvifError> {
    let ctx = Context::new()?;
    // SAFETY: `bytes` outlives the context (dropped at the end of this function); every
    // libheif object made here is released before returning; plane reads stay inside the
    // `height` rows of `stride` bytes libheif reports.
    unsafe {
        let e = heif_context_read_from_memory_without_copy(
            ctx.raw(),
            bytes.as_ptr() as *const c_void,
            bytes.len(),
            ptr::null(),
        );
        check("heif_context_read_from_memory_without_copy", e)?;
        let mut handle = ptr::null_mut();
        let e = heif_context_get_primary_image_handle(ctx.raw(), &mut handle);
        check("heif_context_get_primary_image_handle", e)?;
        let alpha = heif_image_handle_has_alpha_channel(handle) != 0;
        let (chroma, channels) = if alpha {
            (ffi::HEIF_CHROMA_INTERLEAVED_RGBA, 4u8)
        } else {
            (ffi::HEIF_CHROMA_INTERLEAVED_RGB, 3u8)
        };
        let mut img = ptr::null_mut();
        let e = heif_decode_image(
            handle,
            &mut img,
            ffi::HEIF_COLORSPACE_RGB,
            chroma,
            ptr::null(),
        );
        ffi::heif_image_handle_release(handle);
        check("heif_decode_image", e)?;
        let out = copy_out(img, channels);
        ffi::heif_image_release(img);
        out
    }
}

/// The interleaved plane of `img`, packed.
unsafe fn copy_out(img: *const heif_image, channels: u8) -> Result<Decoded, AvifError> {
    let ch = ffi::HEIF_CHANNEL_INTERLEAVED;
    let (w, h) = (
        heif_image_get_width(img, ch),
        heif_image_get_height(img, ch),
    );
    let mut stride: c_int = 0;
    let plane = heif_image_get_plane_readonly(img, ch, &mut stride);
    let row = w.max(0) as usize * channels as usize;
    if plane.is_null() || w <= 0 || h <= 0 || (stride as usize) < row {
        return Err(AvifError::Input(
            "decoded image has no interleaved plane".into(),
        ));
    }
    let mut data = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        data.extend_from_slice(std::slice::from_raw_parts(
            plane.add(y * stride as usize),
            row,
        ));
    }
    Ok(Decoded {
        width: w as u32,
        height: h as u32,
        channels,
        data,
    })
}
