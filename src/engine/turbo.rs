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

use std::ffi::{c_int, CStr};

use turbojpeg_sys as tj;

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

/// A decompressor that has read `jpeg`'s header, with the scale set.
pub(super) struct Opened {
    pub handle: Handle,
    /// Scaled output size.
    pub width: u32,
    pub height: u32,
}

/// Reads the header and sets the scale (`num/denom`; lossless files are never scaled).
/// `max_memory_mb` caps libjpeg's own working memory (progressive coefficient buffers).
pub(super) fn open(
    jpeg: &[u8],
    num: u32,
    denom: u32,
    max_memory_mb: u32,
) -> Result<Opened, String> {
    let mut h = Handle::new(tj::TJINIT_TJINIT_DECOMPRESS)?;
    h.set(tj::TJPARAM_TJPARAM_SAVEMARKERS, 0)?; // we read ICC/EXIF ourselves
    h.set(tj::TJPARAM_TJPARAM_SCANLIMIT, 500)?; // progressive scan bombs
    h.set(
        tj::TJPARAM_TJPARAM_MAXMEMORY,
        max_memory_mb.min(i32::MAX as u32) as c_int,
    )?;
    // SAFETY: pointer and length describe the caller's live slice.
    if unsafe { tj::tj3DecompressHeader(h.0, jpeg.as_ptr(), jpeg.len() as tj::size_t) } != 0
        && !h.only_warning()
    {
        return Err(last_error(h.0));
    }
    let (w, hgt) = (
        h.get(tj::TJPARAM_TJPARAM_JPEGWIDTH),
        h.get(tj::TJPARAM_TJPARAM_JPEGHEIGHT),
    );
    if w <= 0 || hgt <= 0 {
        return Err(format!("bad JPEG size {w}×{hgt}"));
    }
    let precision = h.get(tj::TJPARAM_TJPARAM_PRECISION);
    if precision != 8 {
        return Err(format!("{precision}-bit JPEG"));
    }
    let lossless = h.get(tj::TJPARAM_TJPARAM_LOSSLESS) == 1;
    let (num, denom) = if lossless { (1, 1) } else { (num, denom) };
    let factor = tj::tjscalingfactor {
        num: num as c_int,
        denom: denom as c_int,
    };
    // SAFETY: valid handle; an unsupported factor is reported as an error.
    if unsafe { tj::tj3SetScalingFactor(h.0, factor) } != 0 {
        return Err(last_error(h.0));
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
    max_memory_mb: u32,
) -> Result<Decoded, String> {
    let Opened {
        handle: h,
        width: sw,
        height: sh,
    } = open(jpeg, num, denom, max_memory_mb)?;
    let pitch = sw as usize * layout.channels();
    let len = pitch
        .checked_mul(sh as usize)
        .ok_or("decoded size overflows")?;
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
    let warning = h.decode_outcome(rc)?;
    // SAFETY: see above; every byte of the buffer was written.
    unsafe { data.set_len(len) };
    Ok(Decoded {
        width: sw,
        height: sh,
        data,
        warning,
    })
}

/// 4:4:4 (no chroma subsampling).
pub const SAMP_444: tj::TJSAMP = tj::TJSAMP_TJSAMP_444;

/// Chroma subsampling of a JPEG written at `quality`: 4:2:0 below 90 and 4:4:4 from 90 on,
/// as libvips does.
pub fn subsamp_for(quality: u8) -> tj::TJSAMP {
    if quality >= 90 {
        tj::TJSAMP_TJSAMP_444
    } else {
        tj::TJSAMP_TJSAMP_420
    }
}

/// Encodes packed RGB (3 channels) or grey (1 channel) as a baseline JPEG with standard
/// Huffman tables, like libvips' and Pillow's defaults (chroma as [`subsamp_for`]).
pub fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
    quality: u8,
) -> Result<Vec<u8>, String> {
    let (pf, subsamp) = match channels {
        1 => (tj::TJPF_TJPF_GRAY, tj::TJSAMP_TJSAMP_GRAY),
        3 => (tj::TJPF_TJPF_RGB, subsamp_for(quality)),
        c => return Err(format!("cannot encode {c} channels as JPEG")),
    };
    let pitch = width as usize * channels as usize;
    check_size(width, height)?;
    if pixels.len() != pitch * height as usize {
        return Err("pixel buffer size does not match the image".into());
    }
    let h = compressor(quality, subsamp)?;
    // SAFETY: `pixels` holds height rows of `pitch` bytes (checked above); the output
    // pointers come from `compress_into`.
    compress_into(&h, width, height, subsamp, |buf, size| unsafe {
        tj::tj3Compress8(
            h.0,
            pixels.as_ptr(),
            width as c_int,
            pitch as c_int,
            height as c_int,
            pf,
            buf,
            size,
        )
    })
}

