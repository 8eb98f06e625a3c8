//! SVG sources through resvg/usvg (pure Rust, the renderer behind most Rust SVG tooling).
//!
//! * **Never reads a file or a URL.** usvg's default `<image>` resolver opens paths; ours
//!   resolves nothing but `data:` URLs of raster images (JPEG, PNG, GIF, WebP — no nested
//!   SVG, no recursion), and only when their header size is within the pixel limit. No
//!   resources directory is set, and fonts come from one database loaded once from the
//!   system font folder ([`FONT_DIR`]): web fonts and font URLs are never fetched.
//! * **Bounded before parsing** (`guard.rs`): the file size and its size with internal
//!   entities expanded are held to `limits.max_svg_bytes`, then nodes, nesting and
//!   reference expansion are capped.
//! * **Rasterised at the size the outputs need.** The source's size is the SVG's declared
//!   size, scaled down when it is larger than the largest output allowed
//!   (`limits.max_output_side`): a `width="32768"` file is not a 32768-pixel-wide canvas.
//!   The decode draws straight at the scale the largest requested output needs, enlarging
//!   a small drawing too (up to a 2048 × 2048 canvas), so a 24 px icon makes a sharp
//!   512 px output.

mod guard;

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, fontdb, ImageHrefResolver, ImageKind, Tree};

use super::color::{to_srgb_deferred, Pixels, Srgb};
use super::error::EngineError;
use super::Limits;

/// Where fonts are loaded from (Debian's `fonts-dejavu-core` puts DejaVu here).
pub const FONT_DIR: &str = "/usr/share/fonts";

/// The header look: the size the source is planned at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub width: u32,
    pub height: u32,
    max_bytes: u64,
    max_pixels: u64,
    max_side: u32,
}

/// The largest canvas a small SVG is enlarged to (2048 × 2048, the largest shipped
/// output): bigger outputs of it are resized from that canvas. Keeps the memory estimate,
/// made before the outputs are known, a bound that holds.
const ENLARGED_PIXELS: f64 = 2048.0 * 2048.0;

impl Info {
    /// How far the drawing may be enlarged: to [`ENLARGED_PIXELS`] within the side limit.
    pub fn max_scale(&self) -> f64 {
        let (w, h) = (self.width as f64, self.height as f64);
        let by_side = self.max_side as f64 / w.max(h);
        let by_area = (ENLARGED_PIXELS / (w * h)).sqrt();
        by_side.min(by_area).max(1.0)
    }
}

/// Parses the SVG (it has no header short of that) and fixes its planning size.
pub fn read_header(bytes: &[u8], limits: &Limits) -> Result<Info, EngineError> {
    let tree = parse(bytes, limits.max_svg_bytes, limits.max_input_pixels)?;
    let size = tree.size();
    let (w, h) = (size.width() as f64, size.height() as f64);
    let k = (limits.max_output_side as f64 / w.max(h)).min(1.0);
    Ok(Info {
        width: ((w * k).round() as u32).max(1),
        height: ((h * k).round() as u32).max(1),
        max_bytes: limits.max_svg_bytes,
        max_pixels: limits.max_input_pixels,
        max_side: limits.max_output_side,
    })
}

/// Peak bytes of one rasterisation at the planning size or enlarged (the larger canvas of
/// the two): the canvas and resvg's layers
/// (groups with opacity, masks and filters each draw into one more canvas-sized pixmap),
/// our straight-alpha copy, and usvg's tree (tens of bytes per source byte).
pub fn estimate(info: &Info, source_len: usize) -> u64 {
    let most = info.max_scale().powi(2) * info.width as f64 * info.height as f64;
    let px = most.ceil() as u64;
    px * 4 * 4 + source_len as u64 * 64 + (4 << 20)
}

/// Draws the SVG at `scale` of its planning size (up to [`Info::max_scale`]).
pub fn decode(bytes: &[u8], info: &Info, scale: f64) -> Result<Srgb, EngineError> {
    let tree = parse(bytes, info.max_bytes, info.max_pixels)?;
    let scale = scale.min(info.max_scale());
    let w = ((info.width as f64 * scale).ceil() as u32).clamp(1, info.max_side);
    let h = ((info.height as f64 * scale).ceil() as u32).clamp(1, info.max_side);
    let mut pixmap =
        Pixmap::new(w, h).ok_or_else(|| EngineError::Internal(format!("no {w}×{h} canvas")))?;
    let size = tree.size();
    let transform = Transform::from_scale(w as f32 / size.width(), h as f32 / size.height());
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    let mut rgba = pixmap.take();
    unpremultiply(&mut rgba);
    let srgb = to_srgb_deferred(Pixels::Rgba(rgba), w, h, None);
    Ok(Srgb {
        bitmap: srgb.bitmap.drop_opaque_alpha(),
        fix: None,
    })
}

/// The usvg tree, after every check of `guard.rs`.
fn parse(bytes: &[u8], max_bytes: u64, max_pixels: u64) -> Result<Tree, EngineError> {
    if bytes.len() as u64 > max_bytes {
        return Err(EngineError::LimitExceeded(format!(
            "SVG is {} bytes, over limits.max_svg_bytes = {max_bytes}",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| EngineError::Corrupt(format!("SVG is not UTF-8: {e}")))?;
    guard::check_entities(text, max_bytes)?;
    let doc = guard::parse(text)?;
    let options = options(max_pixels);
    Tree::from_xmltree(&doc, &options).map_err(|e| EngineError::Corrupt(format!("SVG: {e}")))
}

fn options(max_pixels: u64) -> usvg::Options<'static> {
    usvg::Options {
        resources_dir: None,
        font_family: "DejaVu Sans".into(),
        image_href_resolver: ImageHrefResolver {
            resolve_data: Box::new(move |mime, data, _| raster_data(mime, data, max_pixels)),
            resolve_string: Box::new(|_, _| None),
        },
        fontdb: fonts(),
        ..usvg::Options::default()
    }
}

/// A `data:` image usvg may draw: a raster format, within the pixel limit.
fn raster_data(mime: &str, data: Arc<Vec<u8>>, max_pixels: u64) -> Option<ImageKind> {
    let format = image::guess_format(&data).ok()?;
    let reader = image::ImageReader::with_format(std::io::Cursor::new(&data[..]), format);
    let (w, h) = reader.into_dimensions().ok()?;
    if w as u64 * h as u64 > max_pixels {
        return None;
    }
    let _ = mime; // The bytes decide, not the declared type.
    match format {
        image::ImageFormat::Jpeg => Some(ImageKind::JPEG(data)),
        image::ImageFormat::Png => Some(ImageKind::PNG(data)),
        image::ImageFormat::Gif => Some(ImageKind::GIF(data)),
        image::ImageFormat::WebP => Some(ImageKind::WEBP(data)),
        _ => None,
    }
}

/// The font database, loaded once per process from [`FONT_DIR`] only.
fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_fonts_dir(FONT_DIR);
            db.set_sans_serif_family("DejaVu Sans");
            db.set_serif_family("DejaVu Serif");
            db.set_monospace_family("DejaVu Sans Mono");
            Arc::new(db)
        })
        .clone()
}

/// tiny-skia draws premultiplied RGBA; the pipeline wants straight alpha.
fn unpremultiply(rgba: &mut [u8]) {
    for px in rgba.chunks_exact_mut(4) {
        let a = px[3] as u32;
        if a != 0 && a != 255 {
            for c in &mut px[..3] {
                *c = ((*c as u32 * 255 + a / 2) / a).min(255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests;
