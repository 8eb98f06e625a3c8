//! JPEG sources: a header scan of our own, a libjpeg-turbo decode with DCT-domain
//! shrink-on-load, and `jpeg-decoder` as the fallback for what libjpeg-turbo refuses.
//!
//! The header scan reads only the marker segments before the first scan (SOF size and
//! precision, EXIF orientation from APP1, the ICC profile from APP2 chunks, Adobe APP14):
//! it is cheap, bounds-checked and never fails on broken metadata — a bad EXIF block is
//! "no orientation", a bad ICC sequence is "no profile".
//!
//! Shrink-on-load uses only the scales libjpeg-turbo has SIMD IDCTs for (1/8, 1/4, 1/2, 1):
//! the other eighths run scalar code and were slower end to end on our photos. It picks the
//! smallest that still has ≥ 1 decoded pixel per output pixel (Pillow's `draft()` rule;
//! libvips keeps 2× headroom): W1's 256 px thumbnail of a 12 MP photo decodes at 1/8.

use std::io::Cursor;

use super::color::{to_srgb_deferred, Pixels, Srgb};
use super::error::EngineError;
use super::{orient, turbo};

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
    /// Read by `jpeg-decoder` because our scan failed: decode with it too.
    pub fallback_only: bool,
}

fn be16(b: &[u8], i: usize) -> Option<usize> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]) as usize)
}

/// Scans the marker segments up to the first SOS. `None` when there is no usable frame
/// header (the caller then asks `jpeg-decoder`, whose errors are typed).
pub fn scan_header(b: &[u8]) -> Option<Header> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut h = Header {
        orientation: 1,
        ..Header::default()
    };
    let mut icc_chunks: Vec<(u8, u8, &[u8])> = Vec::new();
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
        if marker == 0x00 || marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue; // a stuffed byte or a stand-alone marker
        }
        if marker == 0xD9 || marker == 0xDA {
            break; // EOI / SOS: the header is over
        }
        let len = be16(b, i)?;
        if len < 2 {
            return None;
        }
        let seg = b.get(i + 2..i + len)?;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) && !have_frame => {
                h.precision = *seg.first()?;
                h.height = be16(seg, 1)? as u32;
                h.width = be16(seg, 3)? as u32;
                h.components = *seg.get(5)?;
                let f = seg.get(7).copied().unwrap_or(0x11);
                h.luma_sampling = ((f >> 4).max(1), (f & 0x0F).max(1));
                have_frame = true;
            }
            0xE1 if seg.starts_with(b"Exif\0\0") && h.orientation == 1 => {
                h.orientation = orient::from_exif(seg);
            }
            0xE2 if seg.len() > 14 && seg.starts_with(b"ICC_PROFILE\0") => {
                icc_chunks.push((seg[12], seg[13], &seg[14..]));
            }
            0xEE if seg.starts_with(b"Adobe") => h.adobe = true,
            _ => {}
        }
        i += len;
    }
    if !have_frame {
        return None;
    }
    h.icc = assemble_icc(icc_chunks);
    Some(h)
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

/// Shrink-on-load scales, smallest first: only those with SIMD IDCTs. Adding libjpeg-turbo's
/// scalar 3/8, 5/8, 3/4 and 7/8 (fewer pixels for the first resize) made W2 28 % slower.
const SCALES: [(u32, u32); 3] = [(1, 8), (1, 4), (1, 2)];

/// The scale (`num/denom`) to decode at: the smallest that still gives at least
/// `scale` × the full size (so no output is ever upsampled). No extra headroom: keeping
/// ≥ 1.8× at the 1/8 step (libvips keeps 2×) lifted W1's mean SSIM by 0.003 but cost 5 %
/// of W1's speed, and the mean is already within 0.005 of libvips'.
pub fn pick_scale(width: u32, height: u32, scale: f64) -> (u32, u32) {
    for (num, denom) in SCALES {
        let ok = |dim: u32| turbo::scaled(dim, num, denom) as f64 >= dim as f64 * scale - 1e-6;
        if ok(width) && ok(height) {
            return (num, denom);
        }
    }
    (1, 1)
}

