//! The transform engine: source bytes in, every requested rendition out.
//!
//! Plain synchronous, CPU-only code (no async, no AWS types): callers run it on a CPU pool.
//! One call decodes the source **once**, at the smallest size that still serves the
//! largest requested output, and makes every rendition from that single decode:
//!
//! ```text
//! detect (magic bytes) → header (limits) → plan sizes → decode (shrink-on-load, → sRGB)
//!   → orient upright → for each transform: resize+crop → flatten alpha if JPEG → encode
//! ```
//!
//! A deadline is checked between stages. A panic inside a decoder is caught and reported as
//! [`EngineError::Internal`] so one hostile file cannot take a worker down.

mod bitmap;
mod color;
mod deadline;
mod decode;
mod encode;
mod error;
pub mod geometry;
mod orient;
mod resize;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use deadline::Deadline;
pub use error::{EngineError, Fault};

use crate::catalogue::Transform;
use crate::media::{detect, Detected, MediaType};

/// Resource limits applied to every source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest source, in pixels (width × height), checked from the header before decoding.
    pub max_input_pixels: u64,
    /// Largest source file, in bytes.
    pub max_input_bytes: u64,
    /// Largest output width or height, in pixels.
    pub max_output_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_pixels: 100_000_000,
            max_input_bytes: 200 * 1024 * 1024,
            max_output_side: 8192,
        }
    }
}

/// What the header says about a source, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceInfo {
    pub media: MediaType,
    /// Upright (orientation-applied) size.
    pub width: u32,
    pub height: u32,
    /// Upper bound of the memory one decode of this source takes.
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
                estimated_decode_bytes: src.estimated_decode_bytes(),
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
        guard(|| self.render_inner(bytes, transforms, deadline))
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

    fn render_inner(
        &self,
        bytes: &[u8],
        transforms: &[Arc<Transform>],
        deadline: Deadline,
    ) -> Result<Vec<Rendition>, EngineError> {
        let src = self.open(bytes)?;
        if let Some(t) = transforms.iter().find(|t| !t.accepts(src.media)) {
            return Err(EngineError::NotAccepted {
                transform: t.name.clone(),
                media_type: src.media.mime().to_string(),
            });
        }
        let (up_w, up_h) = src.upright_size();
        let plans: Vec<geometry::Plan> = transforms
            .iter()
            .map(|t| geometry::plan(up_w, up_h, &t.resize))
            .collect();
        let max_side = self.limits.max_output_side;
        if let Some(p) = plans
            .iter()
            .find(|p| p.out_w > max_side || p.out_h > max_side)
        {
            return Err(EngineError::LimitExceeded(format!(
                "output {}×{} is over the {max_side} px side limit",
                p.out_w, p.out_h
            )));
        }
        let scale = plans.iter().map(|p| p.needed_scale()).fold(0.0, f64::max);
        deadline.check("header")?;

        let orientation = src.orientation;
        let decoded = src.decode(scale.min(1.0))?;
        deadline.check("decode")?;
        let upright = orient::apply(decoded, orientation);
        deadline.check("orient")?;

        // Plans are in full-resolution coordinates; the decode may be smaller.
        let kx = upright.width as f64 / up_w as f64;
        let ky = upright.height as f64 / up_h as f64;
        let mut resizer = fast_image_resize::Resizer::new();
        let mut out = Vec::with_capacity(transforms.len());
        for (t, plan) in transforms.iter().zip(&plans) {
            let started = Instant::now();
            let crop = plan.crop.scaled(kx, ky, upright.width, upright.height);
            let resized = resize::resize(&mut resizer, &upright, crop, plan.out_w, plan.out_h)?;
            deadline.check("resize")?;
            let bytes = encode::encode(&resized, &t.output)?;
            deadline.check("encode")?;
            out.push(Rendition {
                transform: t.clone(),
                bytes,
                width: plan.out_w,
                height: plan.out_h,
                elapsed: started.elapsed(),
            });
        }
        Ok(out)
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
