//! The YCbCr path: a JPEG source to JPEG and WebP outputs without ever making RGB.
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
//! profile, or an sRGB one) and every output is JPEG or WebP; anything else takes the RGB
//! path (`bitmap.rs`). Orientation works per plane, after resizing, as on the RGB path.

use std::borrow::Cow;

use fast_image_resize::Resizer;

use super::bitmap::Bitmap;
use super::error::EngineError;
use super::geometry::Rect;
use super::turbo_yuv::DecodedPlanes;
use super::{encode, orient, resize, scratch, turbo, turbo_yuv};
use crate::catalogue::spec::OutputSpec;
use crate::media::OutputFormat;

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

/// Chroma samples per luma sample that `spec`'s encoder wants, on both axes; `None` for
/// formats the YCbCr path does not write.
pub fn chroma_for(spec: &OutputSpec) -> Option<f64> {
    match spec.format {
        OutputFormat::Jpeg if turbo::subsamp_for(encode::jpeg_quality(spec)) == turbo::SAMP_444 => {
            Some(1.0)
        }
        OutputFormat::Jpeg | OutputFormat::Webp => Some(0.5),
        OutputFormat::Png => None,
    }
}

fn plane(width: u32, height: u32, data: Vec<u8>) -> Bitmap {
    Bitmap {
        width,
        height,
        channels: 1,
        data,
    }
}

/// Samples covering `luma` luma samples at `per_luma` chroma samples per luma sample.
pub fn chroma_len(luma: u32, per_luma: f64) -> u32 {
    ((luma as f64 * per_luma).ceil() as u32).max(1)
}

impl Planes {
    pub fn from_decode(d: DecodedPlanes) -> Planes {
        let (sx, sy) = d.subsampling;
        let planes = d.planes.map(|p| plane(p.stride, p.rows, p.data));
        Planes {
            width: d.width,
            height: d.height,
            planes,
            chroma: (1.0 / sx as f64, 1.0 / sy as f64),
        }
    }

    /// Resizes the `crop` region (in luma coordinates) to `out_w × out_h` luma samples, with
    /// chroma at `chroma` samples per luma sample (what the output is encoded with).
    pub fn resize(
        &self,
        resizer: &mut Resizer,
        crop: Rect,
        out_w: u32,
        out_h: u32,
        chroma: f64,
    ) -> Result<Planes, EngineError> {
        let [y, cb, cr] = &self.planes;
        let (kx, ky) = self.chroma;
        let (cw, ch) = (chroma_len(out_w, chroma), chroma_len(out_h, chroma));
        // Chroma sample i covers luma [i/chroma, (i+1)/chroma): with an odd size the last
        // one reaches half a luma pixel past the edge, so the chroma crop does too (else
        // chroma would be stretched against luma by up to one pixel).
        let c_crop = Rect {
            x: crop.x * kx,
            y: crop.y * ky,
            w: crop.w * kx * (cw as f64 / (out_w as f64 * chroma)),
            h: crop.h * ky * (ch as f64 / (out_h as f64 * chroma)),
        }
        .scaled(1.0, 1.0, cb.width, cb.height);
        Ok(Planes {
            width: out_w,
            height: out_h,
            planes: [
                resize_plane(resizer, y, crop, out_w, out_h)?,
                resize_plane(resizer, cb, c_crop, cw, ch)?,
                resize_plane(resizer, cr, c_crop, cw, ch)?,
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

fn resize_plane(
    resizer: &mut Resizer,
    src: &Bitmap,
    crop: Rect,
    out_w: u32,
    out_h: u32,
) -> Result<Bitmap, EngineError> {
    if resize::is_identity_dims(src.width, src.height, crop, out_w, out_h) {
        return Ok(src.clone());
    }
    resize::resize_plane(resizer, src, crop, out_w, out_h)
}

fn raw(p: &Bitmap) -> (&[u8], u32, u32) {
    (&p.data, p.width, p.height)
}

/// `p` grown to at least `w × h` by repeating its last column and row.
fn padded(p: &Bitmap, w: u32, h: u32) -> Cow<'_, Bitmap> {
    if p.width >= w && p.height >= h {
        return Cow::Borrowed(p);
    }
    let (pw, ph) = (p.width as usize, p.height as usize);
    let (w, h) = (w.max(p.width), h.max(p.height));
    let mut data = Vec::with_capacity(w as usize * h as usize);
    for row in p.data.chunks_exact(pw).take(ph) {
        data.extend_from_slice(row);
        let last = row[pw - 1];
        data.resize(data.len() + (w as usize - pw), last);
    }
    let last_row = data.len() - w as usize..data.len();
    for _ in ph..h as usize {
        data.extend_from_within(last_row.clone());
    }
    Cow::Owned(plane(w, h, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_repeats_the_last_column_and_row() {
        let p = plane(3, 2, vec![1, 2, 3, 4, 5, 6]);
        let q = padded(&p, 4, 3);
        assert_eq!((q.width, q.height), (4, 3));
        assert_eq!(q.data, vec![1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6]);
        assert!(matches!(padded(&p, 3, 2), Cow::Borrowed(_)));
    }

    #[test]
    fn orienting_swaps_sizes_and_chroma_factors() {
        let planes = Planes {
            width: 4,
            height: 2,
            planes: [
                plane(4, 2, (0..8).collect()),
                plane(2, 2, vec![0; 4]),
                plane(2, 2, vec![0; 4]),
            ],
            chroma: (0.5, 1.0),
        };
        let turned = planes.orient(6);
        assert_eq!((turned.width, turned.height), (2, 4));
        assert_eq!(turned.chroma, (1.0, 0.5));
        assert_eq!(turned.planes[0].width, 2);
    }
}
