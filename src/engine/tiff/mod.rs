//! TIFF through libtiff (Debian's libtiff 4.5, the decoder libvips and Pillow use), by a thin
//! binding of our own (`ffi.rs`): every variant libtiff reads — strips or tiles, contiguous
//! or planar, 1 to 16 bits, palette, CCITT Fax3/Fax4, LZW/Deflate/LZMA/ZSTD/PackBits,
//! JPEG-in-TIFF (new and old style), YCbCr, CIELab, CMYK, BigTIFF — renders, where the
//! `tiff` crate refused many of them and panicked on valid tiled planar files.
//!
//! Two decode paths, chosen from the header:
//! * **RGBA** (`rgba.rs`): libtiff's `TIFFReadRGBAImageOriented` makes 8-bit RGBA of any
//!   photometric it understands; we keep it stored-side up and let the engine orient it.
//! * **Samples** (`samples.rs`): what RGBA cannot do or gets wrong — grey with 12- or
//!   32-bit, signed-integer or floating-point samples, and CMYK (which then gets its ICC
//!   profile through Little CMS, like a CMYK JPEG) — read as decoded strips or tiles.
//!
//! Limits come first: the header is read under the metadata budget, the pixel limit is
//! checked by the caller, and the decode runs with libtiff's own allocations capped at the
//! estimate ([`Header::estimate`]). libtiff reads from the buffer only (`handle.rs`), and
//! its messages become typed errors instead of stderr lines.

mod ffi;
mod handle;
mod rgba;
mod samples;

use std::ffi::c_char;

use super::color::{to_srgb_deferred, Srgb};
use super::error::EngineError;
use handle::Open;

/// Room for libtiff's small allocations (directory, codec state, tables).
const FIXED: u64 = 1 << 20;

/// How the pixels will be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Rgba,
    Grey,
    Cmyk,
}

/// What the first directory says, read before any pixel is decoded.
#[derive(Debug, Clone)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    /// TIFF/EXIF orientation 1..=8.
    pub orientation: u8,
    /// Length of the embedded ICC profile (0 if none).
    pub icc_len: u64,
    photometric: u16,
    bits: u16,
    samples: u16,
    format: u16,
    separate: bool,
    /// Bytes of one decoded strip or tile.
    chunk: u64,
    path: Path,
}

/// Reads the first directory of `bytes`, libtiff allocating at most `max_alloc` at once.
pub fn read_header(bytes: &[u8], max_alloc: u64) -> Result<Header, EngineError> {
    let t = Open::new(bytes, max_alloc)?;
    let field = |tag| t.u16_field(tag).unwrap_or(0);
    let (width, height) = match (
        t.u32_field(ffi::TAG_IMAGEWIDTH),
        t.u32_field(ffi::TAG_IMAGELENGTH),
    ) {
        (Some(w), Some(h)) => (w, h),
        _ => {
            return Err(EngineError::Corrupt(
                "TIFF: no image width or length".into(),
            ))
        }
    };
    let (bits, samples, format) = (
        field(ffi::TAG_BITSPERSAMPLE),
        field(ffi::TAG_SAMPLESPERPIXEL),
        field(ffi::TAG_SAMPLEFORMAT),
    );
    // A missing photometric is guessed from the samples, as libtiff's RGBA reader does.
    let photometric = match (t.u16_field(ffi::TAG_PHOTOMETRIC), samples) {
        (Some(p), _) => p,
        (None, 1 | 2) => ffi::PHOTOMETRIC_MINISBLACK,
        (None, 3 | 4) => ffi::PHOTOMETRIC_RGB,
        (None, _) => {
            return Err(EngineError::Corrupt(
                "TIFF: no photometric interpretation".into(),
            ))
        }
    };
    let orientation = match field(ffi::TAG_ORIENTATION) {
        o @ 1..=8 => o as u8,
        _ => 1,
    };
    let chunk = t.chunk_size();
    let mut header = Header {
        width,
        height,
        orientation,
        icc_len: t.icc().map_or(0, |p| p.len() as u64),
        photometric,
        bits,
        samples,
        format,
        separate: field(ffi::TAG_PLANARCONFIG) == ffi::PLANARCONFIG_SEPARATE,
        chunk,
        path: Path::Rgba,
    };
    header.path = choose_path(&t, &header)?;
    Ok(header)
}

