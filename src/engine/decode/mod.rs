//! Reading sources: a cheap header look first (size, orientation, metadata and scan limits,
//! the memory one decode will take), then one decode at the smallest size that still serves
//! every requested output.
//!
//! JPEG goes through libjpeg-turbo (see `jpeg/`), whose IDCT can shrink by 1/2, 1/4 or 1/8
//! while decoding (DCT-domain downscaling: a 12 MP photo for a 256 px thumbnail decodes as
//! 0.2 MP). TIFF goes through libtiff (`tiff/`), HEIC/HEIF and AVIF through libheif
//! (`heif/`), JPEG XL through `jxl.rs` (jxl-oxide), SVG through `svg/` (resvg, drawn at
//! the scale the outputs need), camera RAW through `raw/` (its largest embedded preview,
//! then the JPEG path). Other formats go through the `image` crate.
//!
//! Every decoder runs under a cap derived from the header: the estimate of `estimate.rs`
//! (what the worker reserved) for the `image` decoders' allocations and libjpeg's working
//! memory, and for PNG the metadata budget of `png.rs`. Opening a source (the probe) keeps
//! only the header and at most `max_metadata_bytes` of metadata.
//!
//! The decode is returned as stored (not oriented) and, for RGB, with its colour conversion
//! still pending: both are applied to the (much smaller) resized images instead.

use std::io::Cursor;

use image::codecs::png::PngDecoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::bitmap::Bitmap;
use super::color::{to_srgb_deferred, ColorFix, Pixels, Srgb};
use super::error::{from_image, EngineError};
use super::frame::Frame;
use super::planar::{self, Planar};
use super::{estimate, heif, jpeg, jxl, orient, png, raw, svg, tiff, turbo, Limits};
use crate::media::MediaType;

mod animated;
mod count;
mod header;

use header::{jxl_svg_header, open_tiff};

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
    /// Upper bound of the memory one decode takes (`estimate.rs`).
    pub estimated_bytes: u64,
    /// Frames, counted from the container (`decode/count.rs`): 1 for a still.
    pub frames: u64,
    bytes: &'a [u8],
    max_metadata: u64,
    kind: Kind,
}

/// What the header look found, per decoder family.
enum Kind {
    Jpeg {
        header: jpeg::Header,
        caps: jpeg::Caps,
    },
    Other {
        png: Option<png::Info>,
        /// A GIF repaired for the decoder (`gif.rs`), decoded instead of the source.
        repaired: Option<Vec<u8>>,
        /// Frames counted from the container (`decode/count.rs`).
        frames: u64,
    },
    /// HEIC/HEIF or AVIF through libheif (`heif/`): upright as decoded, so orientation 1.
    Heif(heif::Header),
    /// TIFF, through libtiff (`tiff/`).
    Tiff { header: tiff::Header },
    /// Decoded upright by jxl-oxide, under an allocation cap of the estimate.
    Jxl(jxl::Info),
    /// Drawn by resvg at the decode's scale (which may enlarge).
    Svg(svg::Info),
    /// Pixels decoded elsewhere (a video frame, a PDF page): `bytes` is upright 8-bit
    /// sRGB, three bytes a pixel, `width × height` of them — maybe fewer than the
    /// source's own size, as if shrunk on load.
    Raw { width: u32, height: u32 },
}

impl<'a> Source<'a> {
    /// Reads the header and enforces the pixel, metadata and scan limits before any bitmap
    /// exists.
    pub fn open(bytes: &'a [u8], media: MediaType, limits: &Limits) -> Result<Self, EngineError> {
        let (kind, width, height, orientation, estimated_bytes) = match media {
            m if m.is_camera_raw() => return Self::open_raw_preview(bytes, media, limits),
            MediaType::Jxl | MediaType::Svg => jxl_svg_header(bytes, media, limits)?,
            MediaType::Jpeg => {
                let h = jpeg::read_header(bytes, limits)?;
                check_size(h.width, h.height, limits)?;
                let (w, ht, o, est) = (h.width, h.height, h.orientation, estimate::jpeg(&h));
                let caps = jpeg_caps(&h, limits);
                (Kind::Jpeg { header: h, caps }, w, ht, o, est)
            }
            MediaType::Heic | MediaType::Heif | MediaType::Avif => {
                let h = heif::read_header(bytes, limits)?;
                check_size(h.width, h.height, limits)?;
                let est = heif::estimate(&h, media == MediaType::Avif);
                let (w, ht) = (h.width, h.height);
                (Kind::Heif(h), w, ht, 1, est)
            }
            MediaType::Tiff => open_tiff(bytes, limits)?,
            _ => header::open_other(bytes, media, limits)?,
        };
        let frames = match &kind {
            Kind::Other { frames, .. } => *frames,
            _ => 1,
        };
        Ok(Source {
            media,
            width,
            height,
            orientation,
            estimated_bytes,
            frames,
            bytes,
            max_metadata: limits.max_metadata_bytes,
            kind,
        })
    }

