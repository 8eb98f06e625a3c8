//! The transform engine: source bytes in, every requested rendition out.
//!
//! Plain synchronous, CPU-only code (no async, no AWS types): callers run it on a CPU pool.
//! One call decodes the source **once**, at the smallest size that still serves the
//! largest requested output, and makes every rendition from that single decode:
//!
//! ```text
//! detect (magic bytes) → header (limits: pixels, metadata, JPEG scans; the decode's memory)
//!   → plan sizes → decode (shrink-on-load, as stored; capped at the estimate)
//!   → for each transform, most detailed first:
//!       resize+crop from the smallest earlier output that covers it (cascade.rs),
//!         or from the decode — then → sRGB and upright (on the small image)
//!       → flatten alpha if JPEG → encode → metadata the transform keeps (`metadata/`)
//!   → (when asked) the placeholders: an uncropped ≤ 100 px preview from the smallest
//!     whole-frame output that covers it, else the decode → ThumbHash, BlurHash, colour
//! ```
//!
//! What flows through is a `Frame` (`frame.rs`): YCbCr planes when the source is a JPEG that
//! needs no colour conversion and every output is JPEG, WebP or AVIF (`planar.rs`: no RGB is
//! ever made, chroma stays at its own resolution), an RGB(A) bitmap otherwise.
//!
//! Everything done per pixel of the full decode is done once (the decode itself); colour
//! conversion and orientation run on resized images, and no copy of the decode is made.
//! `docs/performance.md` has the measurements behind each choice.
//!
//! The stages are `render.rs`; a deadline is checked between every two. A panic inside a decoder is caught and reported as
//! [`EngineError::Internal`] so one hostile file cannot take a worker down.

mod anim;
mod attention;
mod avif_out;
mod bitmap;
mod cascade;
mod color;
mod deadline;
mod decode;
mod encode;
mod error;
mod estimate;
mod frame;
pub mod geometry;
mod gif;
mod gif_out;
mod heif;
mod jpeg;
mod jxl;
mod limits;
mod metadata;
mod orient;
mod placeholder;
mod planar;
mod png;
mod raw;
mod render;
mod resize;
mod scratch;
#[doc(hidden)]
pub mod stages;
mod svg;
mod tiff;
mod turbo;
mod turbo_yuv;
mod webp_yuv;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

pub use deadline::Deadline;
pub use error::{EngineError, Fault};
pub use limits::Limits;
pub use placeholder::Placeholders;

use crate::catalogue::Transform;
use crate::media::{detect, Detected, MediaType};

/// What the header says about a source, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceInfo {
    pub media: MediaType,
    /// Upright (orientation-applied) size.
    pub width: u32,
    pub height: u32,
    /// Upper bound of the memory one decode of this source takes, by either decoder, at
    /// full size: decoded pixels, their 8-bit and RGB copies, the decoder's working memory
    /// (whole-image coefficient buffers of a progressive JPEG, at full resolution whatever
    /// the output size) and the metadata. Every decoder runs capped at it. Resizing adds
    /// its own buffers on top (at most about the decoded size; see `resize.rs`).
    pub estimated_decode_bytes: u64,
}

/// One finished derived object.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub transform: Arc<Transform>,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Time spent on this rendition's resize and encode (the shared decode not included).
    pub elapsed: Duration,
}

/// What a render makes besides the renditions, and how.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RenderOptions {
    /// Make the source's placeholders (`placeholder.rs`) too.
    pub placeholders: bool,
    /// Centre every `fill` crop on this point (it wins over the transforms' gravity).
    pub focus: Option<geometry::Focus>,
}

/// Everything one render made: the renditions, in the order asked, and the source's
/// placeholders when they were asked for.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub renditions: Vec<Rendition>,
    pub placeholders: Option<Placeholders>,
}

#[derive(Debug, Clone, Default)]
pub struct Engine {
    limits: Limits,
}