/// RGBA for whatever libtiff's RGBA interface reads right; our grey reader for grey samples
/// it cannot read (12, 32 bits) or would misread (signed, floating point).
fn choose_path(t: &Open, h: &Header) -> Result<Path, EngineError> {
    let mut why = [0 as c_char; 1024];
    let rgba_ok = unsafe { ffi::TIFFRGBAImageOK(t.tif, why.as_mut_ptr()) } == 1;
    let grey = matches!(
        h.photometric,
        ffi::PHOTOMETRIC_MINISWHITE | ffi::PHOTOMETRIC_MINISBLACK
    );
    let exotic = matches!(h.format, ffi::SAMPLEFORMAT_INT | ffi::SAMPLEFORMAT_IEEEFP);
    if grey && (exotic || !rgba_ok) && samples::supports(h.bits, h.format) {
        return Ok(Path::Grey);
    }
    let cmyk_inks = t.u16_field(ffi::TAG_INKSET) == Some(ffi::INKSET_CMYK);
    if h.photometric == ffi::PHOTOMETRIC_SEPARATED
        && cmyk_inks
        && h.samples >= 4
        && !exotic
        && h.bits <= 16
    {
        return Ok(Path::Cmyk);
    }
    if rgba_ok && !exotic {
        return Ok(Path::Rgba);
    }
    let why = unsafe { std::ffi::CStr::from_ptr(why.as_ptr()) }.to_string_lossy();
    Err(EngineError::UnsupportedFormat(if why.is_empty() {
        format!("TIFF with {}-bit samples of format {}", h.bits, h.format)
    } else {
        format!("TIFF: {why}")
    }))
}

impl Header {
    /// Peak bytes of one decode of a source `input_len` long: the 4-byte RGBA raster,
    /// compacted in place, or our 8-bit grey or CMYK samples; plus the RGB copy grey and
    /// CMYK become (`color.rs`). On top: libtiff's decoded strips or tiles (one per plane
    /// for RGBA, and one more for the codec), the raw strip it reads (at most the file).
    pub fn estimate(&self, input_len: u64) -> u64 {
        let px = self.width as u64 * self.height as u64;
        let (pixels, chunks) = match self.path {
            // The raster shrinks in place to its grey bytes before the RGB copy is made.
            Path::Rgba if self.is_grey() => (4 * px + px, self.samples as u64 + 1),
            Path::Rgba => (4 * px, self.samples as u64 + 1),
            Path::Grey => (px + 3 * px, 1),
            Path::Cmyk => (4 * px + 3 * px, 1),
        };
        let chunks = self.chunk.saturating_mul(chunks);
        pixels.saturating_add(chunks).saturating_add(input_len) + FIXED
    }

    fn is_grey(&self) -> bool {
        matches!(
            self.photometric,
            ffi::PHOTOMETRIC_MINISWHITE | ffi::PHOTOMETRIC_MINISBLACK
        )
    }

    /// The ICC profile applies to the pixels we hand on: grey, RGB or CMYK ones, not the
    /// RGB libtiff made of CIELab.
    fn profile_applies(&self) -> bool {
        self.is_grey()
            || self.path == Path::Cmyk
            || matches!(
                self.photometric,
                ffi::PHOTOMETRIC_RGB | ffi::PHOTOMETRIC_PALETTE | ffi::PHOTOMETRIC_YCBCR
            )
    }
}

/// Decodes the first image of `bytes` as stored (not oriented), libtiff's allocations
/// capped at `max_alloc`; RGB comes back with its colour conversion still pending.
pub fn decode(bytes: &[u8], header: &Header, max_alloc: u64) -> Result<Srgb, EngineError> {
    let t = Open::new(bytes, max_alloc)?;
    let pixels = match header.path {
        Path::Rgba => rgba::read(&t, header)?,
        Path::Grey => samples::read(&t, header, 1)?,
        Path::Cmyk => samples::read(&t, header, 4)?,
    };
    let icc = header.profile_applies().then(|| t.icc()).flatten();
    let Srgb { bitmap, fix } = to_srgb_deferred(pixels, header.width, header.height, icc);
    Ok(Srgb {
        bitmap: bitmap.drop_opaque_alpha(),
        fix,
    })
}