    /// A camera RAW file, as its largest embedded preview (`raw/`): a JPEG goes through the
    /// JPEG path with its limits; the file's orientation applies unless the JPEG has its
    /// own (one of the two, never both).
    fn open_raw_preview(
        bytes: &'a [u8],
        media: MediaType,
        limits: &Limits,
    ) -> Result<Self, EngineError> {
        let found = raw::largest_preview(bytes, media)?;
        let mut src = match found.preview {
            raw::Preview::Jpeg(jpeg) => Source::open(jpeg, MediaType::Jpeg, limits)?,
            raw::Preview::Rgb {
                width,
                height,
                data,
            } => {
                check_size(width, height, limits)?;
                Source::raw(media, (width, height), (width, height), data)
            }
        };
        if src.orientation <= 1 {
            src.orientation = found.orientation;
        }
        src.media = media;
        Ok(src)
    }

    /// A still made by `extract`: already upright and sRGB, so nothing is left to do but
    /// copy it into the frame the cascade resizes. `size` is the source's own (display)
    /// size, which outputs are planned against; the still may be smaller.
    pub fn raw(media: MediaType, size: (u32, u32), still: (u32, u32), rgb: &'a [u8]) -> Self {
        Source {
            media,
            width: size.0,
            height: size.1,
            orientation: 1,
            estimated_bytes: rgb.len() as u64,
            frames: 1,
            bytes: rgb,
            max_metadata: 0,
            kind: Kind::Raw {
                width: still.0,
                height: still.1,
            },
        }
    }

    /// The source's own bytes, where its metadata lives (`metadata/read.rs`); `None` for
    /// pixels decoded elsewhere. Also the metadata limit they are read under.
    pub fn container(&self) -> (Option<&'a [u8]>, u64) {
        match self.kind {
            Kind::Raw { .. } => (None, 0),
            _ => (Some(self.bytes), self.max_metadata),
        }
    }

    /// The largest scale [`Self::decode`] takes: 1 (no decoder enlarges), except for SVG,
    /// which is drawn at whatever size the largest output is (up to the side limit).
    pub fn max_scale(&self) -> f64 {
        match &self.kind {
            Kind::Svg(info) => info.max_scale(),
            _ => 1.0,
        }
    }

