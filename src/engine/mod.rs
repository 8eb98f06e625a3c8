//! The transform engine: source bytes in, every requested rendition out.
//!
//! Plain synchronous, CPU-only code (no async, no AWS types): callers run it on a CPU pool.
//! One call decodes the source **once**, at the smallest size that still serves the
//! largest requested output, and makes every rendition from that single decode:
//!
//! ```text
//! detect (magic bytes) → header (limits) → plan sizes → decode (shrink-on-load, as stored)
//!   → for each transform, most detailed first:
//!       resize+crop from the smallest earlier output that covers it (cascade.rs),
//!         or from the decode — then → sRGB and upright (on the small image)
//!       → flatten alpha if JPEG → encode
//! ```
//!
//! What flows through is a `Frame` (`frame.rs`): YCbCr planes when the source is a JPEG that
//! needs no colour conversion and every output is JPEG or WebP (`planar.rs`: no RGB is
//! ever made, chroma stays at its own resolution), an RGB(A) bitmap otherwise.
//!
//! Everything done per pixel of the full decode is done once (the decode itself); colour
//! conversion and orientation run on resized images, and no copy of the decode is made.
//! `docs/performance.md` has the measurements behind each choice.
//!
//! A deadline is checked between stages. A panic inside a decoder is caught and reported as
//! [`EngineError::Internal`] so one hostile file cannot take a worker down.

mod bitmap;
mod cascade;
mod color;
mod deadline;
mod decode;
mod encode;
mod error;
mod frame;
pub mod geometry;
mod jpeg;
mod orient;
mod planar;
mod resize;
mod scratch;
#[doc(hidden)]
pub mod stages;
mod turbo;
mod turbo_yuv;
mod webp_yuv;

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use deadline::Deadline;
pub use error::{EngineError, Fault};

use crate::catalogue::Transform;
use crate::media::{detect, Detected, MediaType};
use frame::Frame;

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

        let o = src.orientation;
        // The YCbCr path when every output can be written from planes (`planar.rs`), with
        // the chroma resolution (relative to full-size luma) the outputs need.
        let planar = transforms
            .iter()
            .zip(&plans)
            .map(|(t, p)| planar::chroma_for(&t.output).map(|f| f * p.needed_scale()))
            .try_fold(0.0, |max: f64, c| c.map(|c| max.max(c)));
        let decode::Decoded {
            frame: decoded,
            mut fix,
        } = src.decode(scale.min(1.0), planar)?;
        deadline.check("decode")?;

        // Plans are in full-resolution upright coordinates; the decode is stored-oriented
        // and may be smaller.
        let (sw, sh) = (src.width as f64, src.height as f64);
        let (dw, dh) = decoded.size();
        let (kx, ky) = (dw as f64 / sw, dh as f64 / sh);
        let mut resizer = resize::thread_resizer();
        let mut made: Vec<Option<Frame>> = vec![None; transforms.len()];
        let mut sources = Vec::new();
        let mut out: Vec<Option<Rendition>> = vec![None; transforms.len()];
        for i in cascade::order(&plans) {
            let (t, plan) = (&transforms[i], &plans[i]);
            let started = Instant::now();
            let in_base = |base: &Frame| {
                let (bw, bh) = base.size();
                plan.crop
                    .scaled(bw as f64 / up_w as f64, bh as f64 / up_h as f64, bw, bh)
            };
            let usable = |j: usize| {
                let base = made[j].as_ref().expect("sources are kept");
                base.chroma_covers(in_base(base), plan.out_w, plan.out_h, &t.output)
            };
            let image = match cascade::pick(&plans, &sources, i, (up_w, up_h), usable) {
                Some(j) => {
                    let base = made[j].as_ref().expect("sources are kept");
                    let crop = in_base(base);
                    let size = (plan.out_w, plan.out_h);
                    Cow::Owned(base.resize(&mut resizer, crop, size, &t.output, 1)?)
                }
                None => {
                    let crop = orient::rect_to_stored(plan.crop, o, sw, sh).scaled(kx, ky, dw, dh);
                    let (ow, oh) = if orient::swaps_axes(o) {
                        (plan.out_h, plan.out_w)
                    } else {
                        (plan.out_w, plan.out_h)
                    };
                    let mut r = if !decoded.is_identity(crop, ow, oh, &t.output) {
                        Cow::Owned(decoded.resize(&mut resizer, crop, (ow, oh), &t.output, o)?)
                    } else if fix.is_none() && o <= 1 {
                        Cow::Borrowed(&decoded)
                    } else {
                        Cow::Owned(decoded.clone())
                    };
                    if let (Cow::Owned(Frame::Rgb(b)), Some(f)) = (&mut r, fix.as_mut()) {
                        f.apply(b);
                    }
                    match r {
                        Cow::Owned(b) => Cow::Owned(b.orient(o)),
                        borrowed => borrowed,
                    }
                }
            };
            deadline.check("resize")?;
            let bytes = image.encode(&t.output)?;
            deadline.check("encode")?;
            out[i] = Some(Rendition {
                transform: t.clone(),
                bytes,
                width: plan.out_w,
                height: plan.out_h,
                elapsed: started.elapsed(),
            });
            if let Cow::Owned(f) = image {
                if cascade::whole_frame(plan, up_w, up_h) {
                    made[i] = Some(f);
                    sources.push(i);
                } else {
                    f.recycle();
                }
            }
        }
        decoded.recycle();
        made.into_iter().flatten().for_each(Frame::recycle);
        Ok(out.into_iter().flatten().collect())
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
