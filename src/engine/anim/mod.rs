//! Animated renders: an animated GIF, WebP or APNG source whose transforms keep the
//! animation (`animation = "keep"`, `catalogue/animation.rs`) becomes animated WebP
//! (libwebp's animation encoder, `webp_anim.rs`) or GIF (`gif_out.rs`).
//!
//! ```text
//! open (frames counted from the container) → limits: frames, frames × pixels
//!   → plan sizes → for each frame, decoded once (composited, `decode/animated.rs`):
//!       each animated output: resize + colour + orient (as a still's output from the
//!       decode) → its animation encoder (WebP or GIF), with the frame's duration
//!       the first frame only: every still output and the placeholders (`render::fan_out`)
//!   → close every animation (loop count kept)
//! ```
//!
//! Frames stream through: no render holds more than the decoder's canvases, one frame and
//! one resized frame per output. Animated outputs are resized from the decoded frame
//! (never from another output) and their crop is fixed for the whole animation: a
//! content-aware gravity (`attention`, `entropy`) is centred, as the crop cannot follow
//! the content from frame to frame.

mod webp_anim;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bitmap::Bitmap;
use super::color::{self, ColorFix};
use super::decode::{Decoded, Source};
use super::encode::{self, WEBP_METHOD};
use super::error::from_image;
use super::frame::Frame;
use super::geometry::Plan;
use super::gif_out::GifWriter;
use super::render::{self, Geometry};
use super::resize::{self, ThreadResizer};
use super::{Deadline, EngineError, Limits, RenderOptions, Rendered, Rendition};
use crate::catalogue::Transform;
use crate::media::OutputFormat;
use webp_anim::AnimWriter;

/// Whether rendering `transforms` of `src` takes the animated path: the source has
/// several frames and some output keeps them.
pub(super) fn wanted(src: &Source<'_>, transforms: &[Arc<Transform>]) -> bool {
    src.frames > 1 && transforms.iter().any(|t| t.animation.animates(&t.output))
}

/// `limits.max_frames` and `limits.max_animation_pixels`, from the container's count:
/// before any frame is decoded.
pub(super) fn check_limits(src: &Source<'_>, limits: &Limits) -> Result<(), EngineError> {
    if src.frames > limits.max_frames as u64 {
        return Err(EngineError::LimitExceeded(format!(
            "{} frames, over the {}-frame animation limit",
            src.frames, limits.max_frames
        )));
    }
    let pixels = src.frames * src.width as u64 * src.height as u64;
    if pixels > limits.max_animation_pixels {
        return Err(EngineError::LimitExceeded(format!(
            "{} frames of {}×{} = {:.1} MP, over the {:.1} MP animation limit",
            src.frames,
            src.width,
            src.height,
            pixels as f64 / 1e6,
            limits.max_animation_pixels as f64 / 1e6
        )));
    }
    Ok(())
}

/// One animated output being made.
struct Output {
    index: usize,
    size: (u32, u32),
    writer: Writer,
    elapsed: Duration,
}

/// An animation encoder, by output format.
enum Writer {
    Webp(AnimWriter),
    Gif(GifWriter),
}

impl Writer {
    fn new(t: &Transform, (w, h): (u32, u32), loops: u16) -> Result<Self, EngineError> {
        Ok(match t.output.format {
            OutputFormat::Gif => Writer::Gif(GifWriter::new(loops).map_err(failure("gif"))?),
            _ => {
                let quality = encode::webp_quality(&t.output);
                let writer = AnimWriter::new(w, h, loops, quality, WEBP_METHOD);
                Writer::Webp(writer.map_err(failure("webp"))?)
            }
        })
    }

    fn add(&mut self, frame: &Bitmap, duration_ms: u32) -> Result<(), EngineError> {
        match self {
            Writer::Webp(w) => w.add(frame, duration_ms).map_err(failure("webp")),
            Writer::Gif(w) => w.add(frame, duration_ms).map_err(failure("gif")),
        }
    }

    fn finish(self) -> Result<Vec<u8>, EngineError> {
        match self {
            Writer::Webp(w) => w.finish().map_err(failure("webp")),
            Writer::Gif(w) => Ok(w.finish()),
        }
    }
}

