//! One call of [`super::Engine::render`], as its stages:
//!
//! ```text
//! open (limits) → accepted? → plan sizes → decode once
//!   → per output, most detailed first: source (an earlier output, or the decode:
//!     resize, colour, orient) → encode → keep it as a source for later outputs?
//! ```
//!
//! The deadline is checked after every stage (libjpeg-turbo cannot be interrupted, so a
//! check *inside* the decode is impossible; the header limits keep that stage bounded).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use super::bitmap::Bitmap;
use super::color::ColorFix;
use super::decode::{Decoded, Source};
use super::frame::Frame;
use super::geometry::{self, Focus, Plan, Rect};
use super::metadata::{self, Embed};
use super::placeholder::{self, Placeholders};
use super::resize::ThreadResizer;
use super::{attention, cascade, encode, orient, resize, scratch};
use super::{Deadline, EngineError, RenderOptions, Rendered, Rendition};
use crate::catalogue::spec::ResizeMode;
use crate::catalogue::Transform;

/// Every transform's rendition of `src`, in the order given, and (when asked) the
/// source's placeholders from the same decode.
pub(super) fn render(
    src: &Source<'_>,
    transforms: &[Arc<Transform>],
    max_side: u32,
    deadline: Deadline,
    opts: &RenderOptions,
) -> Result<Rendered, EngineError> {
    check_accepted(src, transforms)?;
    let plans = plan(src, transforms, max_side, opts.focus)?;
    deadline.check("plan")?;
    let decoded = decode_once(src, transforms, &plans)?;
    deadline.check("decode")?;
    fan_out(src, decoded, transforms, plans, deadline, opts)
}

/// Every rendition of `transforms` (planned as `plans`) and the placeholders `opts` ask
/// for, from `decoded`: the rest of [`render`] once the decode is made (also the still
/// outputs of an animated source's first frame, `anim/`).
pub(super) fn fan_out(
    src: &Source<'_>,
    decoded: Decoded,
    transforms: &[Arc<Transform>],
    plans: Vec<Plan>,
    deadline: Deadline,
    opts: &RenderOptions,
) -> Result<Rendered, EngineError> {
    let (container, max_metadata) = src.container();
    let embeds = metadata::plan(container, max_metadata, transforms);
    let mut fanout = Fanout::new(src, decoded, transforms, plans, opts.focus);
    fanout.keep_metadata(embeds);
    let out = fanout.make_all(deadline).and_then(|renditions| {
        let placeholders = match opts.placeholders {
            true => Some(fanout.placeholders()?),
            false => None,
        };
        deadline.check("placeholders")?;
        Ok(Rendered {
            renditions,
            placeholders,
        })
    });
    fanout.recycle();
    out
}

pub(super) fn check_accepted(
    src: &Source<'_>,
    transforms: &[Arc<Transform>],
) -> Result<(), EngineError> {
    match transforms.iter().find(|t| !t.accepts(src.media)) {
        Some(t) => Err(EngineError::NotAccepted {
            transform: t.name.clone(),
            media_type: src.media.mime().to_string(),
        }),
        None => Ok(()),
    }
}

/// Output sizes and crops, in full-resolution upright coordinates; every side within the
/// limit. A `focus` places every `fill` crop (content-aware gravities are placed later,
/// once the pixels are there: [`Fanout::place_crop`]).
pub(super) fn plan(
    src: &Source<'_>,
    transforms: &[Arc<Transform>],
    max_side: u32,
    focus: Option<Focus>,
) -> Result<Vec<Plan>, EngineError> {
    let (up_w, up_h) = src.upright_size();
    let plans: Vec<Plan> = transforms
        .iter()
        .map(|t| {
            let mut p = geometry::plan(up_w, up_h, &t.resize);
            if let (Some(f), ResizeMode::Fill) = (focus, t.resize.mode) {
                p.crop = f.place(p.crop, up_w, up_h);
            }
            p
        })
        .collect();
    if let Some(p) = plans
        .iter()
        .find(|p| p.out_w > max_side || p.out_h > max_side)
    {
        return Err(EngineError::LimitExceeded(format!(
            "output {}×{} is over the {max_side} px side limit",
            p.out_w, p.out_h
        )));
    }
    Ok(plans)
}

/// The one decode, at the smallest scale every output allows: as YCbCr planes when every
/// output can be written from planes (`planar.rs`), with the chroma resolution they need.
fn decode_once(
    src: &Source<'_>,
    transforms: &[Arc<Transform>],
    plans: &[Plan],
) -> Result<Decoded, EngineError> {
    let scale = plans.iter().map(|p| p.needed_scale()).fold(0.0, f64::max);
    let planar = transforms
        .iter()
        .zip(plans)
        .map(|(t, p)| encode::chroma_for(&t.output).map(|f| f * p.needed_scale()))
        .try_fold(0.0, |max: f64, c| c.map(|c| max.max(c)));
    src.decode(scale.min(src.max_scale()), planar)
}

