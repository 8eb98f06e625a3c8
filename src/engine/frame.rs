//! What flows from the decoder through the resizer to the encoders: an RGB(A) bitmap (any
//! source, any output) or YCbCr planes (a JPEG source with JPEG, WebP and AVIF outputs
//! only, see `planar.rs`). One decode makes one kind; everything resized from it is the
//! same kind.

use fast_image_resize::Resizer;

use super::bitmap::Bitmap;
use super::error::EngineError;
use super::geometry::Rect;
use super::planar::{self, Planes};
use super::{encode, orient, resize, scratch};
use crate::catalogue::spec::OutputSpec;

#[derive(Debug, Clone)]
pub enum Frame {
    Rgb(Bitmap),
    Ycc(Planes),
}

impl Frame {
    /// Size in pixels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Frame::Rgb(b) => (b.width, b.height),
            Frame::Ycc(p) => (p.width, p.height),
        }
    }

    /// True when resizing `crop` to `out_w × out_h` for `out` would return this frame
    /// unchanged (so the caller can use it as it is instead of copying it). Planes also
    /// need their chroma at the resolution `out`'s encoder wants, and no padding.
    pub fn is_identity(&self, crop: Rect, out_w: u32, out_h: u32, out: &OutputSpec) -> bool {
        match self {
            Frame::Rgb(b) => resize::is_identity_dims(b.width, b.height, crop, out_w, out_h),
            Frame::Ycc(p) => {
                let [y, cb, cr] = &p.planes;
                let Some(f) = encode::chroma_for(out) else {
                    return false;
                };
                let (cw, ch) = (planar::chroma_len(out_w, f), planar::chroma_len(out_h, f));
                resize::is_identity_dims(y.width, y.height, crop, out_w, out_h)
                    && p.chroma == (f, f)
                    && (cb.width, cb.height, cr.width, cr.height) == (cw, ch, cw, ch)
            }
        }
    }

    /// True when `crop` of this frame has the colour resolution an `out_w × out_h` output
    /// written as `out` needs: planes whose chroma was subsampled for one output cannot
    /// serve a 4:4:4 output of about the same size (RGB always can).
    pub fn chroma_covers(&self, crop: Rect, out_w: u32, out_h: u32, out: &OutputSpec) -> bool {
        match (self, encode::chroma_for(out)) {
            (Frame::Rgb(_), _) => true,
            (Frame::Ycc(_), None) => false,
            (Frame::Ycc(p), Some(f)) => {
                let (cx, cy) = p.chroma;
                crop.w * cx >= out_w as f64 * f - 1e-9 && crop.h * cy >= out_h as f64 * f - 1e-9
            }
        }
    }

    /// Resizes `crop` (in this frame's pixel coordinates) to `out_w × out_h`, ready for
    /// `out`'s encoder and then for turning upright from EXIF `orientation`.
    pub fn resize(
        &self,
        resizer: &mut Resizer,
        crop: Rect,
        (out_w, out_h): (u32, u32),
        out: &OutputSpec,
        orientation: u8,
    ) -> Result<Frame, EngineError> {
        Ok(match self {
            Frame::Rgb(b) => Frame::Rgb(resize::resize(resizer, b, crop, out_w, out_h)?),
            Frame::Ycc(p) => {
                let chroma = encode::chroma_for(out).ok_or_else(|| {
                    EngineError::Internal(format!("{} from YCbCr planes", out.format.name()))
                })?;
                let reversed = orient::stored_axes_reversed(orientation);
                Frame::Ycc(p.resize(resizer, crop, (out_w, out_h), chroma, reversed)?)
            }
        })
    }

    /// Turned upright from EXIF `orientation`.
    pub fn orient(self, orientation: u8) -> Frame {
        match self {
            Frame::Rgb(b) => Frame::Rgb(orient::apply(b, orientation)),
            Frame::Ycc(p) => Frame::Ycc(p.orient(orientation)),
        }
    }

    pub fn encode(&self, out: &OutputSpec) -> Result<Vec<u8>, EngineError> {
        match self {
            Frame::Rgb(b) => encode::encode(b, out),
            Frame::Ycc(p) => encode::encode_planes(p, out),
        }
    }

    /// Hands the buffers back for the next job.
    pub fn recycle(self) {
        match self {
            Frame::Rgb(b) => scratch::give(b.data),
            Frame::Ycc(p) => p.recycle(),
        }
    }
}
