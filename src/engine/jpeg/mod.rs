//! JPEG sources: our own read of the markers (`header.rs`), a libjpeg-turbo decode with
//! DCT-domain shrink-on-load, and `jpeg-decoder` as the fallback for what libjpeg-turbo
//! cannot decode.
//!
//! Shrink-on-load uses only the scales libjpeg-turbo has SIMD IDCTs for (1/8, 1/4, 1/2, 1):
//! the other eighths run scalar code and were slower end to end on our photos. It picks the
//! smallest that still has ≥ 1 decoded pixel per output pixel (Pillow's `draft()` rule;
//! libvips keeps 2× headroom): W1's 256 px thumbnail of a 12 MP photo decodes at 1/8.
//!
//! **When `jpeg-decoder` runs.** When our header scan cannot read the file (its typed
//! errors then explain why), and when libjpeg-turbo *fails to decode* it
//! ([`turbo::DecodeError::Failed`]): 12- or 16-bit data (our wrapper decodes 8-bit only),
//! and fatal libjpeg errors in the markers or entropy data, where `jpeg-decoder` is more
//! lenient with some damage. **Never after a limit** ([`turbo::DecodeError::Limit`]: the
//! scan limit, the memory cap, a failed allocation): `jpeg-decoder` has no scan limit and no
//! cap on its working memory, so a fallback there turned a refused scan bomb into 28 s of
//! CPU. Both decoders only ever see files within the scan and metadata limits, checked here
//! before either runs.

mod header;

use std::io::Cursor;

use super::color::{to_srgb_deferred, Pixels, Srgb};
use super::error::EngineError;
use super::{orient, turbo, Limits};

pub use header::{count_scans, scan_header, Header};

/// What one JPEG decode may use.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// libjpeg-turbo's scan limit and working-memory cap.
    pub turbo: turbo::Caps,
    /// `jpeg-decoder`'s cap on its decoded buffer, in bytes.
    pub max_alloc: u64,
}

/// Reads the header (ours, or `jpeg-decoder`'s when ours cannot) and refuses a profile over
/// `max_metadata_bytes` or more scans than `max_jpeg_scans`. The scans of a single-scan frame
/// (a baseline photo: [`Header::single_scan`]) are counted later, only if `jpeg-decoder` is
/// to decode it: libjpeg-turbo refuses a second scan there itself, and the walk over the
/// whole file is 1 % of a thumbnail job.
pub fn read_header(bytes: &[u8], limits: &Limits) -> Result<Header, EngineError> {
    let mut h = match scan_header(bytes, limits.max_metadata_bytes)? {
        Some(h) => h,
        None => fallback_header(bytes, limits)?,
    };
    h.scans = if h.single_scan() {
        1
    } else {
        checked_scans(bytes, &h, limits.max_jpeg_scans)?
    };
    Ok(h)
}

/// The file's scans, refused over `max` (and over one for a single-scan frame).
fn checked_scans(bytes: &[u8], h: &Header, max: u32) -> Result<u32, EngineError> {
    let scans = count_scans(bytes, max);
    if scans > max {
        return Err(EngineError::LimitExceeded(format!(
            "the JPEG has more than {max} scans (max_jpeg_scans)"
        )));
    }
    if h.single_scan() && scans > 1 {
        return Err(EngineError::Corrupt(format!(
            "a sequential JPEG whose first scan holds every component has {scans} scans"
        )));
    }
    Ok(scans)
}

/// `jpeg-decoder`, which has no scan limit of its own: a single-scan frame's scans are
/// counted first (the others were counted by [`read_header`]).
pub(super) fn fallback(
    bytes: &[u8],
    header: &Header,
    caps: Caps,
    scale: f64,
) -> Result<Srgb, EngineError> {
    if header.single_scan() {
        checked_scans(bytes, header, caps.turbo.max_scans)?;
    }
    fallback_decode(bytes, caps.max_alloc, scale)
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
/// `scale`. libjpeg-turbo first; `jpeg-decoder` for what it cannot decode (see the module
/// docs), whose typed error is returned when both fail.
pub fn decode(bytes: &[u8], header: &Header, caps: Caps, scale: f64) -> Result<Srgb, EngineError> {
    let (num, denom) = pick_scale(header.width, header.height, scale);
    let layout = match header.components {
        1 => turbo::Layout::Gray,
        4 => turbo::Layout::Cmyk,
        _ => turbo::Layout::Rgb,
    };
    if header.fallback_only {
        return fallback(bytes, header, caps, scale);
    }
    match turbo::decode(bytes, layout, num, denom, caps.turbo) {
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
        Err(e) => after_turbo_failed(e, || fallback(bytes, header, caps, scale)),
    }
}

/// libjpeg-turbo failed: a limit refuses the file; a file it cannot decode goes to
/// `fallback` (`jpeg-decoder`). The one place that decides, for both decode paths.
pub(super) fn after_turbo_failed<T>(
    e: turbo::DecodeError,
    fallback: impl FnOnce() -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    match e {
        turbo::DecodeError::Limit(why) => Err(EngineError::LimitExceeded(format!(
            "libjpeg-turbo stopped: {why}"
        ))),
        turbo::DecodeError::Failed(why) => {
            tracing::debug!(error = %why, "libjpeg-turbo cannot decode the JPEG; trying jpeg-decoder");
            fallback()
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
fn fallback_header(bytes: &[u8], limits: &Limits) -> Result<Header, EngineError> {
    let mut d = decoder_for(bytes, limits.max_metadata_bytes);
    d.read_info().map_err(jpeg_err)?;
    let info = d
        .info()
        .ok_or_else(|| EngineError::Corrupt("no JPEG frame".into()))?;
    let icc = d.icc_profile();
    let icc_len = icc.as_ref().map_or(0, |p| p.len() as u64);
    if icc_len > limits.max_metadata_bytes {
        return Err(EngineError::LimitExceeded(format!(
            "the JPEG's ICC profile is {icc_len} bytes, over the {} byte metadata limit",
            limits.max_metadata_bytes
        )));
    }
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
        icc,
        adobe: false,
        luma_sampling: (1, 1),
        // Unknown here: the estimate assumes full-resolution components.
        sampling: Vec::new(),
        progressive: info.coding_process == jpeg_decoder::CodingProcess::DctProgressive,
        first_scan_components: 0,
        scans: 0,
        fallback_only: true,
    })
}

fn fallback_decode(bytes: &[u8], max_alloc: u64, scale: f64) -> Result<Srgb, EngineError> {
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
                let h = read_header(&bytes, &Limits::default()).expect("header");
                let caps = Caps {
                    turbo: turbo::Caps {
                        max_memory_mb: 1024,
                        max_scans: 500,
                    },
                    max_alloc: 1 << 30,
                };
                let ours = decode(&bytes, &h, caps, 1.0).unwrap().bitmap;
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
