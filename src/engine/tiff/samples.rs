//! Images libtiff's RGBA interface cannot read or would misread, read as their samples from
//! decoded strips or tiles: grey with 12- or 32-bit, signed-integer or floating-point
//! samples (RGBA takes every sample as unsigned, 1 to 16 bits), and CMYK (RGBA converts only
//! 8-bit CMYK, and without its profile; here it goes to Little CMS like a CMYK JPEG).
//!
//! Unsigned samples of up to 16 bits scale by their maximum. Signed, 32-bit and
//! floating-point samples have no agreed white (scientific and medical images use any
//! range), so the image's own range is stretched to black..white, as viewers do: that takes
//! a first pass for the range, and no buffer beyond the 8-bit result.

use std::ffi::c_void;

use super::handle::Open;
use super::{ffi, Header};
use crate::engine::color::Pixels;
use crate::engine::error::EngineError;

/// Whether this reader handles `bits`-bit samples of TIFF sample format `format`.
pub fn supports(bits: u16, format: u16) -> bool {
    match format {
        ffi::SAMPLEFORMAT_IEEEFP => matches!(bits, 32 | 64),
        _ => (1..=32).contains(&bits),
    }
}

/// How samples are laid out in a decoded strip or tile.
struct Layout {
    bits: usize,
    /// Bits from one pixel's sample to the next pixel's.
    step: usize,
    format: u16,
    /// Channels kept (1 grey, 4 CMYK), and whether each is a plane of its own.
    channels: usize,
    separate: bool,
}

/// The first `channels` samples of every pixel, as 8 bits: grey (1) or CMYK (4).
pub fn read(t: &Open, h: &Header, channels: usize) -> Result<Pixels, EngineError> {
    let per_pixel = if h.separate {
        1
    } else {
        h.samples.max(1) as usize
    };
    let l = Layout {
        bits: h.bits as usize,
        step: per_pixel * h.bits as usize,
        format: h.format,
        channels,
        separate: h.separate,
    };
    let mut out = vec![0u8; h.width as usize * h.height as usize * channels];
    let scaled =
        !matches!(h.format, ffi::SAMPLEFORMAT_INT | ffi::SAMPLEFORMAT_IEEEFP) && h.bits <= 16;
    let (lo, hi) = if scaled {
        (0.0, ((1u32 << h.bits) - 1) as f32)
    } else {
        let mut range = (f32::MAX, f32::MIN);
        each_sample(t, h, &l, &mut |_, v| {
            if v.is_finite() {
                range = (range.0.min(v), range.1.max(v));
            }
        })?;
        range
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let invert = h.photometric == ffi::PHOTOMETRIC_MINISWHITE;
    each_sample(t, h, &l, &mut |i, v| out[i] = to_8bit(v, lo, span, invert))?;
    Ok(if channels == 4 {
        Pixels::Cmyk(out)
    } else {
        Pixels::Gray(out)
    })
}

fn to_8bit(v: f32, lo: f32, span: f32, invert: bool) -> u8 {
    let g = if v.is_finite() {
        ((v - lo) / span * 255.0).round().clamp(0.0, 255.0) as u8
    } else {
        0
    };
    if invert {
        255 - g
    } else {
        g
    }
}

/// Calls `f(index in the output, value)` for every kept sample of the image.
fn each_sample(
    t: &Open,
    h: &Header,
    l: &Layout,
    f: &mut dyn FnMut(usize, f32),
) -> Result<(), EngineError> {
    let tiled = t.tiled();
    let (cw, ch) = chunk_dims(t, h, tiled)?;
    let row_bytes = (cw as usize * l.step).div_ceil(8);
    let mut buf = vec![0u8; h.chunk as usize];
    let planes = if l.separate { l.channels } else { 1 };
    let strips_per_plane = h.height.div_ceil(ch);
    for plane in 0..planes {
        for y in (0..h.height).step_by(ch as usize) {
            for x in (0..h.width).step_by(cw as usize) {
                let n = unsafe {
                    read_chunk(
                        t,
                        tiled,
                        (x, y, plane as u16),
                        plane as u32 * strips_per_plane + y / ch,
                        &mut buf,
                    )
                };
                if n < 0 {
                    return Err(t.error("cannot decode a strip or tile"));
                }
                let size = (
                    (ch.min(h.height - y)) as usize,
                    (cw.min(h.width - x)) as usize,
                );
                let at = (x as usize, y as usize);
                place(
                    &buf[..n as usize],
                    l,
                    row_bytes,
                    size,
                    at,
                    (h.width as usize, plane),
                    f,
                );
            }
        }
    }
    Ok(())
}

/// Width and height of a tile, or of a strip.
fn chunk_dims(t: &Open, h: &Header, tiled: bool) -> Result<(u32, u32), EngineError> {
    let (cw, ch) = if tiled {
        let tw = t.u32_field(ffi::TAG_TILEWIDTH).unwrap_or(0);
        (tw, t.u32_field(ffi::TAG_TILELENGTH).unwrap_or(0))
    } else {
        let rows = t.u32_field(ffi::TAG_ROWSPERSTRIP).unwrap_or(h.height);
        (h.width, rows.clamp(1, h.height.max(1)))
    };
    if cw == 0 || ch == 0 {
        return Err(EngineError::Corrupt(
            "TIFF: tiled without a tile size".into(),
        ));
    }
    Ok((cw, ch))
}

/// Decodes one tile (at `x, y` of `plane`) or strip (`strip`) into `buf`: bytes or -1.
unsafe fn read_chunk(
    t: &Open,
    tiled: bool,
    (x, y, plane): (u32, u32, u16),
    strip: u32,
    buf: &mut [u8],
) -> isize {
    let (ptr, len) = (buf.as_mut_ptr() as *mut c_void, buf.len() as isize);
    if tiled {
        let tile = ffi::TIFFComputeTile(t.tif, x, y, 0, plane);
        ffi::TIFFReadEncodedTile(t.tif, tile, ptr, len)
    } else {
        ffi::TIFFReadEncodedStrip(t.tif, strip, ptr, len)
    }
}

/// Hands on the samples of `rows × cols` pixels of `buf` (rows `row_bytes` apart), placed
/// at (`x`, `y`) of an image `width` wide; of `plane` only if planes are separate.
fn place(
    buf: &[u8],
    l: &Layout,
    row_bytes: usize,
    (rows, cols): (usize, usize),
    (x, y): (usize, usize),
    (width, plane): (usize, usize),
    f: &mut dyn FnMut(usize, f32),
) {
    let channels = if l.separate {
        plane..plane + 1
    } else {
        0..l.channels
    };
    for r in 0..rows {
        for c in 0..cols {
            let pixel = (y + r) * width + x + c;
            let bit = r * row_bytes * 8 + c * l.step;
            for k in channels.clone() {
                let within = if l.separate { 0 } else { k * l.bits };
                f(pixel * l.channels + k, sample(buf, bit + within, l));
            }
        }
    }
}

/// The sample at bit offset `bit` (0 past the end of a short strip). libtiff has already
/// put 16-, 32- and 64-bit samples in native byte order; others are packed bits, MSB first.
fn sample(buf: &[u8], bit: usize, l: &Layout) -> f32 {
    if bit + l.bits > buf.len() * 8 {
        return 0.0;
    }
    let at = bit / 8;
    let word = |n: usize| -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&buf[at..at + n]);
        b
    };
    let [a, b, c, d, ..] = word(4.min(buf.len() - at));
    match (l.format, l.bits, bit.is_multiple_of(8)) {
        (ffi::SAMPLEFORMAT_IEEEFP, 32, _) => f32::from_ne_bytes([a, b, c, d]),
        (ffi::SAMPLEFORMAT_IEEEFP, _, _) => f64::from_ne_bytes(word(8)) as f32,
        (f, 8, true) => signed_or_not(a as u32, 8, f),
        (f, 16, true) => signed_or_not(u16::from_ne_bytes([a, b]) as u32, 16, f),
        (f, 32, true) => signed_or_not(u32::from_ne_bytes([a, b, c, d]), 32, f),
        (f, bits, _) => signed_or_not(packed(buf, bit, bits), bits, f),
    }
}

