//! Our own read of a JPEG's markers: the header segments before the first scan, and a walk
//! over the whole file that counts its scans.
//!
//! The header scan reads only the marker segments before the first scan (SOF size, precision
//! and sampling factors, EXIF orientation from APP1, the ICC profile from APP2 chunks, Adobe
//! APP14): it is cheap, bounds-checked and never fails on broken metadata — a bad EXIF block
//! is "no orientation", a bad ICC sequence is "no profile". A profile over the metadata cap
//! is refused before its chunks are joined.
//!
//! The scan count walks every marker to the EOI, jumping over segments by their length and
//! over entropy-coded data with `memchr` (≈ 0.17 ms for a 3 MB photo): a scan bomb — one AC
//! scan repeated thousands of times — is refused with it before any decoder spends CPU on
//! the scans (when it runs: `jpeg/mod.rs`).

use super::super::error::EngineError;
use super::super::orient;

/// What the markers before the first scan say.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub precision: u8,
    pub orientation: u8,
    /// The ICC profile, reassembled from its APP2 chunks, if complete.
    pub icc: Option<Vec<u8>>,
    /// An Adobe APP14 segment was present (CMYK stored inverted, as Photoshop writes it).
    pub adobe: bool,
    /// The first component's sampling factors (2, 2 for 4:2:0 YCbCr).
    pub luma_sampling: (u8, u8),
    /// Every component's sampling factors (horizontal, vertical), in frame order.
    pub sampling: Vec<(u8, u8)>,
    /// A progressive frame (SOF2, 6, 10 or 14).
    pub progressive: bool,
    /// Components in the first scan (all of them in a baseline photo).
    pub first_scan_components: u8,
    /// Scans in the file ([`count_scans`]; filled in by `read_header`, 1 if assumed).
    pub scans: u32,
    /// Read by `jpeg-decoder` because our scan failed: decode with it too.
    pub fallback_only: bool,
}

impl Header {
    /// A sequential frame whose first scan holds every component: one scan is all it can
    /// have (libjpeg-turbo stops at a second with "EOI expected"), so its scans need not be
    /// counted before libjpeg-turbo decodes it — only before `jpeg-decoder` would.
    pub fn single_scan(&self) -> bool {
        !self.fallback_only && !self.progressive && self.first_scan_components == self.components
    }
}

fn be16(b: &[u8], i: usize) -> Option<usize> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]) as usize)
}

/// Markers that stand alone (no length follows): stuffed 0x00, TEM, RST0–7, SOI.
fn stands_alone(marker: u8) -> bool {
    matches!(marker, 0x00 | 0x01 | 0xD0..=0xD8)
}

/// Scans the marker segments up to the first SOS. `Ok(None)` when there is no usable frame
/// header (the caller then asks `jpeg-decoder`, whose errors are typed); an error when the
/// ICC chunks together exceed `max_metadata` bytes.
pub fn scan_header(b: &[u8], max_metadata: u64) -> Result<Option<Header>, EngineError> {
    let mut h = Header {
        orientation: 1,
        ..Header::default()
    };
    let mut icc_chunks: Vec<(u8, u8, &[u8])> = Vec::new();
    if walk_header(b, &mut h, &mut icc_chunks).is_none() {
        return Ok(None);
    }
    let icc_bytes: u64 = icc_chunks.iter().map(|c| c.2.len() as u64).sum();
    if icc_bytes > max_metadata {
        return Err(EngineError::LimitExceeded(format!(
            "the JPEG's ICC profile is {icc_bytes} bytes, over the {max_metadata} byte metadata limit"
        )));
    }
    h.icc = assemble_icc(icc_chunks);
    Ok(Some(h))
}

/// Reads the segments before the first SOS into `h` and `icc`; `None` when the header is
/// cut or malformed, or has no frame.
fn walk_header<'a>(b: &'a [u8], h: &mut Header, icc: &mut Vec<(u8, u8, &'a [u8])>) -> Option<()> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    let mut have_frame = false;
    loop {
        // Stray bytes before a marker are skipped, as libjpeg does (with a warning); fill
        // bytes (any number of 0xFF) may precede one.
        while *b.get(i)? != 0xFF || *b.get(i + 1)? == 0xFF {
            i += 1;
        }
        let marker = *b.get(i + 1)?;
        i += 2;
        if stands_alone(marker) {
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            // EOI / SOS: the header is over. SOS: length, then the scan's component count.
            h.first_scan_components = b.get(i + 2).copied().unwrap_or(0);
            return have_frame.then_some(());
        }
        let len = be16(b, i)?;
        if len < 2 {
            return None;
        }
        let seg = b.get(i + 2..i + len)?;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) && !have_frame => {
                read_frame(marker, seg, h)?;
                have_frame = true;
            }
            0xE1 if seg.starts_with(b"Exif\0\0") && h.orientation == 1 => {
                h.orientation = orient::from_exif(seg);
            }
            0xE2 if seg.len() > 14 && seg.starts_with(b"ICC_PROFILE\0") => {
                icc.push((seg[12], seg[13], &seg[14..]));
            }
            0xEE if seg.starts_with(b"Adobe") => h.adobe = true,
            _ => {}
        }
        i += len;
    }
}