pub(super) fn check_size(width: u32, height: u32) -> Result<(), String> {
    if width == 0 || height == 0 || width > 65_535 || height > 65_535 {
        return Err(format!("cannot encode {width}×{height} as JPEG"));
    }
    Ok(())
}

/// A compressor set to `quality` and `subsamp`, writing into caller-sized buffers.
pub(super) fn compressor(quality: u8, subsamp: tj::TJSAMP) -> Result<Handle, String> {
    let mut h = Handle::new(tj::TJINIT_TJINIT_COMPRESS)?;
    h.set(tj::TJPARAM_TJPARAM_QUALITY, quality.clamp(1, 100) as c_int)?;
    h.set(tj::TJPARAM_TJPARAM_SUBSAMP, subsamp)?;
    h.set(tj::TJPARAM_TJPARAM_NOREALLOC, 1)?;
    Ok(h)
}

/// Runs `compress(&mut buf, &mut size)` (one of the tj3Compress calls on `h`) into a buffer
/// of the worst-case size tj3JPEGBufSize gives, and returns the bytes written.
pub(super) fn compress_into(
    h: &Handle,
    width: u32,
    height: u32,
    subsamp: tj::TJSAMP,
    compress: impl FnOnce(*mut *mut u8, *mut tj::size_t) -> c_int,
) -> Result<Vec<u8>, String> {
    // SAFETY: pure size computation.
    let cap = unsafe { tj::tj3JPEGBufSize(width as c_int, height as c_int, subsamp) };
    if cap == 0 || cap == tj::size_t::MAX {
        return Err(last_error(h.0));
    }
    let mut out = Vec::<u8>::with_capacity(cap as usize);
    let mut ptr = out.as_mut_ptr();
    let mut size: tj::size_t = cap;
    // `out` has `cap` bytes, the worst case tj3JPEGBufSize promises, and NOREALLOC forbids
    // libjpeg-turbo from replacing the buffer. On return `size` bytes of it are written.
    let rc = compress(&mut ptr, &mut size);
    if rc != 0 && !h.only_warning() {
        return Err(last_error(h.0));
    }
    if ptr != out.as_mut_ptr() || size > cap {
        return Err("libjpeg-turbo replaced the output buffer".into());
    }
    // SAFETY: the first `size` bytes were written by the encoder.
    unsafe { out.set_len(size as usize) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_at_every_simd_scale() {
        let (w, h) = (67u32, 45u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let jpeg = encode(&rgb, w, h, 3, 85).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        for denom in [1, 2, 4, 8] {
            let d = decode(&jpeg, Layout::Rgb, 1, denom, 64).unwrap();
            assert_eq!((d.width, d.height), (w.div_ceil(denom), h.div_ceil(denom)));
            assert_eq!(d.data.len(), (d.width * d.height * 3) as usize);
            assert!(d.warning.is_none());
        }
        let g = decode(&jpeg, Layout::Gray, 1, 1, 64).unwrap();
        assert_eq!(g.data.len(), (w * h) as usize);
    }

    #[test]
    fn damage_is_a_warning_and_garbage_an_error() {
        let rgb = vec![128u8; 64 * 64 * 3];
        let jpeg = encode(&rgb, 64, 64, 3, 80).unwrap();
        let cut = decode(&jpeg[..jpeg.len() - 40], Layout::Rgb, 1, 1, 64).unwrap();
        assert!(cut.warning.is_some());
        assert!(decode(b"\xFF\xD8\xFF\xE0garbage", Layout::Rgb, 1, 1, 64).is_err());
        assert!(decode(&[], Layout::Rgb, 1, 1, 64).is_err());
        assert!(encode(&rgb, 64, 63, 3, 80).is_err());
    }
}
