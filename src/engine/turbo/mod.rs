//! A minimal safe wrapper over libjpeg-turbo's TurboJPEG 3 API (`turbojpeg-sys`, built from
//! its bundled 3.1 source with SIMD required).
//!
//! Why libjpeg-turbo: it is the JPEG codec libvips, Pillow and browsers use; its SIMD
//! IDCTs make shrink-on-load (1/2, 1/4, 1/8) nearly free beyond entropy decoding, and its
//! encoder runs at ~4 ms/MP against `jpeg-encoder`'s ~14 (the `image` crate's: ~46). Why
//! the raw bindings and not the `turbojpeg` crate: we need parameters that crate does not
//! expose (warnings as non-fatal, a progressive-scan limit, a memory cap, no marker saving)
//! and want the decode to land in a reused buffer (`scratch.rs`).
//!
//! Every call checks its inputs (buffer sizes are computed here, never trusted from C), and
//! every handle is freed on drop. A *warning* from libjpeg (corrupt entropy data, a
//! truncated file) still yields a complete image — the damaged part grey — like libvips'
//! and Pillow's default behaviour; only fatal errors fail.

mod compress;

use std::ffi::{c_int, CStr};

use turbojpeg_sys as tj;

pub(crate) use compress::{check_size, compress_into, compressor};
pub use compress::{encode, subsamp_for, SAMP_444};

/// libjpeg's own message for the last error on `handle`.
pub(super) fn last_error(handle: tj::tjhandle) -> String {
    // SAFETY: tj3GetErrorStr returns a pointer to a static or per-handle NUL-terminated
    // buffer, valid until the next call on this handle.
    unsafe {
        let p = tj::tj3GetErrorStr(handle);
        if p.is_null() {
            return "unknown libjpeg-turbo error".into();
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// An owned TurboJPEG instance.
pub(super) struct Handle(pub(super) tj::tjhandle);

impl Handle {
    pub(super) fn new(kind: tj::TJINIT) -> Result<Handle, String> {
        // SAFETY: plain constructor; NULL on failure.
        let h = unsafe { tj::tj3Init(kind as c_int) };
        if h.is_null() {
            return Err("could not create a TurboJPEG instance".into());
        }
        Ok(Handle(h))
    }

    pub(super) fn set(&mut self, param: tj::TJPARAM, value: c_int) -> Result<(), String> {
        // SAFETY: valid handle; unknown parameters are reported, not UB.
        if unsafe { tj::tj3Set(self.0, param as c_int, value) } != 0 {
            return Err(last_error(self.0));
        }
        Ok(())
    }

    pub(super) fn get(&self, param: tj::TJPARAM) -> c_int {
        // SAFETY: valid handle; a plain getter.
        unsafe { tj::tj3Get(self.0, param as c_int) }
    }

    /// A decode call's return code as: `Ok(None)` clean, `Ok(Some(warning))` complete but
    /// damaged (libjpeg filled the damage grey), `Err` failed.
    pub(super) fn decode_outcome(&self, rc: c_int) -> Result<Option<String>, String> {
        if rc == 0 {
            Ok(None)
        } else if self.only_warning() {
            Ok(Some(last_error(self.0)))
        } else {
            Err(last_error(self.0))
        }
    }

    /// After a call returned -1: was it only a warning (the output is complete)?
    pub(super) fn only_warning(&self) -> bool {
        // SAFETY: valid handle.
        unsafe { tj::tj3GetErrorCode(self.0) == tj::TJERR_TJERR_WARNING as c_int }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from tj3Init and is destroyed once.
        unsafe { tj::tj3Destroy(self.0) }
    }
}

/// Output pixel layout of a decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Gray,
    Rgb,
    /// As stored: no Adobe inversion undone (the caller knows whether there was an APP14).
    Cmyk,
}

impl Layout {
    fn tjpf(self) -> c_int {
        match self {
            Layout::Gray => tj::TJPF_TJPF_GRAY,
            Layout::Rgb => tj::TJPF_TJPF_RGB,
            Layout::Cmyk => tj::TJPF_TJPF_CMYK,
        }
    }
    pub fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::Rgb => 3,
            Layout::Cmyk => 4,
        }
    }
}

/// `dim` scaled by `num/denom`, rounded up: libjpeg's `TJSCALED`.
pub fn scaled(dim: u32, num: u32, denom: u32) -> u32 {
    ((dim as u64 * num as u64).div_ceil(denom as u64)) as u32
}

/// What a decode produced.
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    /// libjpeg reported damage (the image is complete, damaged parts grey).
    pub warning: Option<String>,
}

/// What a decode may use: libjpeg's own working memory (coefficient buffers of multi-scan
/// files, row buffers) and the number of scans.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub max_memory_mb: u32,
    pub max_scans: u32,
}

/// Why a decode failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A resource limit stopped it (the scan limit, the memory cap, an allocation that
    /// failed): the file is refused, and no other decoder may try it (none has our limits).
    Limit(String),
    /// libjpeg-turbo cannot decode this file: a feature it lacks (12-bit data, an unknown
    /// process) or data it gives up on (a fatal error in the markers or entropy data).
    Failed(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Limit(m) | DecodeError::Failed(m) => f.write_str(m),
        }
    }
}

