//! A safe layer over `ffi.rs`: owners that free what libheif allocated (context, image
//! handle, decoded image, decoding options) exactly once, and every error code and returned
//! pointer checked before use. Errors become [`EngineError`]s classified by fault.

use std::ffi::{c_int, c_void, CStr};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use super::ffi;
use crate::engine::EngineError;

/// A libheif error as ours: bad or unsupported input is the client's fault; a failed
/// allocation or a security limit is a limit; anything else (API misuse) is our bug.
fn check(e: ffi::HeifError, during: &str) -> Result<(), EngineError> {
    if e.code == ffi::HEIF_ERROR_OK {
        return Ok(());
    }
    let text = if e.message.is_null() {
        String::new()
    } else {
        // SAFETY: libheif documents `message` as always a valid C string when non-null.
        unsafe { CStr::from_ptr(e.message) }
            .to_string_lossy()
            .into_owned()
    };
    let msg = format!(
        "HEIF {during}: {text} (libheif error {}.{})",
        e.code, e.subcode
    );
    Err(match (e.code, e.subcode) {
        (_, ffi::HEIF_SUBERROR_SECURITY_LIMIT_EXCEEDED)
        | (ffi::HEIF_ERROR_MEMORY_ALLOCATION, _) => EngineError::LimitExceeded(msg),
        (ffi::HEIF_ERROR_UNSUPPORTED_FILETYPE | ffi::HEIF_ERROR_UNSUPPORTED_FEATURE, _) => {
            EngineError::UnsupportedFormat(msg)
        }
        (ffi::HEIF_ERROR_INVALID_INPUT | ffi::HEIF_ERROR_DECODER_PLUGIN, _) => {
            EngineError::Corrupt(msg)
        }
        _ => EngineError::Internal(msg),
    })
}

/// libheif wants `heif_init` once per process before use (it registers its decoders and
/// encoders); every user of libheif (the AVIF encoder too) calls this first.
pub(crate) fn init() -> Result<(), EngineError> {
    static INIT: OnceLock<Result<(), EngineError>> = OnceLock::new();
    // SAFETY: a null parameter block asks for the defaults.
    INIT.get_or_init(|| check(unsafe { ffi::heif_init(ptr::null_mut()) }, "init"))
        .clone()
}

/// A parsed file (boxes only: nothing is decoded by reading). Borrows the bytes, which
/// libheif reads without copying.
pub struct Context<'a> {
    ptr: NonNull<ffi::HeifContext>,
    _bytes: PhantomData<&'a [u8]>,
}

impl<'a> Context<'a> {
    /// Parses `bytes`, refusing any image side over `max_side` (libheif's own limit, which
    /// also covers items our pixel check never sees: tiles, thumbnails, auxiliary images).
    pub fn read(bytes: &'a [u8], max_side: u32) -> Result<Self, EngineError> {
        init()?;
        // SAFETY: no arguments; a null return is checked.
        let raw = unsafe { ffi::heif_context_alloc() };
        let ptr = NonNull::new(raw)
            .ok_or_else(|| EngineError::LimitExceeded("libheif context: out of memory".into()))?;
        let ctx = Context {
            ptr,
            _bytes: PhantomData,
        };
        let side = max_side.min(i32::MAX as u32) as c_int;
        // SAFETY: `ctx.ptr` is live; `bytes` outlives the context ('a), as the
        // without-copy read requires.
        unsafe {
            ffi::heif_context_set_maximum_image_size_limit(ctx.ptr.as_ptr(), side);
            // Tiles are decoded on the calling thread: the worker pool already runs one
            // render per core, and libheif's threads would each hold a tile besides.
            ffi::heif_context_set_max_decoding_threads(ctx.ptr.as_ptr(), 0);
            let e = ffi::heif_context_read_from_memory_without_copy(
                ctx.ptr.as_ptr(),
                bytes.as_ptr().cast::<c_void>(),
                bytes.len(),
                ptr::null(),
            );
            check(e, "read")?;
        }
        Ok(ctx)
    }

