//! Hand-written declarations of the few libheif 1.15 functions the AVIF encoder uses
//! (`/usr/include/*/libheif/heif.h`, Debian's `libheif-dev`). `libheif-sys` needs libheif
//! ≥ 1.17, newer than Debian 12 ships, so this is a binding of our own: only what we call,
//! with the C enums as the `c_int`s they are.
//!
//! Self-contained on purpose: the HEIC/AVIF input side declares its own functions, and the
//! two blocks can be merged into one later without changing either user.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};

/// `struct heif_error`: returned by value from most calls; `code == 0` is success.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct heif_error {
    pub code: c_int,
    pub subcode: c_int,
    /// Always a valid C string (libheif's own static or context-owned text).
    pub message: *const c_char,
}

/// `struct heif_writer` (API version 1): libheif calls `write` once with the whole file.
#[repr(C)]
pub struct heif_writer {
    pub writer_api_version: c_int,
    pub write: Option<
        unsafe extern "C" fn(
            ctx: *mut heif_context,
            data: *const c_void,
            size: usize,
            userdata: *mut c_void,
        ) -> heif_error,
    >,
}

/// `struct heif_color_profile_nclx` (version 1), as `heif_nclx_color_profile_alloc` makes it.
#[repr(C)]
pub struct heif_color_profile_nclx {
    pub version: u8,
    pub color_primaries: c_int,
    pub transfer_characteristics: c_int,
    pub matrix_coefficients: c_int,
    pub full_range_flag: u8,
    // Decoded chromaticities follow; never read or written here.
    _decoded: [f32; 8],
}

/// Opaque libheif objects.
#[repr(C)]
pub struct heif_context {
    _private: [u8; 0],
}
#[repr(C)]
pub struct heif_encoder {
    _private: [u8; 0],
}
#[repr(C)]
pub struct heif_image {
    _private: [u8; 0],
}
#[repr(C)]
pub struct heif_image_handle {
    _private: [u8; 0],
}

pub const HEIF_ERROR_OK: c_int = 0;
pub const HEIF_ERROR_MEMORY_ALLOCATION: c_int = 6;
pub const HEIF_COMPRESSION_AV1: c_int = 4;
pub const HEIF_COLORSPACE_YCBCR: c_int = 0;
pub const HEIF_COLORSPACE_RGB: c_int = 1;
pub const HEIF_CHROMA_420: c_int = 1;
pub const HEIF_CHROMA_INTERLEAVED_RGB: c_int = 10;
pub const HEIF_CHROMA_INTERLEAVED_RGBA: c_int = 11;
pub const HEIF_CHANNEL_Y: c_int = 0;
pub const HEIF_CHANNEL_CB: c_int = 1;
pub const HEIF_CHANNEL_CR: c_int = 2;
pub const HEIF_CHANNEL_INTERLEAVED: c_int = 10;
/// sRGB as nclx: BT.709 primaries, the sRGB transfer, BT.601 matrix, full range — what
/// JPEG's YCbCr is, and what libheif itself writes for RGB input.
pub const NCLX_PRIMARIES_BT709: c_int = 1;
pub const NCLX_TRANSFER_SRGB: c_int = 13;
pub const NCLX_MATRIX_BT601: c_int = 6;

#[link(name = "heif")]
extern "C" {
    pub fn heif_context_alloc() -> *mut heif_context;
    pub fn heif_context_free(ctx: *mut heif_context);
    pub fn heif_context_get_encoder_for_format(
        ctx: *mut heif_context,
        format: c_int,
        out: *mut *mut heif_encoder,
    ) -> heif_error;
    pub fn heif_encoder_release(enc: *mut heif_encoder);
    pub fn heif_encoder_set_lossy_quality(enc: *mut heif_encoder, quality: c_int) -> heif_error;
    pub fn heif_encoder_set_parameter_integer(
        enc: *mut heif_encoder,
        name: *const c_char,
        value: c_int,
    ) -> heif_error;
    pub fn heif_encoder_set_parameter_string(
        enc: *mut heif_encoder,
        name: *const c_char,
        value: *const c_char,
    ) -> heif_error;
    pub fn heif_image_create(
        width: c_int,
        height: c_int,
        colorspace: c_int,
        chroma: c_int,
        out: *mut *mut heif_image,
    ) -> heif_error;
    pub fn heif_image_release(img: *const heif_image);
    pub fn heif_image_add_plane(
        img: *mut heif_image,
        channel: c_int,
        width: c_int,
        height: c_int,
        bit_depth: c_int,
    ) -> heif_error;
    pub fn heif_image_get_plane(
        img: *mut heif_image,
        channel: c_int,
        out_stride: *mut c_int,
    ) -> *mut u8;
    pub fn heif_image_set_nclx_color_profile(
        img: *mut heif_image,
        profile: *const heif_color_profile_nclx,
    ) -> heif_error;
    pub fn heif_nclx_color_profile_alloc() -> *mut heif_color_profile_nclx;
    pub fn heif_nclx_color_profile_free(profile: *mut heif_color_profile_nclx);
    pub fn heif_context_encode_image(
        ctx: *mut heif_context,
        img: *const heif_image,
        enc: *mut heif_encoder,
        options: *const c_void,
        out_handle: *mut *mut heif_image_handle,
    ) -> heif_error;
    pub fn heif_image_handle_release(handle: *const heif_image_handle);
    pub fn heif_image_set_raw_color_profile(
        img: *mut heif_image,
        fourcc: *const c_char,
        data: *const c_void,
        size: usize,
    ) -> heif_error;
    pub fn heif_context_add_exif_metadata(
        ctx: *mut heif_context,
        handle: *const heif_image_handle,
        data: *const c_void,
        size: c_int,
    ) -> heif_error;
    pub fn heif_context_add_XMP_metadata(
        ctx: *mut heif_context,
        handle: *const heif_image_handle,
        data: *const c_void,
        size: c_int,
    ) -> heif_error;
    pub fn heif_context_write(
        ctx: *mut heif_context,
        writer: *mut heif_writer,
        userdata: *mut c_void,
    ) -> heif_error;
}
