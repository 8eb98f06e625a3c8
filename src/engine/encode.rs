//! Encoders: JPEG (libjpeg-turbo, see `turbo.rs`: ~4 ms/MP against `jpeg-encoder`'s ~14),
//! WebP (libwebp, lossy, see [`WEBP_METHOD`]), PNG (`image`'s encoder), AVIF (libheif with
//! libaom, `avif_out`), GIF (`gif_out`).
//!
//! Outputs leave here without metadata: no EXIF, XMP, IPTC or ICC (pixels are sRGB already).
//! What a transform keeps is spliced into the encoded bytes afterwards (`metadata/`).

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

use super::avif_out::{self, AvifError};
use super::bitmap::Bitmap;
use super::error::EngineError;
use super::planar::Planes;
use super::turbo;
use crate::catalogue::spec::OutputSpec;
use crate::media::OutputFormat;

/// libwebp's speed/size trade-off (0 fastest … 6 smallest). 4 is libwebp's default and what
/// the peers we compare against use (libvips, sharp, Pillow). Method 2 would halve the
/// 512 px preview's encode time for ~3 % more bytes, but the performance brief forbids a
/// cheaper WebP effort than the peers', so we keep 4 (see docs/performance.md).
pub const WEBP_METHOD: i32 = 4;

/// The quality a JPEG output is written at.
pub fn jpeg_quality(out: &OutputSpec) -> u8 {
    out.quality.unwrap_or(82)
}

/// Chroma samples per luma sample that `spec`'s encoder wants, on both axes; `None` for
/// formats the YCbCr path (`planar.rs`) does not write.
pub fn chroma_for(spec: &OutputSpec) -> Option<f64> {
    match spec.format {
        OutputFormat::Jpeg if turbo::subsamp_for(jpeg_quality(spec)) == turbo::SAMP_444 => {
            Some(1.0)
        }
        OutputFormat::Jpeg | OutputFormat::Webp | OutputFormat::Avif => Some(0.5),
        OutputFormat::Png | OutputFormat::Gif => None,
    }
}

/// The quality a WebP output (still or animated) is written at.
pub fn webp_quality(out: &OutputSpec) -> f32 {
    out.quality.unwrap_or(80) as f32
}

/// One encoder thread per AVIF: jobs already run in parallel, one per core.
const AVIF_THREADS: u8 = 1;

fn avif_params(out: &OutputSpec) -> avif_out::Params {
    avif_out::Params {
        quality: out.quality.unwrap_or(avif_out::DEFAULT_QUALITY),
        speed: out.speed.unwrap_or(avif_out::DEFAULT_SPEED),
        threads: AVIF_THREADS,
    }
}

/// libheif's failures as engine errors: memory is worth another attempt, anything else is
/// derivd asking for something wrong (a bug).
fn avif_failure(e: AvifError) -> EngineError {
    match e {
        AvifError::OutOfMemory { .. } => EngineError::OutOfMemory(format!("avif: {e}")),
        e => EngineError::Encode {
            format: "avif".into(),
            message: e.to_string(),
        },
    }
}

fn failure(out: &OutputSpec) -> impl Fn(String) -> EngineError + '_ {
    |message| EngineError::Encode {
        format: out.format.name().to_string(),
        message,
    }
}

/// An AVIF with metadata (`metadata/`): libheif writes the blocks into the file, so they
/// go in with the pixels rather than being spliced in afterwards as for the other formats.
pub fn encode_avif_with(
    frame: &super::frame::Frame,
    out: &OutputSpec,
    meta: avif_out::Meta<'_>,
) -> Result<Vec<u8>, EngineError> {
    use super::frame::Frame;
    match frame {
        Frame::Rgb(b) => avif_out::encode_bitmap_with(b, avif_params(out), meta),
        Frame::Ycc(p) => avif_out::encode_planes_with(p, avif_params(out), meta),
    }
    .map_err(avif_failure)
}

/// Encodes YCbCr planes (the YCbCr path: JPEG, WebP and AVIF only).
pub fn encode_planes(planes: &Planes, out: &OutputSpec) -> Result<Vec<u8>, EngineError> {
    let fail = failure(out);
    match out.format {
        OutputFormat::Jpeg => planes.encode_jpeg(jpeg_quality(out)).map_err(fail),
        OutputFormat::Webp => {
            super::webp_yuv::encode(planes, webp_quality(out), WEBP_METHOD).map_err(fail)
        }
        OutputFormat::Avif => {
            avif_out::encode_planes(planes, avif_params(out)).map_err(avif_failure)
        }
        OutputFormat::Png | OutputFormat::Gif => Err(fail(format!(
            "{} is not written from YCbCr planes",
            out.format.name()
        ))),
    }
}

pub fn encode(bitmap: &Bitmap, out: &OutputSpec) -> Result<Vec<u8>, EngineError> {
    let fail = failure(out);
    match out.format {
        OutputFormat::Jpeg => {
            let flat;
            let rgb = if bitmap.has_alpha() {
                flat = bitmap.flatten(out.background);
                &flat
            } else {
                bitmap
            };
            let quality = jpeg_quality(out);
            turbo::encode(&rgb.data, rgb.width, rgb.height, rgb.channels, quality).map_err(fail)
        }
        OutputFormat::Webp => {
            let enc = if bitmap.has_alpha() {
                webp::Encoder::from_rgba(&bitmap.data, bitmap.width, bitmap.height)
            } else {
                webp::Encoder::from_rgb(&bitmap.data, bitmap.width, bitmap.height)
            };
            let mut config = webp::WebPConfig::new().map_err(|()| fail("WebP config".into()))?;
            config.quality = webp_quality(out);
            config.method = WEBP_METHOD;
            let mem = enc
                .encode_advanced(&config)
                .map_err(|e| fail(format!("{e:?}")))?;
            Ok(mem.to_vec())
        }
        OutputFormat::Avif => {
            avif_out::encode_bitmap(bitmap, avif_params(out)).map_err(avif_failure)
        }
        OutputFormat::Gif => super::gif_out::encode_still(bitmap).map_err(fail),
        OutputFormat::Png => {
            let mut buf = Vec::new();
            let color = if bitmap.has_alpha() {
                ExtendedColorType::Rgba8
            } else {
                ExtendedColorType::Rgb8
            };
            PngEncoder::new_with_quality(&mut buf, CompressionType::Default, FilterType::Adaptive)
                .write_image(&bitmap.data, bitmap.width, bitmap.height, color)
                .map_err(|e| fail(e.to_string()))?;
            Ok(buf)
        }
    }
}
