//! The YCbCr path: a JPEG source to JPEG, WebP and AVIF outputs without ever making RGB.
//!
//! A JPEG stores luma at full resolution and chroma (usually) at half. The RGB path pays for
//! that three times: the decoder upsamples chroma and converts every source pixel to RGB,
//! the resizer then moves 3 bytes per pixel, and each encoder converts back to YCbCr and
//! downsamples chroma again. Here the decoder stops at the planes (`turbo_yuv.rs`), each
//! plane is resized on its own (4:2:0 is 1.5 bytes per pixel, half of RGB) straight to the
//! chroma resolution its output is encoded with, and the encoders take the planes as they
//! are. YCbCr is an affine function of RGB and Lanczos is linear, so the luma of a resized
//! plane is the luma of the resized RGB image (to rounding); chroma is resampled once
//! instead of upsampled, resized and averaged down.
//!
//! Taken when the source is a lossy YCbCr JPEG whose colours need no conversion (no ICC
//! profile, or an sRGB one) and every output is JPEG, WebP or AVIF; anything else takes the
//! RGB path (`bitmap.rs`). Orientation works per plane, after resizing, as on the RGB path.

use std::borrow::Cow;

use fast_image_resize::Resizer;

use super::bitmap::Bitmap;
use super::color::{icc_needs_conversion, Srgb};
use super::error::EngineError;
use super::geometry::Rect;
use super::turbo_yuv::DecodedPlanes;
use super::{jpeg, orient, resize, scratch, turbo_yuv};

/// Decodes a JPEG to YCbCr planes, when it can take this path:
/// three components, decodable by libjpeg-turbo, colours already sRGB.
///
/// `chroma_scale` is the chroma resolution the outputs need, relative to full-size luma.
/// A 4:2:0 decode to RGB at 1/2, 1/4 or 1/8 keeps every stored chroma sample (libjpeg
/// runs the chroma IDCT at twice the luma scale); a decode to planes does not, so for a
/// 4:4:4 output the planes are decoded one scale larger than luma alone would need.
pub fn decode_planar(
    bytes: &[u8],
    header: &jpeg::Header,
    caps: jpeg::Caps,
    scale: f64,
    chroma_scale: f64,
) -> Result<Planar, EngineError> {
    if header.fallback_only
        || header.components != 3
        || header.icc.as_deref().is_some_and(icc_needs_conversion)
    {
        return Ok(Planar::Unsuited);
    }
    let (sx, sy) = header.luma_sampling;
    let chroma_kept = sx.min(sy).clamp(1, 2) as f64;
    let planes_scale = scale.max(chroma_scale * chroma_kept).min(1.0);
    let (num, denom) = jpeg::pick_scale(header.width, header.height, planes_scale);
    match turbo_yuv::decode(bytes, num, denom, caps.turbo) {
        Ok(Some(d)) => {
            jpeg::agreed_size(header, (num, denom), (d.width, d.height))?;
            if let Some(w) = &d.warning {
                tracing::debug!(warning = %w, "JPEG decoded with damage");
            }
            Ok(Planar::Planes(Planes::from_decode(d)))
        }
        Ok(None) => Ok(Planar::Unsuited),
        // libjpeg-turbo itself failed: decoding to RGB with it again would fail the same
        // way, so refuse (a limit) or go straight to the other decoder (or its typed error).
        Err(e) => jpeg::after_turbo_failed(e, || {
            jpeg::fallback(bytes, header, caps, scale).map(Planar::Rgb)
        }),
    }
}

/// What [`decode_planar`] made.
pub enum Planar {
    Planes(Planes),
    /// libjpeg-turbo failed and `jpeg-decoder` succeeded (to RGB).
    Rgb(Srgb),
    /// Not a JPEG for the YCbCr path: decode it with `jpeg::decode`.
    Unsuited,
}