impl Engine {
    pub fn new(limits: Limits) -> Self {
        Engine { limits }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sniffs the format and reads the header: cheap, used to choose transforms and to
    /// reserve memory before the real work.
    pub fn probe(&self, bytes: &[u8]) -> Result<SourceInfo, EngineError> {
        guard(|| {
            let src = self.open(bytes)?;
            let (width, height) = src.upright_size();
            Ok(SourceInfo {
                media: src.media,
                width,
                height,
                estimated_decode_bytes: src.estimated_bytes,
            })
        })
    }

    /// Makes every transform's rendition from one decode of `bytes`, in the order given.
    pub fn render(
        &self,
        bytes: &[u8],
        transforms: &[Arc<Transform>],
        deadline: Deadline,
    ) -> Result<Vec<Rendition>, EngineError> {
        let opts = RenderOptions::default();
        Ok(self
            .render_all(bytes, transforms, deadline, &opts)?
            .renditions)
    }

    /// [`Engine::render`] as `opts` say: with the source's placeholders from the same
    /// decode, with `fill` crops centred on a focal point.
    pub fn render_all(
        &self,
        bytes: &[u8],
        transforms: &[Arc<Transform>],
        deadline: Deadline,
        opts: &RenderOptions,
    ) -> Result<Rendered, EngineError> {
        guard(|| {
            let src = self.open(bytes)?;
            deadline.check("header")?;
            let max_side = self.limits.max_output_side;
            if anim::wanted(&src, transforms) {
                anim::check_limits(&src, &self.limits)?;
                return anim::render(&src, transforms, max_side, deadline, opts);
            }
            render::render(&src, transforms, max_side, deadline, opts)
        })
    }

    /// Makes every transform's rendition from pixels decoded elsewhere: a video frame or a
    /// PDF page from [`crate::extract`] (upright 8-bit sRGB RGB, `width × height × 3`
    /// bytes), through the same cascade as a decoded image. Outputs are planned against
    /// `size`, the source's own upright size (a video's display size), of which the still
    /// may be a shrunk copy. `opts` as for [`Engine::render_all`].
    pub fn render_still(
        &self,
        media: MediaType,
        size: (u32, u32),
        (width, height, rgb): (u32, u32, &[u8]),
        transforms: &[Arc<Transform>],
        deadline: Deadline,
        opts: &RenderOptions,
    ) -> Result<Rendered, EngineError> {
        guard(|| {
            if rgb.len() as u64 != width as u64 * height as u64 * 3 || width == 0 || height == 0 {
                return Err(EngineError::Internal(format!(
                    "still of {width}×{height} with {} bytes",
                    rgb.len()
                )));
            }
            let pixels = width as u64 * height as u64;
            if pixels > self.limits.max_input_pixels {
                return Err(EngineError::LimitExceeded(format!(
                    "still {width}×{height} is over the {} pixel limit",
                    self.limits.max_input_pixels
                )));
            }
            let src = decode::Source::raw(media, size, (width, height), rgb);
            render::render(
                &src,
                transforms,
                self.limits.max_output_side,
                deadline,
                opts,
            )
        })
    }

    fn open<'a>(&self, bytes: &'a [u8]) -> Result<decode::Source<'a>, EngineError> {
        if bytes.len() as u64 > self.limits.max_input_bytes {
            return Err(EngineError::LimitExceeded(format!(
                "source is {} bytes, over the {} byte limit",
                bytes.len(),
                self.limits.max_input_bytes
            )));
        }
        let media = match detect(bytes) {
            Detected::Supported(m) => m,
            Detected::Unsupported(name) => return Err(EngineError::UnsupportedFormat(name.into())),
            Detected::Unknown => {
                return Err(EngineError::UnsupportedFormat(
                    "not a recognised image".into(),
                ))
            }
        };
        decode::Source::open(bytes, media, &self.limits)
    }
}

/// Runs engine code, turning a panic (a decoder bug on hostile input) into an error.
fn guard<T>(f: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(EngineError::Internal(format!("panic in engine: {msg}")))
        }
    }
}
