//! Owning wrappers of libheif's encode-side objects: each frees what it holds exactly once,
//! on drop, and every fallible call is checked and turned into an [`AvifError`].

use std::ffi::{c_int, c_void, CStr, CString};
use std::ptr;

use super::ffi;

/// A failed libheif call: which call, and libheif's own code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvifError {
    /// libheif (or libaom under it) could not allocate: may work when memory is free again.
    #[error("{call}: out of memory: {message}")]
    OutOfMemory { call: &'static str, message: String },
    /// Any other failure: derivd asked for something libheif refused, or the codec failed.
    #[error("{call}: libheif error {code}.{subcode}: {message}")]
    Heif {
        call: &'static str,
        code: i32,
        subcode: i32,
        message: String,
    },
    /// Input derivd itself should never produce (a size libheif cannot take, short data).
    #[error("{0}")]
    Input(String),
}

/// Turns a returned `heif_error` into a `Result`.
pub fn check(call: &'static str, e: ffi::heif_error) -> Result<(), AvifError> {
    if e.code == ffi::HEIF_ERROR_OK {
        return Ok(());
    }
    let message = if e.message.is_null() {
        String::new()
    } else {
        // SAFETY: libheif documents `message` as always a valid C string; it points at
        // static or context-owned text that outlives this call.
        unsafe { CStr::from_ptr(e.message) }
            .to_string_lossy()
            .into_owned()
    };
    Err(if e.code == ffi::HEIF_ERROR_MEMORY_ALLOCATION {
        AvifError::OutOfMemory { call, message }
    } else {
        AvifError::Heif {
            call,
            code: e.code,
            subcode: e.subcode,
            message,
        }
    })
}

fn oom(call: &'static str) -> AvifError {
    AvifError::OutOfMemory {
        call,
        message: "returned NULL".into(),
    }
}

/// Metadata an AVIF carries besides the pixels (`engine/metadata/`): EXIF (a TIFF
/// structure), an XMP packet, an ICC profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta<'a> {
    pub exif: Option<&'a [u8]>,
    pub xmp: Option<&'a [u8]>,
    pub icc: Option<&'a [u8]>,
}

/// `heif_context`: the file being written.
pub struct Context(*mut ffi::heif_context);

impl Context {
    pub fn new() -> Result<Context, AvifError> {
        crate::engine::heif::init().map_err(|e| AvifError::Input(format!("heif_init: {e}")))?;
        // SAFETY: no arguments; NULL is checked.
        let ctx = unsafe { ffi::heif_context_alloc() };
        if ctx.is_null() {
            return Err(oom("heif_context_alloc"));
        }
        Ok(Context(ctx))
    }

    /// The AV1 encoder (libheif's highest-priority one: libaom in Debian's build).
    pub fn av1_encoder(&self) -> Result<Encoder, AvifError> {
        let mut enc = ptr::null_mut();
        // SAFETY: the context is live; `enc` is written on success only.
        let e = unsafe {
            ffi::heif_context_get_encoder_for_format(self.0, ffi::HEIF_COMPRESSION_AV1, &mut enc)
        };
        check("heif_context_get_encoder_for_format(AV1)", e)?;
        if enc.is_null() {
            return Err(AvifError::Input("libheif has no AV1 encoder".into()));
        }
        Ok(Encoder(enc))
    }

    /// Encodes `image` as the file's primary image (alpha, when present, as its own item),
    /// with `meta`'s EXIF and XMP as items of their own.
    pub fn encode(
        &mut self,
        image: &Image,
        encoder: &mut Encoder,
        meta: Meta<'_>,
    ) -> Result<(), AvifError> {
        let mut handle = ptr::null_mut();
        // SAFETY: all three objects are live; NULL options mean libheif's defaults; the
        // returned handle is released at once (the context keeps its own reference).
        unsafe {
            let e = ffi::heif_context_encode_image(
                self.0,
                image.0,
                encoder.0,
                ptr::null(),
                &mut handle,
            );
            let added = match check("heif_context_encode_image", e) {
                Ok(()) => self.add_metadata(handle, meta),
                Err(e) => Err(e),
            };
            if !handle.is_null() {
                ffi::heif_image_handle_release(handle);
            }
            added
        }
    }

