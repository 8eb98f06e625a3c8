//! JPEG XL sources through `jxl-oxide` (pure Rust; lossy VarDCT, lossless Modular, alpha,
//! animation, and JPEGs recompressed by `cjxl`, which decode to their pixels here).
//!
//! Header first: the image header is read by feeding the decoder growing prefixes of the
//! file until it has parsed it (a few hundred bytes, more with an ICC profile), so the
//! pixel limit is checked before any frame is decoded. The decode then runs
//! single-threaded (the worker pool already runs one job per core) under an
//! [`AllocTracker`] capped at the estimate the worker reserved: a file whose frames need
//! more is refused, not decoded into a bigger allocation.
//!
//! Orientation is the codestream's own and jxl-oxide applies it while rendering, so the
//! source is reported upright (orientation 1); an `Exif` box is never read for it (libjxl
//! copies a recompressed JPEG's EXIF orientation into the codestream and the spec says
//! the codestream wins), so nothing is rotated twice. Colour: the pixels come out in the
//! encoding jxl-oxide renders to (the original ICC profile for a recompressed JPEG),
//! described by `rendered_icc`, which the usual deferred conversion applies once.
//! Premultiplied alpha is divided out before 8-bit rounding. Animated files: the first
//! frame.

use jxl_oxide::{AllocTracker, InitializeResult, JxlImage, JxlThreadPool, PixelFormat};

use super::color::{to_srgb_deferred, Pixels, Srgb};
use super::error::EngineError;
use super::estimate::COLOUR_MANAGEMENT;

/// What the header says.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// Upright size (orientation applied, as rendered).
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    premultiplied: bool,
    /// Every channel the decoder holds: colour and extra channels.
    planes: u32,
    icc_len: u64,
}

/// Reads the header, feeding ever larger prefixes of `bytes` until it is parsed.
pub fn read_header(bytes: &[u8]) -> Result<Info, EngineError> {
    let mut uninit = JxlImage::builder()
        .pool(JxlThreadPool::none())
        .build_uninit();
    let (mut fed, mut step) = (0usize, 4096usize);
    let image = loop {
        let end = fed.saturating_add(step).min(bytes.len());
        fed += uninit.feed_bytes(&bytes[fed..end]).map_err(corrupt)?;
        match uninit.try_init().map_err(corrupt)? {
            InitializeResult::Initialized(image) => break image,
            InitializeResult::NeedMoreData(_) if end == bytes.len() => {
                return Err(EngineError::Corrupt("JPEG XL header is truncated".into()))
            }
            InitializeResult::NeedMoreData(u) => uninit = u,
        }
        step = step.saturating_mul(2);
    };
    let meta = &image.image_header().metadata;
    let premultiplied = meta
        .ec_info
        .iter()
        .any(|ec| ec.alpha_associated() == Some(true));
    let colour = if meta.grayscale() { 1 } else { 3 };
    Ok(Info {
        width: image.width(),
        height: image.height(),
        format: image.pixel_format(),
        premultiplied,
        planes: colour + meta.ec_info.len() as u32,
        icc_len: image.original_icc().map_or(0, |p| p.len() as u64),
    })
}

/// Peak bytes of one decode: the decoder's f32 planes (every channel, three times over:
/// decoded, rendered and blended; measured peaks are 2.1–2.7 copies, `tests/engine_memory.rs`),
/// our f32 copy of the rendered channels and their 8-bit form, and the colour management of
/// an ICC profile.
pub fn estimate(info: &Info) -> u64 {
    let px = info.width as u64 * info.height as u64;
    let out = info.format.channels() as u64;
    let decoder = px * info.planes as u64 * 4 * 3;
    let ours = px * out * 4 + px * out.max(3);
    let icc = if info.icc_len > 0 {
        info.icc_len + COLOUR_MANAGEMENT
    } else {
        0
    };
    decoder + ours + icc + (4 << 20)
}

/// Decodes the first frame, upright, as 8-bit (grey is widened to RGB by the conversion).
pub fn decode(bytes: &[u8], info: &Info, cap: u64) -> Result<Srgb, EngineError> {
    if matches!(info.format, PixelFormat::Cmyk | PixelFormat::Cmyka) {
        return Err(EngineError::UnsupportedFormat("CMYK JPEG XL".into()));
    }
    let tracker = AllocTracker::with_limit(usize::try_from(cap).unwrap_or(usize::MAX));
    let image = JxlImage::builder()
        .pool(JxlThreadPool::none())
        .alloc_tracker(tracker)
        .read(bytes)
        .map_err(decode_error)?;
    if image.num_loaded_keyframes() == 0 {
        return Err(EngineError::Corrupt("JPEG XL has no complete frame".into()));
    }
    let render = image.render_frame(0).map_err(decode_error)?;
    let mut stream = render.stream();
    let (w, h, ch) = (stream.width(), stream.height(), stream.channels() as usize);
    let mut samples = vec![0f32; w as usize * h as usize * ch];
    stream.write_to_buffer(&mut samples);
    let alpha = matches!(info.format, PixelFormat::Graya | PixelFormat::Rgba);
    if alpha && info.premultiplied {
        unpremultiply(&mut samples, ch);
    }
    let bytes8: Vec<u8> = samples.iter().map(|&v| to_u8(v)).collect();
    drop(samples);
    let pixels = match info.format {
        PixelFormat::Gray => Pixels::Gray(bytes8),
        PixelFormat::Graya => Pixels::Rgba(bytes8.chunks_exact(2).flat_map(grey_alpha).collect()),
        PixelFormat::Rgba => Pixels::Rgba(bytes8),
        _ => Pixels::Rgb(bytes8),
    };
    // sRGB (CICP 1/13/0 full range) needs no profile; anything else is described by one.
    let icc = (image.rendered_cicp() != Some([1, 13, 0, 1])).then(|| image.rendered_icc());
    let srgb = to_srgb_deferred(pixels, w, h, icc.as_deref());
    Ok(Srgb {
        bitmap: srgb.bitmap.drop_opaque_alpha(),
        fix: srgb.fix,
    })
}

fn grey_alpha(ga: &[u8]) -> [u8; 4] {
    [ga[0], ga[0], ga[0], ga[1]]
}

/// Colour channels divided by alpha (the last channel), where alpha is not zero.
fn unpremultiply(samples: &mut [f32], channels: usize) {
    for px in samples.chunks_exact_mut(channels) {
        let (colour, alpha) = px.split_at_mut(channels - 1);
        let a = alpha[0];
        if a > 0.0 {
            colour.iter_mut().for_each(|c| *c = (*c / a).min(1.0));
        }
    }
}

fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

fn corrupt(e: Box<dyn std::error::Error + Send + Sync>) -> EngineError {
    EngineError::Corrupt(format!("JPEG XL: {e}"))
}

/// The tracker's refusal is the decode going over its reservation; the rest is bad data.
fn decode_error(e: Box<dyn std::error::Error + Send + Sync>) -> EngineError {
    let msg = e.to_string();
    if msg.contains("failed to allocate") {
        EngineError::LimitExceeded(format!("JPEG XL decode over its memory estimate: {msg}"))
    } else {
        EngineError::Corrupt(format!("JPEG XL: {msg}"))
    }
}