/// Every rendition of `transforms`, the animated ones from every frame and the others
/// (and the placeholders) from the first, in one pass over the frames.
pub(super) fn render(
    src: &Source<'_>,
    transforms: &[Arc<Transform>],
    max_side: u32,
    deadline: Deadline,
    opts: &RenderOptions,
) -> Result<Rendered, EngineError> {
    render::check_accepted(src, transforms)?;
    let plans = render::plan(src, transforms, max_side, opts.focus)?;
    deadline.check("plan")?;
    let mut anim = src.animated()?;
    let mut outputs = writers(transforms, &plans, anim.loops)?;
    let still: Vec<usize> = (0..transforms.len())
        .filter(|&i| outputs.iter().all(|o| o.index != i))
        .collect();
    let mut fix = color::fix_for_icc(anim.icc.as_deref());
    let geo = Geometry::new(src, (src.width, src.height));
    let mut resizer = resize::thread_resizer();
    let mut first: Option<Rendered> = None;
    let mut n = 0u64;
    for frame in anim.frames.by_ref() {
        n += 1;
        if n > src.frames {
            let m = format!("more frames than the {} counted", src.frames);
            return Err(EngineError::Corrupt(m));
        }
        let (bitmap, duration) = decoded_frame(frame.map_err(from_image)?, src)?;
        let decoded = Frame::Rgb(bitmap);
        for o in &mut outputs {
            let (t, plan) = (&transforms[o.index], &plans[o.index]);
            let ctx = (&mut resizer, fix.as_mut(), &geo);
            o.add(&decoded, ctx, t, plan, duration)?;
        }
        if n == 1 && (!still.is_empty() || opts.placeholders) {
            let stills: Vec<_> = still.iter().map(|&i| transforms[i].clone()).collect();
            let plans = still.iter().map(|&i| plans[i]).collect();
            let Frame::Rgb(b) = decoded else {
                return Err(EngineError::Internal("animation frame as YCbCr".into()));
            };
            let decoded = Decoded {
                frame: Frame::Rgb(b.drop_opaque_alpha()),
                fix: color::fix_for_icc(anim.icc.as_deref()),
            };
            first = Some(render::fan_out(
                src, decoded, &stills, plans, deadline, opts,
            )?);
        } else {
            decoded.recycle();
        }
        deadline.check("frame")?;
    }
    if n == 0 {
        return Err(EngineError::Corrupt("an animation without frames".into()));
    }
    finish(transforms, outputs, &still, first)
}

/// A writer for every animated output, in order.
fn writers(
    transforms: &[Arc<Transform>],
    plans: &[Plan],
    loops: u16,
) -> Result<Vec<Output>, EngineError> {
    let animated =
        (0..transforms.len()).filter(|&i| transforms[i].animation.animates(&transforms[i].output));
    animated
        .map(|index| {
            let (t, p) = (&transforms[index], &plans[index]);
            let writer = Writer::new(t, (p.out_w, p.out_h), loops)?;
            Ok(Output {
                index,
                size: (p.out_w, p.out_h),
                writer,
                elapsed: Duration::ZERO,
            })
        })
        .collect()
}

impl Output {
    /// Adds `decoded`, made into this output's frame, for `duration_ms`.
    fn add(
        &mut self,
        decoded: &Frame,
        (resizer, fix, geo): (&mut ThreadResizer, Option<&mut ColorFix>, &Geometry),
        t: &Transform,
        plan: &Plan,
        duration_ms: u32,
    ) -> Result<(), EngineError> {
        let started = Instant::now();
        let image = render::from_decode(decoded, fix, resizer, geo, t, plan)?;
        let Frame::Rgb(b) = &*image else {
            return Err(EngineError::Internal("animation frame as YCbCr".into()));
        };
        self.writer.add(b, duration_ms)?;
        if let Cow::Owned(f) = image {
            f.recycle();
        }
        self.elapsed += started.elapsed();
        Ok(())
    }
}

/// A decoded frame as a bitmap, with its duration in ms; the canvas must be the source's.
fn decoded_frame(frame: image::Frame, src: &Source<'_>) -> Result<(Bitmap, u32), EngineError> {
    let (numer, denom) = frame.delay().numer_denom_ms();
    let duration = (numer as u64 / denom.max(1) as u64).min(u32::MAX as u64) as u32;
    let buffer = frame.into_buffer();
    let (width, height) = buffer.dimensions();
    if (width, height) != (src.width, src.height) {
        return Err(EngineError::Corrupt(format!(
            "frame of {width}×{height} on a {}×{} canvas",
            src.width, src.height
        )));
    }
    let bitmap = Bitmap {
        width,
        height,
        channels: 4,
        data: buffer.into_raw(),
    };
    Ok((bitmap, duration))
}

/// The renditions in the order of `transforms`: the animations closed, the still ones
/// from the first frame.
fn finish(
    transforms: &[Arc<Transform>],
    outputs: Vec<Output>,
    still: &[usize],
    first: Option<Rendered>,
) -> Result<Rendered, EngineError> {
    let mut out: Vec<Option<Rendition>> = vec![None; transforms.len()];
    let (renditions, placeholders) =
        first.map_or((Vec::new(), None), |r| (r.renditions, r.placeholders));
    for (&i, r) in still.iter().zip(renditions) {
        out[i] = Some(r);
    }
    for o in outputs {
        let started = Instant::now();
        let t = &transforms[o.index];
        let bytes = o.writer.finish()?;
        out[o.index] = Some(Rendition {
            transform: t.clone(),
            bytes,
            width: o.size.0,
            height: o.size.1,
            elapsed: o.elapsed + started.elapsed(),
        });
    }
    Ok(Rendered {
        renditions: out.into_iter().flatten().collect(),
        placeholders,
    })
}

fn failure(format: &'static str) -> impl Fn(String) -> EngineError {
    move |message| EngineError::Encode {
        format: format.into(),
        message,
    }
}