    /// Upright dimensions (after EXIF orientation).
    pub fn upright_size(&self) -> (u32, u32) {
        if orient::swaps_axes(self.orientation) {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    /// Decodes, shrinking on load by up to `scale` (1.0 = full size) where the format
    /// allows it. The result is *not* yet oriented, and may carry a pending conversion.
    /// With `planar: Some(chroma_scale)`, a JPEG that allows it comes back as YCbCr planes
    /// (`planar.rs`) with chroma at `chroma_scale` of full-size luma or more.
    pub fn decode(&self, scale: f64, planar: Option<f64>) -> Result<Decoded, EngineError> {
        let srgb = match &self.kind {
            Kind::Jpeg { header, caps } => {
                let b = self.bytes;
                match planar
                    .map(|c| planar::decode_planar(b, header, *caps, scale, c))
                    .transpose()?
                {
                    Some(Planar::Planes(p)) => {
                        return Ok(Decoded {
                            frame: Frame::Ycc(p),
                            fix: None,
                        })
                    }
                    Some(Planar::Rgb(srgb)) => srgb,
                    Some(Planar::Unsuited) | None => jpeg::decode(b, header, *caps, scale)?,
                }
            }
            Kind::Heif(header) => heif::decode(self.bytes, header)?,
            Kind::Other { png, repaired, .. } => {
                let input = repaired.as_deref().unwrap_or(self.bytes);
                self.decode_other(input, png.as_ref())?
            }
            Kind::Tiff { header } => tiff::decode(self.bytes, header, self.estimated_bytes)?,
            Kind::Jxl(info) => jxl::decode(self.bytes, info, self.estimated_bytes)?,
            Kind::Svg(info) => svg::decode(self.bytes, info, scale)?,
            Kind::Raw { width, height } => {
                let bitmap = Bitmap {
                    width: *width,
                    height: *height,
                    channels: 3,
                    data: self.bytes.to_vec(),
                };
                return Ok(Decoded {
                    frame: Frame::Rgb(bitmap),
                    fix: None,
                });
            }
        };
        Ok(Decoded {
            frame: Frame::Rgb(srgb.bitmap),
            fix: srgb.fix,
        })
    }

    fn decode_other(&self, input: &[u8], png: Option<&png::Info>) -> Result<Srgb, EngineError> {
        let (max_metadata, cap) = (self.max_metadata, self.estimated_bytes);
        let mut dec = other_decoder(input, self.media, png, max_metadata, cap)?;
        // A corrupt ICC chunk is ignored like corrupt EXIF: the pixels are still usable.
        // (Checked against the cap again: the probe may have run on other bytes.)
        let icc = dec.icc_profile().ok().flatten();
        check_icc_len(icc.as_deref(), max_metadata)?;
        let img = DynamicImage::from_decoder(dec).map_err(from_image)?;
        Ok(to_srgb(img, icc.as_deref()))
    }
}

/// A profile's length, refused over the metadata cap.
fn check_icc_len(icc: Option<&[u8]>, max_metadata: u64) -> Result<u64, EngineError> {
    check_metadata_len(icc.map_or(0, |p| p.len() as u64), max_metadata)
}

/// A profile's length, refused over the metadata cap.
fn check_metadata_len(len: u64, max_metadata: u64) -> Result<u64, EngineError> {
    if len > max_metadata {
        return Err(EngineError::LimitExceeded(format!(
            "the ICC profile is {len} bytes, over the {max_metadata} byte metadata limit"
        )));
    }
    Ok(len)
}

/// The pixel limit, and no empty images.
fn check_size(width: u32, height: u32, limits: &Limits) -> Result<(), EngineError> {
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
    Ok(())
}

/// What a JPEG decode may use: libjpeg's working memory as estimated (plus room for
/// rounding), the scan limit, and for `jpeg-decoder` the whole estimate.
fn jpeg_caps(h: &jpeg::Header, limits: &Limits) -> jpeg::Caps {
    let working = estimate::jpeg_working(h) + (8 << 20);
    jpeg::Caps {
        turbo: turbo::Caps {
            max_memory_mb: working.div_ceil(1 << 20).min(u32::MAX as u64) as u32,
            max_scans: limits.max_jpeg_scans,
        },
        max_alloc: estimate::jpeg(h),
    }
}

fn image_format(media: MediaType) -> Result<ImageFormat, EngineError> {
    Ok(match media {
        MediaType::Jpeg => ImageFormat::Jpeg,
        MediaType::Png => ImageFormat::Png,
        MediaType::Webp => ImageFormat::WebP,
        MediaType::Gif => ImageFormat::Gif,
        // Videos and PDFs reach the engine as pixels (`render_still`), never as bytes.
        other => return Err(EngineError::UnsupportedFormat(other.mime().into())),
    })
}

/// What a header look finds: (kind, width, height, EXIF orientation, estimated bytes).
type Opened = (Kind, u32, u32, u8, u64);

/// An `image` decoder whose allocations are capped at `max_alloc`. A PNG's decoder reads
/// its header under the metadata budget of `png.rs` instead, then gets `max_alloc` for the
/// pixels (the `png` crate keeps the limits it was created with).
fn other_decoder<'b>(
    bytes: &'b [u8],
    media: MediaType,
    png: Option<&png::Info>,
    max_metadata: u64,
    max_alloc: u64,
) -> Result<Box<dyn ImageDecoder + 'b>, EngineError> {
    let mut caps = image::Limits::default();
    caps.max_alloc = Some(max_alloc);
    if let Some(info) = png {
        let mut header_caps = image::Limits::default();
        header_caps.max_alloc = Some(info.png_budget(max_metadata));
        let mut dec =
            PngDecoder::with_limits(Cursor::new(bytes), header_caps).map_err(from_image)?;
        dec.set_limits(caps).map_err(from_image)?;
        return Ok(Box::new(dec));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(media)?);
    reader.limits(caps);
    Ok(Box::new(reader.into_decoder().map_err(from_image)?))
}

/// The decoded image as 8-bit grey, RGB or RGBA, then sRGB (or RGB plus a deferred fix).
fn to_srgb(img: DynamicImage, icc: Option<&[u8]>) -> Srgb {
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
    let Srgb { bitmap, fix } = to_srgb_deferred(pixels, w, h, icc);
    Srgb {
        bitmap: bitmap.drop_opaque_alpha(),
        fix,
    }
}
