//! Reading sources: a cheap header look first (size, orientation), then one decode at the
//! smallest size that still serves every requested output.
//!
//! JPEG goes through libjpeg-turbo (see `jpeg.rs`), whose IDCT can shrink by 1/2, 1/4 or 1/8
//! while decoding (DCT-domain downscaling: a 12 MP photo for a 256 px thumbnail decodes as
//! 0.2 MP). Other formats go through the `image` crate with its allocation limits set.
//!
//! The decode is returned as stored (not oriented) and, for RGB, with its colour conversion
//! still pending: both are applied to the (much smaller) resized images instead.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::color::{to_srgb_deferred, ColorFix, Pixels, Srgb};
use super::error::{from_image, EngineError};
use super::frame::Frame;
use super::planar::{self, Planar};
use super::{jpeg, orient, Limits};
use crate::media::MediaType;

/// One decode: the pixels as stored, and the colour conversion they still need (RGB only).
pub struct Decoded {
    pub frame: Frame,
    pub fix: Option<ColorFix>,
}

/// A source whose header has been read; nothing large is allocated yet.
pub struct Source<'a> {
    pub media: MediaType,
    /// Stored (pre-orientation) dimensions.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1..=8.
    pub orientation: u8,
    bytes: &'a [u8],
    max_alloc: u64,
    /// JPEG only: what the markers said (profile, Adobe, components).
    jpeg: Option<jpeg::Header>,
}

impl<'a> Source<'a> {
    /// Reads the header and enforces the pixel limit before any bitmap exists.
    pub fn open(bytes: &'a [u8], media: MediaType, limits: &Limits) -> Result<Self, EngineError> {
        let max_alloc = limits.max_input_pixels.saturating_mul(8).max(64 << 20);
        let mut jpeg_header = None;
        let (width, height, orientation) = match media {
            MediaType::Jpeg => {
                let h = match jpeg::scan_header(bytes) {
                    Some(h) => h,
                    None => jpeg::fallback_header(bytes, max_alloc)?,
                };
                let dims = (h.width, h.height, h.orientation);
                jpeg_header = Some(h);
                dims
            }
            _ => {
                let mut dec = other_decoder(bytes, media, max_alloc)?;
                let (w, h) = dec.dimensions();
                let o = dec.orientation().map(|o| o.to_exif()).unwrap_or(1);
                (w, h, o)
            }
        };
        if width == 0 || height == 0 {
            return Err(EngineError::Corrupt(format!("image is {width}×{height}")));
        }
        let pixels = width as u64 * height as u64;
        if pixels > limits.max_input_pixels {
            return Err(EngineError::LimitExceeded(format!(
                "{width}×{height} = {:.1} MP is over the {:.1} MP input limit",
                pixels as f64 / 1e6,
                limits.max_input_pixels as f64 / 1e6
            )));
        }
        Ok(Source {
            media,
            width,
            height,
            orientation,
            bytes,
            max_alloc,
            jpeg: jpeg_header,
        })
    }

    /// Upright dimensions (after EXIF orientation).
    pub fn upright_size(&self) -> (u32, u32) {
        if orient::swaps_axes(self.orientation) {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    /// Bytes the decoded bitmap may take, for memory budgeting (RGBA at full size).
    pub fn estimated_decode_bytes(&self) -> u64 {
        let pixels = self.width as u64 * self.height as u64;
        match self.media {
            // libjpeg-turbo decodes 8-bit, at most 4 bytes per pixel (CMYK).
            MediaType::Jpeg => pixels * 4,
            // `image` may decode 16-bit RGBA (8 bytes per pixel) and then convert to 8-bit
            // (4 more) before the first copy is freed.
            _ => pixels * 12,
        }
    }

    /// Decodes, shrinking on load by up to `scale` (1.0 = full size) where the format
    /// allows it. The result is *not* yet oriented, and may carry a pending conversion.
    /// With `planar: Some(chroma_scale)`, a JPEG that allows it comes back as YCbCr planes
    /// (`planar.rs`) with chroma at `chroma_scale` of full-size luma or more.
    pub fn decode(&self, scale: f64, planar: Option<f64>) -> Result<Decoded, EngineError> {
        let srgb = match (&self.jpeg, self.media) {
            (Some(h), _) => {
                let (b, max) = (self.bytes, self.max_alloc);
                match planar
                    .map(|c| planar::decode_planar(b, h, max, scale, c))
                    .transpose()?
                {
                    Some(Planar::Planes(p)) => {
                        return Ok(Decoded {
                            frame: Frame::Ycc(p),
                            fix: None,
                        })
                    }
                    Some(Planar::Rgb(srgb)) => srgb,
                    Some(Planar::Unsuited) | None => jpeg::decode(b, h, max, scale)?,
                }
            }
            (None, m) => decode_other(self.bytes, m, self.max_alloc)?,
        };
        Ok(Decoded {
            frame: Frame::Rgb(srgb.bitmap),
            fix: srgb.fix,
        })
    }
}

fn image_format(media: MediaType) -> ImageFormat {
    match media {
        MediaType::Jpeg => ImageFormat::Jpeg,
        MediaType::Png => ImageFormat::Png,
        MediaType::Webp => ImageFormat::WebP,
        MediaType::Gif => ImageFormat::Gif,
        MediaType::Tiff => ImageFormat::Tiff,
    }
}

fn other_decoder(
    bytes: &[u8],
    media: MediaType,
    max_alloc: u64,
) -> Result<impl ImageDecoder + '_, EngineError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(media));
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits);
    reader.into_decoder().map_err(from_image)
}

fn decode_other(bytes: &[u8], media: MediaType, max_alloc: u64) -> Result<Srgb, EngineError> {
    let mut dec = other_decoder(bytes, media, max_alloc)?;
    // A corrupt ICC chunk is ignored like corrupt EXIF: the pixels are still usable.
    let icc = dec.icc_profile().ok().flatten();
    let img = DynamicImage::from_decoder(dec).map_err(from_image)?;
    let (w, h) = (img.width(), img.height());
    let pixels = match img {
        DynamicImage::ImageLuma8(b) => Pixels::Gray(b.into_raw()),
        DynamicImage::ImageLuma16(_) => Pixels::Gray(img.into_luma8().into_raw()),
        DynamicImage::ImageRgb8(b) => Pixels::Rgb(b.into_raw()),
        i if i.color().has_alpha() => Pixels::Rgba(i.into_rgba8().into_raw()),
        i => Pixels::Rgb(i.into_rgb8().into_raw()),
    };
    // A profile for another colour model than the pixels (e.g. a grey profile on a
    // grey+alpha image expanded to RGBA) is skipped inside to_srgb_deferred.
    let Srgb { bitmap, fix } = to_srgb_deferred(pixels, w, h, icc.as_deref());
    Ok(Srgb {
        bitmap: bitmap.drop_opaque_alpha(),
        fix,
    })
}