/// An image as Y, Cb and Cr planes.
#[derive(Debug, Clone)]
pub struct Planes {
    /// Image size in luma samples (the luma plane may be padded beyond it).
    pub width: u32,
    pub height: u32,
    /// Y, Cb, Cr, each a one-channel bitmap.
    pub planes: [Bitmap; 3],
    /// Chroma samples per luma sample, across and down (0.5, 0.5 for 4:2:0).
    pub chroma: (f64, f64),
}

/// Samples covering `luma` luma samples at `per_luma` chroma samples per luma sample.
pub fn chroma_len(luma: u32, per_luma: f64) -> u32 {
    ((luma as f64 * per_luma).ceil() as u32).max(1)
}

impl Planes {
    pub fn from_decode(d: DecodedPlanes) -> Planes {
        let (sx, sy) = d.subsampling;
        let mut planes = d.planes.map(|p| Bitmap::plane(p.stride, p.rows, p.data));
        // The luma plane's padding (to whole chroma samples) holds whatever the file's last
        // blocks decode to; the resizer's edge taps read it, so make it the edge pixel, as
        // the RGB path (whose image ends at the real edge) effectively has.
        replicate_edges(&mut planes[0], d.width, d.height);
        Planes {
            width: d.width,
            height: d.height,
            planes,
            chroma: (1.0 / sx as f64, 1.0 / sy as f64),
        }
    }

    /// Resizes the `crop` region (in luma coordinates) to `out_w × out_h` luma samples, with
    /// chroma at `chroma` samples per luma sample (what the output is encoded with).
    /// `reversed` says which axes orienting the result will reverse (see `orient.rs`).
    pub fn resize(
        &self,
        resizer: &mut Resizer,
        crop: Rect,
        (out_w, out_h): (u32, u32),
        chroma: f64,
        reversed: (bool, bool),
    ) -> Result<Planes, EngineError> {
        let [y, cb, cr] = &self.planes;
        let (kx, ky) = self.chroma;
        let (cw, ch) = (chroma_len(out_w, chroma), chroma_len(out_h, chroma));
        // Chroma sample i covers luma [i/chroma, (i+1)/chroma): with an odd size the last
        // one reaches half a luma pixel past the (upright) end, so the chroma crop does too
        // — at the stored start of an axis that orienting reverses. (Where that is past the
        // plane's edge the crop is clamped, leaving chroma up to half a sample off there.)
        let (w, h) = (crop.w * kx, crop.h * ky);
        let ext_w = w * (cw as f64 / (out_w as f64 * chroma)) - w;
        let ext_h = h * (ch as f64 / (out_h as f64 * chroma)) - h;
        let c_crop = Rect {
            x: crop.x * kx - if reversed.0 { ext_w } else { 0.0 },
            y: crop.y * ky - if reversed.1 { ext_h } else { 0.0 },
            w: w + ext_w,
            h: h + ext_h,
        }
        .scaled(1.0, 1.0, cb.width, cb.height);
        Ok(Planes {
            width: out_w,
            height: out_h,
            planes: [
                resize::resize_plane(resizer, y, crop, out_w, out_h)?,
                resize::resize_plane(resizer, cb, c_crop, cw, ch)?,
                resize::resize_plane(resizer, cr, c_crop, cw, ch)?,
            ],
            chroma: (chroma, chroma),
        })
    }

    /// The planes turned upright (see `orient.rs`).
    pub fn orient(self, orientation: u8) -> Planes {
        if orientation <= 1 {
            return self;
        }
        let swap = orient::swaps_axes(orientation);
        let (w, h) = (self.width, self.height);
        let (cx, cy) = self.chroma;
        Planes {
            width: if swap { h } else { w },
            height: if swap { w } else { h },
            planes: self.planes.map(|p| orient::apply(p, orientation)),
            chroma: if swap { (cy, cx) } else { (cx, cy) },
        }
    }

