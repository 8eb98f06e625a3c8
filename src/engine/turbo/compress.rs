//! The compressing half of the TurboJPEG wrapper: baseline JPEG from packed pixels, and
//! the compressor set-up and output buffer handling `turbo_yuv.rs` shares.

use std::ffi::c_int;

use turbojpeg_sys as tj;

use super::{last_error, Handle};

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

pub(crate) fn check_size(width: u32, height: u32) -> Result<(), String> {
    if width == 0 || height == 0 || width > 65_535 || height > 65_535 {
        return Err(format!("cannot encode {width}×{height} as JPEG"));
    }
    Ok(())
}

/// A compressor set to `quality` and `subsamp`, writing into caller-sized buffers.
pub(crate) fn compressor(quality: u8, subsamp: tj::TJSAMP) -> Result<Handle, String> {
    let mut h = Handle::new(tj::TJINIT_TJINIT_COMPRESS)?;
    h.set(tj::TJPARAM_TJPARAM_QUALITY, quality.clamp(1, 100) as c_int)?;
    h.set(tj::TJPARAM_TJPARAM_SUBSAMP, subsamp)?;
    h.set(tj::TJPARAM_TJPARAM_NOREALLOC, 1)?;
    Ok(h)
}

/// Runs `compress(&mut buf, &mut size)` (one of the tj3Compress calls on `h`) into a buffer
/// of the worst-case size tj3JPEGBufSize gives, and returns the bytes written.
pub(crate) fn compress_into(
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
