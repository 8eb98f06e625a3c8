//! Camera RAW sources (DNG, CR2, CR3, NEF, ARW, KDC): derivd renders the largest preview
//! the camera embedded, never the raw sensor data (no demosaicing, white balance or
//! colour rendering: that is raw development, a different product).
//!
//! Previews are found by walking the container — TIFF IFDs for the TIFF-based formats
//! (`tiff.rs`), ISO BMFF boxes for CR3 (`cr3.rs`) — and are either a baseline or
//! progressive JPEG (rendered by the JPEG path, header limits and all) or an uncompressed
//! 8-bit RGB strip (old Kodak thumbnails). A JPEG is recognised by its frame header, so
//! the lossless-JPEG raw data some formats store the same way (CR2, DNG) is never taken
//! for a preview. Every offset is checked against the file: a pruned or truncated file
//! finds no preview and is refused as unsupported.

mod cr3;
mod tiff;

use super::EngineError;
use crate::media::MediaType;

/// The preview to render, pointing into the source's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview<'a> {
    /// A JPEG file (from SOI on; trailing bytes are ignored by the decoder).
    Jpeg(&'a [u8]),
    /// `width × height` pixels of 8-bit RGB, exactly `3 × width × height` bytes.
    Rgb {
        width: u32,
        height: u32,
        data: &'a [u8],
    },
}

impl Preview<'_> {
    fn pixels(&self) -> u64 {
        match self {
            Preview::Jpeg(b) => jpeg_size(b).map_or(0, |(w, h)| w as u64 * h as u64),
            Preview::Rgb { width, height, .. } => *width as u64 * *height as u64,
        }
    }
}

/// A RAW file's largest embedded preview and the orientation the camera recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    pub preview: Preview<'a>,
    /// EXIF orientation 1..=8 of the file (the previews carry none of their own).
    pub orientation: u8,
}

/// The largest usable preview in `bytes`, or a typed "unsupported" refusal.
pub fn largest_preview(bytes: &[u8], media: MediaType) -> Result<Found<'_>, EngineError> {
    let (candidates, orientation) = match media {
        MediaType::Cr3 => cr3::previews(bytes),
        _ => tiff::previews(bytes),
    };
    let preview = candidates
        .into_iter()
        .filter(|p| p.pixels() > 0)
        .max_by_key(Preview::pixels)
        .ok_or_else(|| {
            EngineError::UnsupportedFormat(format!(
                "{} camera raw without a usable embedded preview (raw development is not \
                 supported)",
                media.mime()
            ))
        })?;
    let orientation = orientation.filter(|o| (1..=8).contains(o)).unwrap_or(1);
    Ok(Found {
        preview,
        orientation,
    })
}

/// Width and height of a baseline, extended or progressive JPEG, from its frame header;
/// `None` for anything else (lossless JPEG raw data, truncated or not a JPEG).
pub fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        match marker {
            0xFF => at += 1,
            0x01 | 0xD0..=0xD7 => at += 2,
            0xC0..=0xC2 => {
                let h = u16::from_be_bytes([*b.get(at + 5)?, *b.get(at + 6)?]);
                let w = u16::from_be_bytes([*b.get(at + 7)?, *b.get(at + 8)?]);
                return (w > 0 && h > 0).then_some((w as u32, h as u32));
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xD9 | 0xDA => return None,
            _ => {
                let len = u16::from_be_bytes([*b.get(at + 2)?, *b.get(at + 3)?]) as usize;
                at += 2 + len.max(2);
            }
        }
    }
}

#[cfg(test)]
mod tests;