    /// Encodes as a JPEG at `quality` (chroma subsampling as the planes are).
    pub fn encode_jpeg(&self, quality: u8) -> Result<Vec<u8>, String> {
        let subsampling = match self.chroma {
            (0.5, 0.5) => (2, 2),
            (1.0, 1.0) => (1, 1),
            other => return Err(format!("no JPEG encoding for chroma {other:?}")),
        };
        let (sx, sy) = subsampling;
        // TurboJPEG reads whole chroma blocks: an odd-sized 4:2:0 image needs one more
        // luma column and row.
        let luma = padded(
            &self.planes[0],
            self.width.next_multiple_of(sx),
            self.height.next_multiple_of(sy),
        );
        let [_, cb, cr] = &self.planes;
        turbo_yuv::encode(
            [raw(&luma), raw(cb), raw(cr)],
            self.width,
            self.height,
            subsampling,
            quality,
        )
    }

    /// Hands the planes' buffers back for the next job.
    pub fn recycle(self) {
        self.planes.into_iter().for_each(|p| scratch::give(p.data));
    }
}

/// Fills the columns of `p` right of `width` and the rows below `height` with copies of
/// the last real column and row.
fn replicate_edges(p: &mut Bitmap, width: u32, height: u32) {
    let (stride, w, h) = (p.width as usize, width as usize, height as usize);
    if w == 0 || h == 0 || w > stride || h > p.height as usize {
        return;
    }
    if w < stride {
        for row in p.data.chunks_exact_mut(stride).take(h) {
            let edge = row[w - 1];
            row[w..].fill(edge);
        }
    }
    let last = (h - 1) * stride;
    for r in h..p.height as usize {
        p.data.copy_within(last..last + stride, r * stride);
    }
}

fn raw(p: &Bitmap) -> (&[u8], u32, u32) {
    (&p.data, p.width, p.height)
}

/// `p` grown to at least `w × h` by repeating its last column and row.
fn padded(p: &Bitmap, w: u32, h: u32) -> Cow<'_, Bitmap> {
    if p.width >= w && p.height >= h {
        return Cow::Borrowed(p);
    }
    let (w, h) = (w.max(p.width), h.max(p.height));
    let mut grown = Bitmap::plane(w, h, vec![0; w as usize * h as usize]);
    let rows = grown.data.chunks_exact_mut(w as usize);
    for (dst, src) in rows.zip(p.data.chunks_exact(p.width as usize)) {
        dst[..src.len()].copy_from_slice(src);
    }
    replicate_edges(&mut grown, p.width, p.height);
    Cow::Owned(grown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_repeats_the_last_column_and_row() {
        let p = Bitmap::plane(3, 2, vec![1, 2, 3, 4, 5, 6]);
        let q = padded(&p, 4, 3);
        assert_eq!((q.width, q.height), (4, 3));
        assert_eq!(q.data, vec![1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6]);
        assert!(matches!(padded(&p, 3, 2), Cow::Borrowed(_)));
    }

    #[test]
    fn padding_from_the_decoder_becomes_the_edge_pixel() {
        let mut p = Bitmap::plane(4, 3, vec![1, 2, 3, 99, 4, 5, 6, 99, 99, 99, 99, 99]);
        replicate_edges(&mut p, 3, 2);
        assert_eq!(p.data, vec![1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6]);
    }

    #[test]
    fn orienting_swaps_sizes_and_chroma_factors() {
        let planes = Planes {
            width: 4,
            height: 2,
            planes: [
                Bitmap::plane(4, 2, (0..8).collect()),
                Bitmap::plane(2, 2, vec![0; 4]),
                Bitmap::plane(2, 2, vec![0; 4]),
            ],
            chroma: (0.5, 1.0),
        };
        let turned = planes.orient(6);
        assert_eq!((turned.width, turned.height), (2, 4));
        assert_eq!(turned.chroma, (1.0, 0.5));
        assert_eq!(turned.planes[0].width, 2);
    }
}