/// `bits` bits from bit offset `bit`, most significant first.
fn packed(buf: &[u8], bit: usize, bits: usize) -> u32 {
    (bit..bit + bits).fold(0u64, |v, b| {
        (v << 1) | ((buf[b / 8] >> (7 - b % 8)) & 1) as u64
    }) as u32
}

fn signed_or_not(v: u32, bits: usize, format: u16) -> f32 {
    match format {
        ffi::SAMPLEFORMAT_INT if bits < 32 && (v >> (bits - 1)) & 1 == 1 => {
            (v as i64 - (1i64 << bits)) as f32
        }
        ffi::SAMPLEFORMAT_INT => v as i32 as f32,
        _ => v as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(bits: usize, format: u16) -> Layout {
        Layout {
            bits,
            step: bits,
            format,
            channels: 1,
            separate: false,
        }
    }

    #[test]
    fn samples_of_every_width_and_sign() {
        // Two 12-bit samples: 0xABC, 0x123.
        let b = [0xAB, 0xC1, 0x23];
        assert_eq!(sample(&b, 0, &layout(12, 1)), 0xABC as f32);
        assert_eq!(sample(&b, 12, &layout(12, 1)), 0x123 as f32);
        assert_eq!(sample(&[0xFF], 0, &layout(8, ffi::SAMPLEFORMAT_INT)), -1.0);
        let minus5 = (-5i32).to_ne_bytes();
        assert_eq!(sample(&minus5, 0, &layout(32, ffi::SAMPLEFORMAT_INT)), -5.0);
        let half = 0.5f32.to_ne_bytes();
        assert_eq!(sample(&half, 0, &layout(32, ffi::SAMPLEFORMAT_IEEEFP)), 0.5);
        assert_eq!(sample(&[0x01], 0, &layout(16, 1)), 0.0, "past the end");
        assert_eq!(to_8bit(-2.0, -2.0, 4.0, false), 0);
        assert_eq!(to_8bit(0.0, -2.0, 4.0, false), 128);
        assert_eq!(to_8bit(f32::NAN, -2.0, 4.0, false), 0);
        assert_eq!(to_8bit(4095.0, 0.0, 4095.0, true), 0);
    }
}