/// Decodes to sRGB (or to RGB plus a deferred conversion), shrinking on load by up to
/// `scale`. libjpeg-turbo first; `jpeg-decoder` for anything it refuses (12-bit, some
/// damaged files), whose typed error is returned when both fail.
pub fn decode(
    bytes: &[u8],
    header: &Header,
    max_alloc: u64,
    scale: f64,
) -> Result<Srgb, EngineError> {
    let (num, denom) = pick_scale(header.width, header.height, scale);
    let layout = match header.components {
        1 => turbo::Layout::Gray,
        4 => turbo::Layout::Cmyk,
        _ => turbo::Layout::Rgb,
    };
    if header.fallback_only {
        return fallback_decode(bytes, max_alloc, scale);
    }
    let max_mb = (max_alloc >> 20).clamp(64, u32::MAX as u64) as u32;
    match turbo::decode(bytes, layout, num, denom, max_mb) {
        Ok(d) => {
            agreed_size(header, (num, denom), (d.width, d.height))?;
            if let Some(w) = &d.warning {
                tracing::debug!(warning = %w, "JPEG decoded with damage");
            }
            let pixels = match layout {
                turbo::Layout::Gray => Pixels::Gray(d.data),
                turbo::Layout::Rgb => Pixels::Rgb(d.data),
                turbo::Layout::Cmyk => {
                    let mut c = d.data;
                    if header.adobe {
                        c.iter_mut().for_each(|v| *v = 255 - *v);
                    }
                    Pixels::Cmyk(c)
                }
            };
            Ok(to_srgb_deferred(
                pixels,
                d.width,
                d.height,
                header.icc.as_deref(),
            ))
        }
        Err(why) => {
            tracing::debug!(error = %why, "libjpeg-turbo refused the JPEG; trying jpeg-decoder");
            fallback_decode(bytes, max_alloc, scale)
        }
    }
}

/// The pixel limit was checked on our own header parse: libjpeg-turbo must agree on the
/// size it decoded (at `num/denom`, or at full size for lossless files), or two parsers
/// disagree about a hostile file.
pub(super) fn agreed_size(
    header: &Header,
    (num, denom): (u32, u32),
    got: (u32, u32),
) -> Result<(), EngineError> {
    let scaled = (
        turbo::scaled(header.width, num, denom),
        turbo::scaled(header.height, num, denom),
    );
    if got != scaled && got != (header.width, header.height) {
        return Err(EngineError::Corrupt(format!(
            "decoder saw {}×{}, header says {}×{}",
            got.0, got.1, header.width, header.height
        )));
    }
    Ok(())
}

fn jpeg_err(e: jpeg_decoder::Error) -> EngineError {
    match e {
        jpeg_decoder::Error::Unsupported(u) => {
            EngineError::UnsupportedFormat(format!("JPEG feature: {u:?}"))
        }
        jpeg_decoder::Error::Io(io) => EngineError::Corrupt(format!("truncated JPEG: {io}")),
        jpeg_decoder::Error::Format(f) => EngineError::Corrupt(f),
        jpeg_decoder::Error::Internal(i) => EngineError::Corrupt(i.to_string()),
    }
}

fn decoder_for(bytes: &[u8], max_alloc: u64) -> jpeg_decoder::Decoder<Cursor<&[u8]>> {
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    d.set_max_decoding_buffer_size(usize::try_from(max_alloc).unwrap_or(usize::MAX));
    d
}

/// Header through `jpeg-decoder`, for files our scan cannot read (its errors are typed).
pub fn fallback_header(bytes: &[u8], max_alloc: u64) -> Result<Header, EngineError> {
    let mut d = decoder_for(bytes, max_alloc);
    d.read_info().map_err(jpeg_err)?;
    let info = d
        .info()
        .ok_or_else(|| EngineError::Corrupt("no JPEG frame".into()))?;
    Ok(Header {
        width: info.width as u32,
        height: info.height as u32,
        components: match info.pixel_format {
            jpeg_decoder::PixelFormat::L8 | jpeg_decoder::PixelFormat::L16 => 1,
            jpeg_decoder::PixelFormat::RGB24 => 3,
            jpeg_decoder::PixelFormat::CMYK32 => 4,
        },
        precision: 8,
        orientation: d.exif_data().map_or(1, orient::from_exif),
        icc: d.icc_profile(),
        adobe: false,
        luma_sampling: (1, 1),
        fallback_only: true,
    })
}