/// How plans (full-resolution upright) map onto the decode (stored-oriented, maybe smaller).
pub(super) struct Geometry {
    up: (u32, u32),
    stored: (f64, f64),
    decoded: (u32, u32),
    orientation: u8,
}

impl Geometry {
    /// Plans of `src` onto a decode of `decoded` pixels.
    pub(super) fn new(src: &Source<'_>, decoded: (u32, u32)) -> Self {
        Geometry {
            up: src.upright_size(),
            stored: (src.width as f64, src.height as f64),
            decoded,
            orientation: src.orientation,
        }
    }
}

/// The decode and the outputs made so far, from which each next output is resized.
struct Fanout<'a> {
    transforms: &'a [Arc<Transform>],
    plans: Vec<Plan>,
    focus: Option<Focus>,
    /// The uncropped ≤ 100 px upright preview, made at most once (content-aware crops,
    /// placeholders).
    preview: Option<Bitmap>,
    geo: Geometry,
    decoded: Frame,
    fix: Option<ColorFix>,
    /// Outputs kept as sources for later ones (whole-frame outputs), by transform index.
    made: Vec<Option<Frame>>,
    sources: Vec<usize>,
    resizer: ThreadResizer,
    /// What each output carries (`metadata/`); `None` for most.
    embeds: Vec<Option<Embed>>,
    /// Outputs left in the source's colour space (`icc = "keep"` with a profile that is
    /// not sRGB): they neither serve nor are served by converted outputs.
    raw_colour: Vec<bool>,
}

impl<'a> Fanout<'a> {
    fn new(
        src: &Source<'_>,
        decoded: Decoded,
        transforms: &'a [Arc<Transform>],
        plans: Vec<Plan>,
        focus: Option<Focus>,
    ) -> Self {
        let geo = Geometry::new(src, decoded.frame.size());
        Fanout {
            transforms,
            plans,
            focus,
            preview: None,
            geo,
            decoded: decoded.frame,
            fix: decoded.fix,
            made: vec![None; transforms.len()],
            sources: Vec::new(),
            resizer: resize::thread_resizer(),
            embeds: vec![None; transforms.len()],
            raw_colour: vec![false; transforms.len()],
        }
    }

    fn keep_metadata(&mut self, mut embeds: Vec<Option<Embed>>) {
        self.raw_colour = metadata::settle_icc(&mut embeds, self.fix.is_some());
        self.embeds = embeds;
    }

