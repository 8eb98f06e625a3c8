//! PNG sources: our own walk over the chunks before the image data, so that metadata is
//! measured — and refused when over the cap — before the `png` crate inflates any of it.
//!
//! Why: the `png` crate inflates an `iCCP` profile while it reads the header, bounded only
//! by its allocation limit, and `image` copies the result again; a 713 KB, 1 × 1 PNG whose
//! profile inflates to 700 MB took 1.45 GB before any memory was reserved for it. Here the
//! profile is inflated into a byte counter (a 32 KiB window, nothing kept) that stops one
//! byte past the cap, so the check costs at most `max_metadata_bytes` of inflating.
//!
//! **Refused, not ignored.** A source whose metadata is over the cap fails with
//! `LimitExceeded` (a client fault, reported to the sender) rather than rendering without
//! its profile: rendering would give colour-wrong derived objects that then count as
//! current, while no real ICC profile comes near the default 4 MiB (the big CMYK press
//! profiles are 1–3 MB, and PNG has no CMYK). The cap is a limit like the pixel limit.
//!
//! What counts: the inflated `iCCP` profile, `eXIf`, and the text chunks (`tEXt`, `zTXt`,
//! `iTXt`, where XMP lives) at their stored size — the `png` crate keeps those raw and
//! nothing here inflates them. The `png` crate then runs under a budget derived from the
//! same numbers ([`Info::png_budget`]), so even a file this walk misreads cannot make it
//! allocate more.

use std::io::{self, Read};

use super::error::EngineError;

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// What the chunks before the image data say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Info {
    pub width: u32,
    pub height: u32,
    /// Bytes in one unfiltered row, filter byte included.
    pub row_bytes: u64,
    /// Metadata the decoder will hold: the inflated profile, EXIF, text chunks.
    pub metadata_bytes: u64,
    /// An `iCCP` chunk was seen.
    pub has_profile: bool,
}

impl Info {
    /// The allocation limit the `png` crate runs under: its raw chunk buffer (which grows
    /// by doubling up to the largest chunk), the metadata it keeps, and its row buffers.
    pub fn png_budget(&self, max_metadata: u64) -> u64 {
        4 * max_metadata + 4 * self.row_bytes + (1 << 20)
    }
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Walks the chunks up to the first `IDAT` and measures the metadata, refusing the file
/// once it passes `max_metadata` bytes. A cut or malformed file is measured as far as it
/// goes: the decoder then reports what is wrong with it.
pub fn read_info(b: &[u8], max_metadata: u64) -> Result<Info, EngineError> {
    let mut info = Info::default();
    let mut i = SIGNATURE.len();
    while let (Some(len), Some(kind)) = (be32(b, i), b.get(i + 4..i + 8)) {
        let data = &b[(i + 8).min(b.len())..(i + 8).saturating_add(len as usize).min(b.len())];
        let metadata = match kind {
            b"IHDR" => {
                read_ihdr(data, &mut info);
                0
            }
            b"IDAT" | b"IEND" => break,
            b"iCCP" => {
                info.has_profile = true;
                inflated_profile_len(data, max_metadata)
            }
            b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" => len as u64,
            _ => 0,
        };
        info.metadata_bytes = info.metadata_bytes.saturating_add(metadata);
        if info.metadata_bytes > max_metadata {
            return Err(EngineError::LimitExceeded(format!(
                "the PNG's metadata ({}) is over the {max_metadata} byte metadata limit",
                String::from_utf8_lossy(kind)
            )));
        }
        i = i.saturating_add(12).saturating_add(len as usize); // length, type, data, CRC
    }
    Ok(info)
}

fn read_ihdr(data: &[u8], info: &mut Info) {
    let (Some(w), Some(h), Some(&depth), Some(&color)) =
        (be32(data, 0), be32(data, 4), data.get(8), data.get(9))
    else {
        return;
    };
    let channels: u64 = match color {
        0 | 3 => 1, // grey, palette
        4 => 2,     // grey + alpha
        2 => 3,     // RGB
        _ => 4,     // RGBA (and invalid types, which the decoder refuses)
    };
    info.width = w;
    info.height = h;
    info.row_bytes = (w as u64 * channels * depth.max(1) as u64).div_ceil(8) + 1;
}

/// The `iCCP` profile's inflated length, counted up to `cap + 1` (so "over the cap" is
/// known without inflating further). A damaged stream counts what inflated before the
/// damage: the `png` crate drops such a profile, after inflating no more than that.
fn inflated_profile_len(data: &[u8], cap: u64) -> u64 {
    // Keyword (1–79 bytes), NUL, compression method, then the zlib stream.
    let Some(nul) = data.iter().take(80).position(|&c| c == 0) else {
        return 0;
    };
    let stream = data.get(nul + 2..).unwrap_or_default();
    let mut counted = CountingSink(0);
    let mut inflater = flate2::read::ZlibDecoder::new(stream).take(cap.saturating_add(1));
    let _ = io::copy(&mut inflater, &mut counted);
    counted.0
}

/// Counts bytes written to it and keeps none.
struct CountingSink(u64);

impl io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(kind);
        out.extend(data);
        out.extend([0; 4]); // CRC: not checked by the walk
    }

    fn png_with(chunks: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(100u32.to_be_bytes());
        ihdr.extend(10u32.to_be_bytes());
        ihdr.extend([16, 6, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        for (kind, data) in chunks {
            chunk(&mut out, kind, data);
        }
        chunk(&mut out, b"IDAT", &[]);
        out
    }

    fn iccp(profile_len: usize) -> Vec<u8> {
        let mut data = b"icc\0\0".to_vec();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&vec![0u8; profile_len]).unwrap();
        data.extend(z.finish().unwrap());
        data
    }

    #[test]
    fn metadata_is_measured_inflated_and_capped() {
        let p = png_with(&[(b"iCCP", iccp(5000)), (b"tEXt", vec![b'a'; 300])]);
        let info = read_info(&p, 1 << 20).unwrap();
        assert_eq!((info.width, info.height), (100, 10));
        assert_eq!(info.row_bytes, 100 * 8 + 1);
        assert_eq!(info.metadata_bytes, 5300);
        // The profile alone is over a 4 KiB cap, though its compressed form is tiny.
        assert!(matches!(
            read_info(&p, 4096),
            Err(EngineError::LimitExceeded(_))
        ));
        // Text chunks count at their stored size; chunks after IDAT do not count.
        let mut q = png_with(&[(b"iTXt", vec![0; 6000])]);
        assert!(read_info(&q, 4096).is_err());
        q = png_with(&[]);
        chunk(&mut q, b"iTXt", &[0; 6000]);
        assert_eq!(read_info(&q, 4096).unwrap().metadata_bytes, 0);
    }

    #[test]
    fn broken_files_are_measured_as_far_as_they_go() {
        assert_eq!(read_info(b"", 100).unwrap(), Info::default());
        let p = png_with(&[(b"iCCP", iccp(1000))]);
        for cut in [0, 8, 12, 20, 33, 40, p.len() - 1] {
            assert!(read_info(&p[..cut], 1 << 20).is_ok(), "{cut}");
        }
        // A damaged zlib stream counts what inflated before the damage.
        let mut bad = iccp(1000);
        let n = bad.len();
        bad[n - 6..].fill(0xFF);
        assert!(inflated_profile_len(&bad, 1 << 20) <= 1000);
        assert_eq!(inflated_profile_len(b"no keyword end", 100), 0);
    }
}