pub(super) fn fallback_decode(
    bytes: &[u8],
    max_alloc: u64,
    scale: f64,
) -> Result<Srgb, EngineError> {
    let mut d = decoder_for(bytes, max_alloc);
    d.read_info().map_err(jpeg_err)?;
    let info = d
        .info()
        .ok_or_else(|| EngineError::Corrupt("no JPEG frame".into()))?;
    let (mut w, mut h) = (info.width, info.height);
    if scale < 0.5 {
        let want = |v: u16| ((v as f64 * scale).ceil() as u16).max(1);
        (w, h) = d.scale(want(w), want(h)).map_err(jpeg_err)?;
    }
    let data = d.decode().map_err(jpeg_err)?;
    let icc = d.icc_profile();
    let expected = w as usize * h as usize * info.pixel_format.pixel_bytes();
    if data.len() != expected {
        return Err(EngineError::Corrupt(format!(
            "decoder returned {} bytes for {w}×{h}",
            data.len()
        )));
    }
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => Pixels::Gray(data),
        jpeg_decoder::PixelFormat::L16 => {
            Pixels::Gray(data.chunks_exact(2).map(|c| c[0]).collect())
        }
        jpeg_decoder::PixelFormat::RGB24 => Pixels::Rgb(data),
        jpeg_decoder::PixelFormat::CMYK32 => Pixels::Cmyk(data),
    };
    Ok(to_srgb_deferred(pixels, w as u32, h as u32, icc.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_reads_size_orientation_and_icc_chunks() {
        let mut f = vec![0xFF, 0xD8];
        let seg = |f: &mut Vec<u8>, m: u8, body: &[u8]| {
            f.extend([0xFF, m]);
            f.extend(((body.len() + 2) as u16).to_be_bytes());
            f.extend(body);
        };
        seg(&mut f, 0xE2, b"ICC_PROFILE\0\x02\x02world");
        seg(&mut f, 0xE2, b"ICC_PROFILE\0\x01\x02hello ");
        seg(&mut f, 0xEE, b"Adobe\0\x64\0\0\0\0\x02");
        seg(
            &mut f,
            0xC0,
            &[8, 0, 30, 0, 40, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1],
        );
        f.extend([0xFF, 0xDA]);
        let h = scan_header(&f).unwrap();
        assert_eq!(
            (h.width, h.height, h.components, h.precision),
            (40, 30, 3, 8)
        );
        assert_eq!(h.icc.as_deref(), Some(&b"hello world"[..]));
        assert!(h.adobe);
        assert_eq!(h.orientation, 1);
        assert_eq!(h.luma_sampling, (2, 2));
        // A missing chunk means no profile; a cut segment means no header.
        let mut g = vec![0xFF, 0xD8];
        seg(&mut g, 0xE2, b"ICC_PROFILE\0\x02\x02world");
        seg(&mut g, 0xC0, &[8, 0, 30, 0, 40, 1, 1, 0x11, 0]);
        g.extend([0xFF, 0xDA]);
        assert!(scan_header(&g).unwrap().icc.is_none());
        assert!(scan_header(&f[..20]).is_none());
        assert!(scan_header(b"\xFF\xD8").is_none());
    }

    #[test]
    fn scales_never_go_below_the_needed_scale() {
        assert_eq!(pick_scale(4032, 3024, 1.0), (1, 1));
        assert_eq!(pick_scale(4032, 3024, 0.508), (1, 1));
        assert_eq!(pick_scale(4608, 1976, 0.4445), (1, 2));
        assert_eq!(pick_scale(4032, 3024, 0.0635), (1, 8));
        assert_eq!(pick_scale(4032, 3024, 0.13), (1, 4));
        // 1/8 of 17 is 3 (rounded up), which covers 0.17 but not 0.18.
        assert_eq!(pick_scale(17, 17, 0.17), (1, 8));
        assert_eq!(pick_scale(17, 17, 0.18), (1, 4));
    }

    /// libjpeg-turbo and `jpeg-decoder` agree on every corpus JPEG they both decode:
    /// catches a wrong CMYK inversion, a lost profile or a wrong component layout.
    #[test]
    fn turbo_matches_jpeg_decoder_on_the_corpus() {
        let root = std::env::var_os("DERIVD_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
            });
        let mut checked = 0;
        for dir in ["color", "orientation", "formats"] {
            for e in std::fs::read_dir(root.join(dir)).expect("corpus (set DERIVD_CORPUS)") {
                let path = e.unwrap().path();
                if path.extension().is_none_or(|x| x != "jpg") {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                let h = scan_header(&bytes).expect("header");
                let ours = decode(&bytes, &h, 1 << 30, 1.0).unwrap().bitmap;
                let Ok(theirs) = fallback_decode(&bytes, 1 << 30, 1.0) else {
                    continue;
                };
                let theirs = theirs.bitmap;
                assert_eq!((ours.width, ours.height), (theirs.width, theirs.height));
                let diff: u64 = ours
                    .data
                    .iter()
                    .zip(&theirs.data)
                    .map(|(a, b)| a.abs_diff(*b) as u64)
                    .sum();
                let mean = diff as f64 / ours.data.len() as f64;
                assert!(mean < 2.0, "{}: mean difference {mean:.2}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 20, "only {checked} JPEGs compared");
    }
}