    fn make_all(&mut self, deadline: Deadline) -> Result<Vec<Rendition>, EngineError> {
        let mut out: Vec<Option<Rendition>> = vec![None; self.transforms.len()];
        for i in cascade::order(&self.plans) {
            out[i] = Some(self.make(i, deadline)?);
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Output `i`: resized from the smallest earlier output that covers it, or from the
    /// decode; encoded; kept if later outputs can use it.
    fn make(&mut self, i: usize, deadline: Deadline) -> Result<Rendition, EngineError> {
        self.place_crop(i)?;
        let (t, plan) = (&self.transforms[i], &self.plans[i]);
        let started = Instant::now();
        let image = match self.earlier_source(i) {
            Some(j) => {
                let base = self.made[j].as_ref().expect("sources are kept");
                let crop = crop_in(base, plan, self.geo.up);
                let size = (plan.out_w, plan.out_h);
                Cow::Owned(base.resize(&mut self.resizer, crop, size, &t.output, 1)?)
            }
            None => {
                let fix = self.fix.as_mut().filter(|_| !self.raw_colour[i]);
                let resizer = &mut self.resizer;
                from_decode(&self.decoded, fix, resizer, &self.geo, t, plan)?
            }
        };
        deadline.check("resize")?;
        let bytes = match &self.embeds[i] {
            None => image.encode(&t.output)?,
            Some(e) => e.encode(&image, &t.output, (plan.out_w, plan.out_h))?,
        };
        deadline.check("encode")?;
        let rendition = Rendition {
            transform: t.clone(),
            bytes,
            width: plan.out_w,
            height: plan.out_h,
            elapsed: started.elapsed(),
        };
        if let Cow::Owned(f) = image {
            if cascade::whole_frame(plan, self.geo.up.0, self.geo.up.1) {
                self.made[i] = Some(f);
                self.sources.push(i);
            } else {
                f.recycle();
            }
        }
        Ok(rendition)
    }

    /// The earlier output to resize output `i` from, if one covers it (`cascade.rs`).
    fn earlier_source(&self, i: usize) -> Option<usize> {
        let (plan, out) = (&self.plans[i], &self.transforms[i].output);
        let usable = |j: usize| {
            if self.raw_colour[j] != self.raw_colour[i] {
                return false;
            }
            let base = self.made[j].as_ref().expect("sources are kept");
            base.chroma_covers(
                crop_in(base, plan, self.geo.up),
                plan.out_w,
                plan.out_h,
                out,
            )
        };
        cascade::pick(&self.plans, &self.sources, i, self.geo.up, usable)
    }

    /// Moves output `i`'s crop where its content-aware gravity says (`attention.rs`),
    /// unless a focus placed it already.
    fn place_crop(&mut self, i: usize) -> Result<(), EngineError> {
        let spec = &self.transforms[i].resize;
        if spec.mode != ResizeMode::Fill || !spec.gravity.is_content_aware() || self.focus.is_some()
        {
            return Ok(());
        }
        let gravity = spec.gravity;
        self.make_preview()?;
        let preview = self.preview.as_ref().expect("just made");
        let crop = attention::place(preview, self.plans[i].crop, self.geo.up, gravity);
        self.plans[i].crop = crop;
        Ok(())
    }

    /// The placeholders, from the preview.
    fn placeholders(&mut self) -> Result<Placeholders, EngineError> {
        self.make_preview()?;
        placeholder::compute(self.preview.as_ref().expect("just made"))
    }

    /// The uncropped ≤ 100 px preview, resized from the smallest whole-frame output made
    /// so far that covers it (already upright and sRGB), else from the decode.
    fn make_preview(&mut self) -> Result<(), EngineError> {
        if self.preview.is_some() {
            return Ok(());
        }
        let (up_w, up_h) = self.geo.up;
        let (pw, ph) = placeholder::preview_size(up_w, up_h);
        let base = self
            .sources
            .iter()
            .filter(|&&j| !self.raw_colour[j])
            .filter_map(|&j| self.made[j].as_ref())
            .filter(|f| f.size().0 >= pw && f.size().1 >= ph)
            .min_by_key(|f| f.size().0 as u64 * f.size().1 as u64);
        let resizer = &mut self.resizer;
        let preview = match base {
            Some(f) => {
                let (w, h) = f.size();
                placeholder::shrink(f, resizer, Rect::whole(w, h), (pw, ph), 1, None)?
            }
            None => {
                let o = self.geo.orientation;
                let (dw, dh) = self.geo.decoded;
                let size = if orient::swaps_axes(o) {
                    (ph, pw)
                } else {
                    (pw, ph)
                };
                let (whole, fix) = (Rect::whole(dw, dh), self.fix.as_mut());
                placeholder::shrink(&self.decoded, resizer, whole, size, o, fix)?
            }
        };
        self.preview = Some(preview);
        Ok(())
    }

    /// Hands every buffer back for the next job.
    fn recycle(self) {
        if let Some(p) = self.preview {
            scratch::give(p.data);
        }
        self.decoded.recycle();
        self.made.into_iter().flatten().for_each(Frame::recycle);
    }
}

/// `plan`'s crop in the coordinates of `base`, an earlier (upright, whole-frame) output.
fn crop_in(base: &Frame, plan: &Plan, (up_w, up_h): (u32, u32)) -> Rect {
    let (bw, bh) = base.size();
    plan.crop
        .scaled(bw as f64 / up_w as f64, bh as f64 / up_h as f64, bw, bh)
}

/// Output `plan` made from the decode: resized (or the decode itself when it already is
/// the output), converted to sRGB, turned upright.
pub(super) fn from_decode<'d>(
    decoded: &'d Frame,
    fix: Option<&mut ColorFix>,
    resizer: &mut ThreadResizer,
    geo: &Geometry,
    t: &Transform,
    plan: &Plan,
) -> Result<Cow<'d, Frame>, EngineError> {
    let (o, (sw, sh), (dw, dh)) = (geo.orientation, geo.stored, geo.decoded);
    let (kx, ky) = (dw as f64 / sw, dh as f64 / sh);
    let crop = orient::rect_to_stored(plan.crop, o, sw, sh).scaled(kx, ky, dw, dh);
    let (ow, oh) = if orient::swaps_axes(o) {
        (plan.out_h, plan.out_w)
    } else {
        (plan.out_w, plan.out_h)
    };
    let mut r = if !decoded.is_identity(crop, ow, oh, &t.output) {
        Cow::Owned(decoded.resize(resizer, crop, (ow, oh), &t.output, o)?)
    } else if fix.is_none() && o <= 1 {
        Cow::Borrowed(decoded)
    } else {
        Cow::Owned(decoded.clone())
    };
    if let (Cow::Owned(Frame::Rgb(b)), Some(f)) = (&mut r, fix) {
        f.apply(b);
    }
    Ok(match r {
        Cow::Owned(b) => Cow::Owned(b.orient(o)),
        borrowed => borrowed,
    })
}
