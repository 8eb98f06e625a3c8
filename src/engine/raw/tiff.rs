//! Previews in the TIFF-based RAW formats (DNG, CR2, NEF, ARW, KDC), from every IFD: the
//! IFD0 chain and the `SubIFDs` trees (where DNG, NEF and ARW keep theirs).
//!
//! A preview is a JPEG named by `JPEGInterchangeFormat`/`Length` (NEF, ARW), a single
//! JPEG strip (compression 6 or 7: CR2's IFD0, DNG's preview IFD), or an uncompressed
//! 8-bit RGB image in contiguous strips (KDC's thumbnail).

use super::{jpeg_size, Preview};
use crate::media::ifd::{Ifd, Tiff};

/// Most IFDs visited in one file (real files have < 10).
const MAX_IFDS: usize = 64;
/// Most `SubIFDs` offsets followed from one IFD.
const MAX_SUB_IFDS: u32 = 16;

const SUB_IFDS: u16 = 0x014A;
const ORIENTATION: u16 = 0x0112;

/// Every preview candidate in the file, and IFD0's orientation.
pub fn previews(bytes: &[u8]) -> (Vec<Preview<'_>>, Option<u8>) {
    let Some(tiff) = Tiff::new(bytes) else {
        return (Vec::new(), None);
    };
    let mut found = Vec::new();
    let mut orientation = None;
    let mut queue: Vec<u32> = tiff.first_ifd().into_iter().collect();
    let mut seen = Vec::new();
    while let Some(offset) = queue.pop() {
        if offset == 0 || seen.contains(&offset) || seen.len() >= MAX_IFDS {
            continue;
        }
        seen.push(offset);
        let Some(ifd) = tiff.ifd(offset) else {
            continue;
        };
        if seen.len() == 1 {
            orientation = ifd
                .get(ORIENTATION)
                .and_then(|e| tiff.value(e, 0))
                .and_then(|o| u8::try_from(o).ok());
        }
        found.extend(candidates(&tiff, &ifd));
        queue.push(ifd.next);
        if let Some(e) = ifd.get(SUB_IFDS) {
            queue.extend((0..e.count.min(MAX_SUB_IFDS)).filter_map(|i| tiff.value(e, i)));
        }
    }
    (found, orientation)
}

/// Value 0 of `tag`, if present and numeric.
fn num(tiff: &Tiff<'_>, ifd: &Ifd, tag: u16) -> Option<u32> {
    tiff.value(ifd.get(tag)?, 0)
}

/// `len` bytes at `offset`, if all inside the file.
fn slice<'a>(tiff: &Tiff<'a>, offset: u32, len: u32) -> Option<&'a [u8]> {
    let start = offset as usize;
    tiff.bytes.get(start..start.checked_add(len as usize)?)
}

/// The previews one IFD holds.
fn candidates<'a>(tiff: &Tiff<'a>, ifd: &Ifd) -> Vec<Preview<'a>> {
    let mut out = Vec::new();
    let jpeg = |o, l| slice(tiff, o, l).filter(|b| jpeg_size(b).is_some());
    if let (Some(o), Some(l)) = (num(tiff, ifd, 0x0201), num(tiff, ifd, 0x0202)) {
        out.extend(jpeg(o, l).map(Preview::Jpeg));
    }
    let strips = ifd.get(0x0111).zip(ifd.get(0x0117));
    match (num(tiff, ifd, 0x0103), strips) {
        (Some(6 | 7), Some((offsets, counts))) if offsets.count == 1 => {
            let (o, l) = (tiff.value(offsets, 0), tiff.value(counts, 0));
            out.extend(o.zip(l).and_then(|(o, l)| jpeg(o, l)).map(Preview::Jpeg));
        }
        (Some(1), Some(_)) => out.extend(rgb(tiff, ifd)),
        _ => {}
    }
    out
}

/// An uncompressed, chunky 8-bit RGB image whose strips follow each other in the file.
fn rgb<'a>(tiff: &Tiff<'a>, ifd: &Ifd) -> Option<Preview<'a>> {
    let n = |tag| num(tiff, ifd, tag);
    let (width, height) = (n(0x0100)?, n(0x0101)?);
    let bits = ifd.get(0x0102)?;
    let eight_bit =
        (0..3).all(|i| tiff.value(bits, i.min(bits.count.saturating_sub(1))) == Some(8));
    let chunky = n(0x011C).unwrap_or(1) == 1;
    if n(0x0106)? != 2 || n(0x0115)? != 3 || !eight_bit || !chunky {
        return None;
    }
    let len = (width as u64 * height as u64 * 3).try_into().ok()?;
    let offsets = ifd.get(0x0111)?;
    let counts = ifd.get(0x0117)?;
    let start = tiff.value(offsets, 0)?;
    // Contiguous strips only: strip i + 1 starts where strip i ends.
    let mut end = start as u64;
    for i in 0..offsets.count.min(1 << 16) {
        if tiff.value(offsets, i)? as u64 != end {
            return None;
        }
        end += tiff.value(counts, i)? as u64;
    }
    (end - start as u64 >= len as u64).then_some(())?;
    let data = slice(tiff, start, len)?;
    Some(Preview::Rgb {
        width,
        height,
        data,
    })
}