/// A start-of-frame segment: precision, size, and each component's sampling factors.
fn read_frame(marker: u8, seg: &[u8], h: &mut Header) -> Option<()> {
    h.precision = *seg.first()?;
    h.height = be16(seg, 1)? as u32;
    h.width = be16(seg, 3)? as u32;
    h.components = *seg.get(5)?;
    h.progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
    // Each component: id, sampling (h << 4 | v), quantisation table.
    h.sampling = seg
        .get(6..)?
        .chunks_exact(3)
        .take(h.components as usize)
        .map(|c| ((c[1] >> 4).max(1), (c[1] & 0x0F).max(1)))
        .collect();
    h.luma_sampling = h.sampling.first().copied().unwrap_or((1, 1));
    Some(())
}

/// Joins ICC chunks (sequence number, count, data) in order; `None` if any is missing.
fn assemble_icc(mut chunks: Vec<(u8, u8, &[u8])>) -> Option<Vec<u8>> {
    let count = chunks.first()?.1;
    chunks.sort_by_key(|c| c.0);
    let in_order = chunks.len() == count as usize
        && chunks
            .iter()
            .enumerate()
            .all(|(k, c)| c.0 as usize == k + 1 && c.1 == count);
    in_order.then(|| chunks.iter().flat_map(|c| c.2.iter().copied()).collect())
}

/// Start-of-scan markers in `b` up to its first EOI (or its end), counting at most
/// `stop_after + 1`. Lenient like libjpeg: stray bytes are skipped, a cut file is counted
/// as far as it goes. Works on any bytes, so it also covers files our header scan refused.
pub fn count_scans(b: &[u8], stop_after: u32) -> u32 {
    let mut scans = 0;
    let mut i = 2.min(b.len());
    while scans <= stop_after {
        let Some(at) = memchr::memchr(0xFF, &b[i..]) else {
            break;
        };
        i += at + 1;
        while b.get(i) == Some(&0xFF) {
            i += 1; // fill bytes
        }
        let Some(&marker) = b.get(i) else {
            break;
        };
        i += 1;
        if stands_alone(marker) {
            continue; // inside entropy-coded data: a stuffed 0xFF or a restart marker
        }
        if marker == 0xD9 {
            break;
        }
        if marker == 0xDA {
            scans += 1;
        }
        // Jump over the segment; for SOS its entropy-coded data follows.
        let Some(len) = be16(b, i) else {
            break;
        };
        i = (i + len.max(2)).min(b.len());
    }
    scans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(f: &mut Vec<u8>, m: u8, body: &[u8]) {
        f.extend([0xFF, m]);
        f.extend(((body.len() + 2) as u16).to_be_bytes());
        f.extend(body);
    }

    #[test]
    fn scan_reads_size_orientation_sampling_and_icc_chunks() {
        let mut f = vec![0xFF, 0xD8];
        seg(&mut f, 0xE2, b"ICC_PROFILE\0\x02\x02world");
        seg(&mut f, 0xE2, b"ICC_PROFILE\0\x01\x02hello ");
        seg(&mut f, 0xEE, b"Adobe\0\x64\0\0\0\0\x02");
        seg(
            &mut f,
            0xC2,
            &[8, 0, 30, 0, 40, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1],
        );
        f.extend([0xFF, 0xDA]);
        let h = scan_header(&f, 1 << 20).unwrap().unwrap();
        assert_eq!(
            (h.width, h.height, h.components, h.precision),
            (40, 30, 3, 8)
        );
        assert_eq!(h.icc.as_deref(), Some(&b"hello world"[..]));
        assert!(h.adobe && h.progressive);
        assert_eq!(h.orientation, 1);
        assert_eq!(h.luma_sampling, (2, 2));
        assert_eq!(h.sampling, vec![(2, 2), (1, 1), (1, 1)]);
        assert!(!h.single_scan(), "progressive");
        // Over the metadata cap: refused before the chunks are joined.
        assert!(matches!(
            scan_header(&f, 10),
            Err(EngineError::LimitExceeded(_))
        ));
        // A missing chunk means no profile; a cut segment means no header.
        let mut g = vec![0xFF, 0xD8];
        seg(&mut g, 0xE2, b"ICC_PROFILE\0\x02\x02world");
        seg(&mut g, 0xC0, &[8, 0, 30, 0, 40, 1, 1, 0x11, 0]);
        g.extend([0xFF, 0xDA]);
        let h = scan_header(&g, 1 << 20).unwrap().unwrap();
        assert!(h.icc.is_none() && !h.progressive);
        assert!(scan_header(&f[..20], 1 << 20).unwrap().is_none());
        assert!(scan_header(b"\xFF\xD8", 1 << 20).unwrap().is_none());
    }

    #[test]
    fn scans_are_counted_over_entropy_data_and_restarts() {
        let mut f = vec![0xFF, 0xD8];
        seg(&mut f, 0xC2, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
        for _ in 0..3 {
            seg(&mut f, 0xC4, &[0; 17]);
            seg(&mut f, 0xDA, &[1, 1, 0, 0, 63, 0]);
            // Entropy data with a stuffed 0xFF, a restart marker and fill bytes.
            f.extend([0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF]);
        }
        f.extend([0xFF, 0xD9]);
        // Anything after EOI (an MPF secondary image) is not this image's.
        seg(&mut f, 0xDA, &[1, 1, 0, 0, 63, 0]);
        assert_eq!(count_scans(&f, 100), 3);
        assert_eq!(count_scans(&f, 1), 2, "stops once over the limit");
        assert_eq!(count_scans(&f[..f.len() - 12], 100), 3);
        assert_eq!(count_scans(&[], 100), 0);
        assert_eq!(count_scans(b"\xFF", 100), 0);
        assert_eq!(count_scans(b"\xFF\xD8\xFF\xDA", 100), 1);
    }
}