/// libjpeg-turbo's messages for its resource limits, as in the bundled 3.1 source
/// (`turbojpeg.c`, `jerror.h`). TurboJPEG reports only a string and "fatal or warning", so
/// this list is how a limit is told from a decoding failure; the tests pin each one.
const LIMIT_MESSAGES: [&str; 4] = [
    "Progressive JPEG image has more than", // TJPARAM_SCANLIMIT
    "Memory limit exceeded",                // JERR_NO_BACKING_STORE: TJPARAM_MAXMEMORY
    "Insufficient memory",                  // JERR_OUT_OF_MEMORY
    "Memory allocation failure",            // turbojpeg.c's own malloc checks
];

pub(super) fn classify(message: String) -> DecodeError {
    if LIMIT_MESSAGES.iter().any(|m| message.contains(m)) {
        DecodeError::Limit(message)
    } else {
        DecodeError::Failed(message)
    }
}

/// A decompressor that has read `jpeg`'s header, with the scale set.
pub(super) struct Opened {
    pub handle: Handle,
    /// Scaled output size.
    pub width: u32,
    pub height: u32,
}

/// Reads the header and sets the scale (`num/denom`; lossless files are never scaled) and
/// the caps (scans; libjpeg's own working memory, i.e. progressive coefficient buffers).
pub(super) fn open(jpeg: &[u8], num: u32, denom: u32, caps: Caps) -> Result<Opened, DecodeError> {
    let setup = |h: &mut Handle| -> Result<(), String> {
        h.set(tj::TJPARAM_TJPARAM_SAVEMARKERS, 0)?; // we read ICC/EXIF ourselves
        h.set(
            tj::TJPARAM_TJPARAM_SCANLIMIT,
            caps.max_scans.min(i32::MAX as u32) as c_int,
        )?;
        let mb = caps.max_memory_mb.clamp(1, i32::MAX as u32);
        h.set(tj::TJPARAM_TJPARAM_MAXMEMORY, mb as c_int)
    };
    let mut h = Handle::new(tj::TJINIT_TJINIT_DECOMPRESS).map_err(DecodeError::Limit)?;
    setup(&mut h).map_err(DecodeError::Failed)?;
    // SAFETY: pointer and length describe the caller's live slice.
    if unsafe { tj::tj3DecompressHeader(h.0, jpeg.as_ptr(), jpeg.len() as tj::size_t) } != 0
        && !h.only_warning()
    {
        return Err(classify(last_error(h.0)));
    }
    let (w, hgt) = (
        h.get(tj::TJPARAM_TJPARAM_JPEGWIDTH),
        h.get(tj::TJPARAM_TJPARAM_JPEGHEIGHT),
    );
    if w <= 0 || hgt <= 0 {
        return Err(DecodeError::Failed(format!("bad JPEG size {w}×{hgt}")));
    }
    // 12- and 16-bit data need tj3Decompress12/16, which this wrapper does not use.
    let precision = h.get(tj::TJPARAM_TJPARAM_PRECISION);
    if precision != 8 {
        return Err(DecodeError::Failed(format!("{precision}-bit JPEG")));
    }
    let lossless = h.get(tj::TJPARAM_TJPARAM_LOSSLESS) == 1;
    let (num, denom) = if lossless { (1, 1) } else { (num, denom) };
    let factor = tj::tjscalingfactor {
        num: num as c_int,
        denom: denom as c_int,
    };
    // SAFETY: valid handle; an unsupported factor is reported as an error.
    if unsafe { tj::tj3SetScalingFactor(h.0, factor) } != 0 {
        return Err(DecodeError::Failed(last_error(h.0)));
    }
    Ok(Opened {
        width: scaled(w as u32, num, denom),
        height: scaled(hgt as u32, num, denom),
        handle: h,
    })
}

/// Decodes `jpeg` at `num/denom` of its size (one of libjpeg-turbo's scaling factors).
pub fn decode(
    jpeg: &[u8],
    layout: Layout,
    num: u32,
    denom: u32,
    caps: Caps,
) -> Result<Decoded, DecodeError> {
    let Opened {
        handle: h,
        width: sw,
        height: sh,
    } = open(jpeg, num, denom, caps)?;
    let pitch = sw as usize * layout.channels();
    let len = pitch
        .checked_mul(sh as usize)
        .ok_or_else(|| DecodeError::Limit("decoded size overflows".into()))?;
    let mut data = super::scratch::take(len);
    // SAFETY: `data` has room for at least sh rows of `pitch` bytes, which is what
    // libjpeg-turbo writes for this scaling factor and pixel format; we only set the
    // length after it returned (on success or warning, every row has been written —
    // damaged regions are filled, not skipped).
    let rc = unsafe {
        tj::tj3Decompress8(
            h.0,
            jpeg.as_ptr(),
            jpeg.len() as tj::size_t,
            data.as_mut_ptr(),
            pitch as c_int,
            layout.tjpf(),
        )
    };
    let warning = h.decode_outcome(rc).map_err(classify)?;
    // SAFETY: see above; every byte of the buffer was written.
    unsafe { data.set_len(len) };
    Ok(Decoded {
        width: sw,
        height: sh,
        data,
        warning,
    })
}

#[cfg(test)]
mod tests;