    /// # Safety
    /// `handle` is the live handle of an image encoded into this context.
    unsafe fn add_metadata(
        &mut self,
        handle: *const ffi::heif_image_handle,
        meta: Meta<'_>,
    ) -> Result<(), AvifError> {
        let size = |b: &[u8]| {
            c_int::try_from(b.len()).map_err(|_| AvifError::Input("metadata size".into()))
        };
        if let Some(x) = meta.exif {
            let e =
                ffi::heif_context_add_exif_metadata(self.0, handle, x.as_ptr().cast(), size(x)?);
            check("heif_context_add_exif_metadata", e)?;
        }
        if let Some(x) = meta.xmp {
            let e = ffi::heif_context_add_XMP_metadata(self.0, handle, x.as_ptr().cast(), size(x)?);
            check("heif_context_add_XMP_metadata", e)?;
        }
        Ok(())
    }

    /// The whole file, written through a `heif_writer` into one `Vec`.
    pub fn write(&mut self) -> Result<Vec<u8>, AvifError> {
        unsafe extern "C" fn append(
            _ctx: *mut ffi::heif_context,
            data: *const c_void,
            size: usize,
            userdata: *mut c_void,
        ) -> ffi::heif_error {
            // SAFETY: `userdata` is the `Vec` passed below, alive and unaliased for the
            // whole `heif_context_write` call; libheif hands `size` readable bytes.
            let out = &mut *(userdata as *mut Vec<u8>);
            if size > 0 {
                out.extend_from_slice(std::slice::from_raw_parts(data as *const u8, size));
            }
            ffi::heif_error {
                code: ffi::HEIF_ERROR_OK,
                subcode: 0,
                message: c"".as_ptr(),
            }
        }
        let mut writer = ffi::heif_writer {
            writer_api_version: 1,
            write: Some(append),
        };
        let mut out: Vec<u8> = Vec::new();
        // SAFETY: the context is live; writer and `out` outlive the call.
        let e = unsafe {
            ffi::heif_context_write(self.0, &mut writer, &mut out as *mut Vec<u8> as *mut c_void)
        };
        check("heif_context_write", e)?;
        Ok(out)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_context_alloc, freed once.
        unsafe { ffi::heif_context_free(self.0) }
    }
}

/// `heif_encoder`: one AV1 encoder with its parameters.
pub struct Encoder(*mut ffi::heif_encoder);

impl Encoder {
    pub fn set_quality(&mut self, quality: u8) -> Result<(), AvifError> {
        // SAFETY: the encoder is live.
        let e = unsafe { ffi::heif_encoder_set_lossy_quality(self.0, quality as c_int) };
        check("heif_encoder_set_lossy_quality", e)
    }

    pub fn set_integer(&mut self, name: &'static str, value: i32) -> Result<(), AvifError> {
        let cname = CString::new(name).map_err(|e| AvifError::Input(e.to_string()))?;
        // SAFETY: the encoder is live; the name is a NUL-terminated string for the call.
        let e = unsafe { ffi::heif_encoder_set_parameter_integer(self.0, cname.as_ptr(), value) };
        check(name, e)
    }

    pub fn set_string(&mut self, name: &'static str, value: &str) -> Result<(), AvifError> {
        let cname = CString::new(name).map_err(|e| AvifError::Input(e.to_string()))?;
        let cvalue = CString::new(value).map_err(|e| AvifError::Input(e.to_string()))?;
        // SAFETY: as above, both strings live for the call.
        let e = unsafe {
            ffi::heif_encoder_set_parameter_string(self.0, cname.as_ptr(), cvalue.as_ptr())
        };
        check(name, e)
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: obtained from heif_context_get_encoder_for_format, released once.
        unsafe { ffi::heif_encoder_release(self.0) }
    }
}

/// `heif_image`: uncompressed pixels handed to the encoder.
pub struct Image(*mut ffi::heif_image);