    /// The primary image: what a viewer shows (not a thumbnail, depth map or alpha plane).
    pub fn primary(&self) -> Result<Handle<'_>, EngineError> {
        let mut raw = ptr::null_mut();
        // SAFETY: `self.ptr` is live; `raw` is a valid out-pointer.
        check(
            unsafe { ffi::heif_context_get_primary_image_handle(self.ptr.as_ptr(), &mut raw) },
            "primary image",
        )?;
        let ptr = NonNull::new(raw)
            .ok_or_else(|| EngineError::Corrupt("HEIF: no primary image".into()))?;
        Ok(Handle {
            ptr,
            _ctx: PhantomData,
        })
    }
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_context_alloc, freed only here.
        unsafe { ffi::heif_context_free(self.ptr.as_ptr()) }
    }
}

/// One image item of a context, its header read (size after `irot`/`imir`/`clap`).
pub struct Handle<'c> {
    ptr: NonNull<ffi::HeifImageHandle>,
    _ctx: PhantomData<&'c ()>,
}

impl Handle<'_> {
    fn raw(&self) -> *const ffi::HeifImageHandle {
        self.ptr.as_ptr()
    }

    /// Displayed width and height (transformations applied), refused when not positive.
    pub fn size(&self) -> Result<(u32, u32), EngineError> {
        // SAFETY: live handle.
        let (w, h) = unsafe {
            (
                ffi::heif_image_handle_get_width(self.raw()),
                ffi::heif_image_handle_get_height(self.raw()),
            )
        };
        match (u32::try_from(w), u32::try_from(h)) {
            (Ok(w), Ok(h)) if w > 0 && h > 0 => Ok((w, h)),
            _ => Err(EngineError::Corrupt(format!("HEIF image is {w}×{h}"))),
        }
    }

    pub fn has_alpha(&self) -> bool {
        // SAFETY: live handle.
        unsafe { ffi::heif_image_handle_has_alpha_channel(self.raw()) != 0 }
    }

    pub fn premultiplied(&self) -> bool {
        // SAFETY: live handle.
        unsafe { ffi::heif_image_handle_is_premultiplied_alpha(self.raw()) != 0 }
    }

    /// The deepest of luma and chroma (-1, unknown, counts as 8).
    pub fn bits(&self) -> u8 {
        // SAFETY: live handle.
        let (l, c) = unsafe {
            (
                ffi::heif_image_handle_get_luma_bits_per_pixel(self.raw()),
                ffi::heif_image_handle_get_chroma_bits_per_pixel(self.raw()),
            )
        };
        l.max(c).clamp(8, 16) as u8
    }

    /// The ICC profile (`colr` of type `prof` or `rICC`), refused over `max_len` bytes
    /// before it is copied. An `nclx` colour box is not a profile: `None`.
    pub fn icc(&self, max_len: u64) -> Result<Option<Vec<u8>>, EngineError> {
        // SAFETY: live handle.
        let kind = unsafe { ffi::heif_image_handle_get_color_profile_type(self.raw()) };
        if kind != ffi::HEIF_COLOR_PROFILE_PROF && kind != ffi::HEIF_COLOR_PROFILE_RICC {
            return Ok(None);
        }
        // SAFETY: live handle.
        let len = unsafe { ffi::heif_image_handle_get_raw_color_profile_size(self.raw()) };
        if len as u64 > max_len {
            return Err(EngineError::LimitExceeded(format!(
                "the ICC profile is {len} bytes, over the {max_len} byte metadata limit"
            )));
        }
        if len == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; len];
        // SAFETY: `buf` holds exactly the `len` bytes libheif said it writes.
        let e = unsafe {
            ffi::heif_image_handle_get_raw_color_profile(self.raw(), buf.as_mut_ptr().cast())
        };
        check(e, "colour profile")?;
        Ok(Some(buf))
    }

    /// Decodes to interleaved 8-bit RGB or RGBA, transformations applied, deeper samples
    /// converted to 8 bits by libheif.
    pub fn decode(&self, alpha: bool) -> Result<Image<'_>, EngineError> {
        let opts = Options::new()?;
        let chroma = if alpha {
            ffi::HEIF_CHROMA_INTERLEAVED_RGBA
        } else {
            ffi::HEIF_CHROMA_INTERLEAVED_RGB
        };
        let mut raw = ptr::null_mut();
        // SAFETY: live handle, valid out-pointer, options from heif_decoding_options_alloc.
        let e = unsafe {
            ffi::heif_decode_image(
                self.raw(),
                &mut raw,
                ffi::HEIF_COLORSPACE_RGB,
                chroma,
                opts.0,
            )
        };
        check(e, "decode")?;
        let ptr = NonNull::new(raw)
            .ok_or_else(|| EngineError::Internal("libheif decoded no image".into()))?;
        Ok(Image {
            ptr,
            _handle: PhantomData,
        })
    }
}

