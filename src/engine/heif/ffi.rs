//! Hand-written declarations of the few libheif 1.15 functions derivd calls (`heif.h`).
//!
//! Debian 12 ships libheif 1.15.1; the `libheif-sys` crate needs 1.17 or later (it declares
//! functions 1.15 does not export), so these are written out here instead, only the ones
//! used. Every pointer and error coming back is checked by the safe layer (`safe.rs`).
//! C enums are `int`-sized on every platform derivd builds for, so they cross as `c_int`.

use std::ffi::{c_char, c_int, c_void};

/// `struct heif_context` (opaque).
#[repr(C)]
pub struct HeifContext {
    _private: [u8; 0],
}

/// `struct heif_image_handle` (opaque).
#[repr(C)]
pub struct HeifImageHandle {
    _private: [u8; 0],
}

/// `struct heif_image` (opaque).
#[repr(C)]
pub struct HeifImage {
    _private: [u8; 0],
}

/// `struct heif_error`: `message` is always set (a static string or one owned by the
/// context), never to be freed.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HeifError {
    pub code: c_int,
    pub subcode: c_int,
    pub message: *const c_char,
}

/// `struct heif_decoding_options` up to version 4 (libheif 1.15's). Only allocated by
/// `heif_decoding_options_alloc`, which fills the defaults: we change fields in place and
/// only those its `version` says exist.
#[repr(C)]
pub struct HeifDecodingOptions {
    pub version: u8,
    pub ignore_transformations: u8,
    pub start_progress: *const c_void,
    pub on_progress: *const c_void,
    pub end_progress: *const c_void,
    pub progress_user_data: *mut c_void,
    /// Version 2.
    pub convert_hdr_to_8bit: u8,
    /// Version 3.
    pub strict_decoding: u8,
}

pub const HEIF_ERROR_OK: c_int = 0;
pub const HEIF_ERROR_INVALID_INPUT: c_int = 2;
pub const HEIF_ERROR_UNSUPPORTED_FILETYPE: c_int = 3;
pub const HEIF_ERROR_UNSUPPORTED_FEATURE: c_int = 4;
pub const HEIF_ERROR_MEMORY_ALLOCATION: c_int = 6;
pub const HEIF_ERROR_DECODER_PLUGIN: c_int = 7;
pub const HEIF_SUBERROR_SECURITY_LIMIT_EXCEEDED: c_int = 1000;

pub const HEIF_COLORSPACE_RGB: c_int = 1;
pub const HEIF_CHROMA_INTERLEAVED_RGB: c_int = 10;
pub const HEIF_CHROMA_INTERLEAVED_RGBA: c_int = 11;
pub const HEIF_CHANNEL_INTERLEAVED: c_int = 10;

/// `heif_color_profile_type`: fourcc codes.
pub const HEIF_COLOR_PROFILE_RICC: c_int = i32::from_be_bytes(*b"rICC");
pub const HEIF_COLOR_PROFILE_PROF: c_int = i32::from_be_bytes(*b"prof");

#[link(name = "heif")]
extern "C" {
    pub fn heif_init(params: *mut c_void) -> HeifError;

    pub fn heif_context_alloc() -> *mut HeifContext;
    pub fn heif_context_free(ctx: *mut HeifContext);
    pub fn heif_context_read_from_memory_without_copy(
        ctx: *mut HeifContext,
        mem: *const c_void,
        size: usize,
        options: *const c_void,
    ) -> HeifError;
    pub fn heif_context_set_maximum_image_size_limit(ctx: *mut HeifContext, max_width: c_int);
    pub fn heif_context_set_max_decoding_threads(ctx: *mut HeifContext, max_threads: c_int);
    pub fn heif_context_get_primary_image_handle(
        ctx: *mut HeifContext,
        handle: *mut *mut HeifImageHandle,
    ) -> HeifError;

    pub fn heif_image_handle_release(handle: *const HeifImageHandle);
    pub fn heif_image_handle_get_width(handle: *const HeifImageHandle) -> c_int;
    pub fn heif_image_handle_get_height(handle: *const HeifImageHandle) -> c_int;
    pub fn heif_image_handle_has_alpha_channel(handle: *const HeifImageHandle) -> c_int;
    pub fn heif_image_handle_is_premultiplied_alpha(handle: *const HeifImageHandle) -> c_int;
    pub fn heif_image_handle_get_luma_bits_per_pixel(handle: *const HeifImageHandle) -> c_int;
    pub fn heif_image_handle_get_chroma_bits_per_pixel(handle: *const HeifImageHandle) -> c_int;
    pub fn heif_image_handle_get_color_profile_type(handle: *const HeifImageHandle) -> c_int;
    pub fn heif_image_handle_get_raw_color_profile_size(handle: *const HeifImageHandle) -> usize;
    pub fn heif_image_handle_get_raw_color_profile(
        handle: *const HeifImageHandle,
        out: *mut c_void,
    ) -> HeifError;

    pub fn heif_decoding_options_alloc() -> *mut HeifDecodingOptions;
    pub fn heif_decoding_options_free(options: *mut HeifDecodingOptions);
    pub fn heif_decode_image(
        handle: *const HeifImageHandle,
        out: *mut *mut HeifImage,
        colorspace: c_int,
        chroma: c_int,
        options: *const HeifDecodingOptions,
    ) -> HeifError;

    pub fn heif_image_release(image: *const HeifImage);
    pub fn heif_image_get_width(image: *const HeifImage, channel: c_int) -> c_int;
    pub fn heif_image_get_height(image: *const HeifImage, channel: c_int) -> c_int;
    pub fn heif_image_get_bits_per_pixel(image: *const HeifImage, channel: c_int) -> c_int;
    pub fn heif_image_get_plane_readonly(
        image: *const HeifImage,
        channel: c_int,
        stride: *mut c_int,
    ) -> *const u8;
}