impl Image {
    pub fn new(
        width: u32,
        height: u32,
        colorspace: c_int,
        chroma: c_int,
    ) -> Result<Image, AvifError> {
        let (w, h) = (dim(width)?, dim(height)?);
        let mut img = ptr::null_mut();
        // SAFETY: plain values in; `img` is written on success only.
        let e = unsafe { ffi::heif_image_create(w, h, colorspace, chroma, &mut img) };
        check("heif_image_create", e)?;
        if img.is_null() {
            return Err(oom("heif_image_create"));
        }
        Ok(Image(img))
    }

    /// Adds an 8-bit `channel` of `width × height` samples and fills it from `src` (rows
    /// of `row_bytes` bytes, `src_stride` apart).
    pub fn add_plane(
        &mut self,
        channel: c_int,
        (width, height): (u32, u32),
        row_bytes: usize,
        (src, src_stride): (&[u8], usize),
    ) -> Result<(), AvifError> {
        let rows = height as usize;
        if src_stride < row_bytes || rows == 0 || src.len() < (rows - 1) * src_stride + row_bytes {
            return Err(AvifError::Input(format!(
                "plane {channel}: {} bytes for {rows} rows of {row_bytes}",
                src.len()
            )));
        }
        let (w, h) = (dim(width)?, dim(height)?);
        // SAFETY: the image is live; libheif allocates the plane.
        check("heif_image_add_plane", unsafe {
            ffi::heif_image_add_plane(self.0, channel, w, h, 8)
        })?;
        let mut stride: c_int = 0;
        // SAFETY: the plane was just added; libheif returns its buffer and stride.
        let dst = unsafe { ffi::heif_image_get_plane(self.0, channel, &mut stride) };
        if dst.is_null() || (stride as usize) < row_bytes {
            return Err(AvifError::Input(format!("plane {channel}: no buffer")));
        }
        for (y, row) in src.chunks(src_stride).take(rows).enumerate() {
            // SAFETY: libheif's plane holds `rows` rows of `stride ≥ row_bytes` bytes, and
            // `row` holds at least `row_bytes` (checked above); the regions are disjoint.
            unsafe {
                ptr::copy_nonoverlapping(row.as_ptr(), dst.add(y * stride as usize), row_bytes)
            };
        }
        Ok(())
    }

    /// Embeds an ICC profile (a `colr` box of type `prof`), which readers take over nclx.
    pub fn set_icc(&mut self, icc: &[u8]) -> Result<(), AvifError> {
        // SAFETY: the image is live; libheif copies the profile bytes.
        let e = unsafe {
            ffi::heif_image_set_raw_color_profile(
                self.0,
                c"prof".as_ptr(),
                icc.as_ptr().cast(),
                icc.len(),
            )
        };
        check("heif_image_set_raw_color_profile", e)
    }

    /// Tags the pixels as sRGB with BT.601 full-range YCbCr (JPEG's own YCbCr).
    pub fn set_srgb_nclx(&mut self) -> Result<(), AvifError> {
        // SAFETY: the profile is allocated, filled, copied by libheif and freed here.
        unsafe {
            let nclx = ffi::heif_nclx_color_profile_alloc();
            if nclx.is_null() {
                return Err(oom("heif_nclx_color_profile_alloc"));
            }
            (*nclx).color_primaries = ffi::NCLX_PRIMARIES_BT709;
            (*nclx).transfer_characteristics = ffi::NCLX_TRANSFER_SRGB;
            (*nclx).matrix_coefficients = ffi::NCLX_MATRIX_BT601;
            (*nclx).full_range_flag = 1;
            let e = ffi::heif_image_set_nclx_color_profile(self.0, nclx);
            ffi::heif_nclx_color_profile_free(nclx);
            check("heif_image_set_nclx_color_profile", e)
        }
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: created by heif_image_create, released once.
        unsafe { ffi::heif_image_release(self.0) }
    }
}

fn dim(v: u32) -> Result<c_int, AvifError> {
    match c_int::try_from(v) {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(AvifError::Input(format!("{v} is not a valid image side"))),
    }
}