impl Drop for Handle<'_> {
    fn drop(&mut self) {
        // SAFETY: obtained from libheif, released only here.
        unsafe { ffi::heif_image_handle_release(self.raw()) }
    }
}

/// Decoding options: transformations applied (the default), HDR converted to 8 bits.
struct Options(*mut ffi::HeifDecodingOptions);

impl Options {
    fn new() -> Result<Self, EngineError> {
        // SAFETY: no arguments; null is checked below.
        let p = unsafe { ffi::heif_decoding_options_alloc() };
        if p.is_null() {
            return Err(EngineError::LimitExceeded(
                "libheif options: out of memory".into(),
            ));
        }
        let opts = Options(p);
        // SAFETY: `p` points at libheif's defaults; only fields its version has are set.
        unsafe {
            if (*p).version < 2 {
                return Err(EngineError::Internal(format!(
                    "libheif decoding options version {} (want 2 or more)",
                    (*p).version
                )));
            }
            (*p).ignore_transformations = 0;
            (*p).convert_hdr_to_8bit = 1;
        }
        Ok(opts)
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_decoding_options_alloc, freed only here.
        unsafe { ffi::heif_decoding_options_free(self.0) }
    }
}

/// A decoded image, interleaved RGB(A).
pub struct Image<'h> {
    ptr: NonNull<ffi::HeifImage>,
    _handle: PhantomData<&'h ()>,
}

impl Image<'_> {
    /// Copies the interleaved plane into tightly packed rows of `channels` bytes a pixel,
    /// checking its size, depth and stride first.
    pub fn to_packed(&self, channels: usize) -> Result<(u32, u32, Vec<u8>), EngineError> {
        let (img, ch) = (self.ptr.as_ptr(), ffi::HEIF_CHANNEL_INTERLEAVED);
        let mut stride: c_int = 0;
        // SAFETY: live image; `stride` is a valid out-pointer.
        let (w, h, bpp, data) = unsafe {
            (
                ffi::heif_image_get_width(img, ch),
                ffi::heif_image_get_height(img, ch),
                ffi::heif_image_get_bits_per_pixel(img, ch),
                ffi::heif_image_get_plane_readonly(img, ch, &mut stride),
            )
        };
        let bad = |why: &str| EngineError::Internal(format!("libheif image: {why}"));
        let (w, h) = match (usize::try_from(w), usize::try_from(h)) {
            (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
            _ => return Err(bad(&format!("{w}×{h}"))),
        };
        if data.is_null() || bpp != 8 * channels as c_int {
            return Err(bad(&format!("plane {data:?} at {bpp} bits a pixel")));
        }
        let row = w * channels;
        let stride = usize::try_from(stride).ok().filter(|s| *s >= row);
        let stride = stride.ok_or_else(|| bad("stride shorter than a row"))?;
        let mut out = Vec::with_capacity(row * h);
        for y in 0..h {
            // SAFETY: libheif's plane holds `h` rows of `stride` bytes, each at least `row`.
            let line = unsafe { std::slice::from_raw_parts(data.add(y * stride), row) };
            out.extend_from_slice(line);
        }
        Ok((w as u32, h as u32, out))
    }
}

impl Drop for Image<'_> {
    fn drop(&mut self) {
        // SAFETY: obtained from heif_decode_image, released only here.
        unsafe { ffi::heif_image_release(self.ptr.as_ptr()) }
    }
}
