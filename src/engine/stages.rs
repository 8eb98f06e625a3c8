//! The engine's stages one at a time, for `benches/engine.rs` and the memory measurements
//! of `tests/engine_memory.rs` only: not a stable API.
//!
//! The engine's public surface is [`super::Engine`]; a criterion bench can only reach
//! public items, so this module re-exports the few internal steps worth timing alone
//! (decode at each SIMD scale, one Lanczos3 resize, one encode per format — for both the
//! RGB path and the YCbCr path) with plain types, and the engine's own decode of a source
//! (header, limits, caps) whose peak memory is compared with its estimate. Nothing in the
//! service calls it.

use crate::catalogue::spec::OutputSpec;

use super::bitmap::Bitmap;
use super::decode::Source;
use super::geometry::Rect;
use super::planar::Planes;
use super::{encode, resize, turbo, turbo_yuv, Limits};
use crate::media::{detect, Detected};

/// The decoders' caps for the benches: generous, as the engine's would be for a photo.
const CAPS: turbo::Caps = turbo::Caps {
    max_memory_mb: 1024,
    max_scans: 500,
};

/// A decoded or resized RGB image (opaque).
pub struct Image(Bitmap);

impl Image {
    pub fn width(&self) -> u32 {
        self.0.width
    }
    pub fn height(&self) -> u32 {
        self.0.height
    }
}

/// libjpeg-turbo decode to RGB at `1/denom` (1, 2, 4 or 8).
pub fn decode_jpeg(jpeg: &[u8], denom: u32) -> Result<Image, String> {
    let d = turbo::decode(jpeg, turbo::Layout::Rgb, 1, denom, CAPS).map_err(|e| e.to_string())?;
    Ok(Image(Bitmap {
        width: d.width,
        height: d.height,
        channels: 3,
        data: d.data,
    }))
}

/// Lanczos3 resize of a whole image.
pub fn resize(src: &Image, out_w: u32, out_h: u32) -> Image {
    let crop = Rect::whole(src.0.width, src.0.height);
    let mut r = fast_image_resize::Resizer::new();
    Image(resize::resize(&mut r, &src.0, crop, out_w, out_h).expect("resize"))
}

/// Encodes with the engine's encoder for `spec` (format and quality as in a transform).
pub fn encode(src: &Image, spec: &OutputSpec) -> Vec<u8> {
    encode::encode(&src.0, spec).expect("encode")
}

/// YCbCr planes (opaque): what the YCbCr path decodes to, resizes and encodes.
pub struct PlanarImage(Planes);

impl PlanarImage {
    pub fn width(&self) -> u32 {
        self.0.width
    }
    pub fn height(&self) -> u32 {
        self.0.height
    }
}

/// libjpeg-turbo decode to YCbCr planes at `1/denom` (1, 2, 4 or 8).
pub fn decode_jpeg_planes(jpeg: &[u8], denom: u32) -> Result<PlanarImage, String> {
    let d = turbo_yuv::decode(jpeg, 1, denom, CAPS)
        .map_err(|e| e.to_string())?
        .ok_or("not a YCbCr JPEG")?;
    Ok(PlanarImage(Planes::from_decode(d)))
}

/// Resize of whole planes to `out_w × out_h`, chroma 4:2:0 (as for a JPEG q < 90 or WebP).
pub fn resize_planes(src: &PlanarImage, out_w: u32, out_h: u32) -> PlanarImage {
    let crop = Rect::whole(src.0.width, src.0.height);
    let mut r = fast_image_resize::Resizer::new();
    PlanarImage(
        src.0
            .resize(&mut r, crop, (out_w, out_h), 0.5, (false, false))
            .expect("resize"),
    )
}

/// Encodes 4:2:0 planes as JPEG, WebP or AVIF for `spec`.
pub fn encode_planes(src: &PlanarImage, spec: &OutputSpec) -> Vec<u8> {
    encode::encode_planes(&src.0, spec).expect("encode")
}

/// One decode of `bytes` as the engine makes it (default limits) at up to `scale`, to RGB
/// or (`planes`, JPEG only) to YCbCr planes with 4:2:0 chroma; the decoded size.
pub fn decode_source(bytes: &[u8], scale: f64, planes: bool) -> Result<(u32, u32), String> {
    let Detected::Supported(media) = detect(bytes) else {
        return Err("not a supported image".into());
    };
    let src = Source::open(bytes, media, &Limits::default()).map_err(|e| e.to_string())?;
    let decoded = src
        .decode(scale, planes.then_some(scale * 0.5))
        .map_err(|e| e.to_string())?;
    Ok(decoded.frame.size())
}

/// An AVIF decoded back to RGB(A) by libheif, for the tests of the AVIF output.
pub use super::avif_out::verify::{decode as decode_avif, Decoded as DecodedAvif};
