//! Header looks of the decoders with a shape of their own (TIFF through libtiff, JPEG XL,
//! SVG) and of the `image` crate's formats: size, orientation and the estimate, with the
//! limits checked, before any pixel.

use super::super::{estimate, gif, jxl, png, svg, tiff, EngineError, Limits};
use super::{check_icc_len, check_metadata_len, check_size, count, other_decoder, Kind, Opened};
use crate::media::MediaType;

/// A TIFF's header (under a small cap, like the `image` decoders' probe) and estimate.
pub(super) fn open_tiff(bytes: &[u8], limits: &Limits) -> Result<Opened, EngineError> {
    let h = tiff::read_header(bytes, limits.max_metadata_bytes + (16 << 20))?;
    check_size(h.width, h.height, limits)?;
    let icc = check_metadata_len(h.icc_len, limits.max_metadata_bytes)?;
    let colour = if icc > 0 {
        icc + estimate::COLOUR_MANAGEMENT
    } else {
        0
    };
    let est = h.estimate(bytes.len() as u64) + colour;
    let (w, ht, o) = (h.width, h.height, h.orientation);
    Ok((Kind::Tiff { header: h }, w, ht, o, est))
}

/// The header look of JPEG XL and SVG: (kind, size, orientation, estimate). Both
/// decoders hand back upright pixels, so the orientation is 1.
pub(super) fn jxl_svg_header(
    bytes: &[u8],
    media: MediaType,
    limits: &Limits,
) -> Result<Opened, EngineError> {
    let (kind, w, h, est) = if media == MediaType::Jxl {
        let info = jxl::read_header(bytes)?;
        (
            Kind::Jxl(info),
            info.width,
            info.height,
            jxl::estimate(&info),
        )
    } else {
        let info = svg::read_header(bytes, limits)?;
        let est = svg::estimate(&info, bytes.len());
        (Kind::Svg(info), info.width, info.height, est)
    };
    check_size(w, h, limits)?;
    Ok((kind, w, h, 1, est))
}

/// The header facts of a format the `image` crate decodes (PNG, WebP, GIF…): the decoder
/// holds the header only, and animations are counted, not decoded.
pub(super) fn open_other(
    bytes: &[u8],
    media: MediaType,
    limits: &Limits,
) -> Result<Opened, EngineError> {
    let max_metadata = limits.max_metadata_bytes;
    let png = (media == MediaType::Png)
        .then(|| png::read_info(bytes, max_metadata))
        .transpose()?;
    // The probe's decoder holds the header only: a small cap is plenty.
    let probe_cap = max_metadata + (16 << 20);
    let repaired = (media == MediaType::Gif)
        .then(|| gif::repair(bytes))
        .flatten();
    let input = repaired.as_deref().unwrap_or(bytes);
    let mut dec = other_decoder(input, media, png.as_ref(), max_metadata, probe_cap)?;
    let (w, h) = dec.dimensions();
    check_size(w, h, limits)?;
    let o = dec.orientation().map(|o| o.to_exif()).unwrap_or(1);
    // PNG metadata was measured without inflating it; the other formats store
    // their profile raw (no larger than the source), so it is simply read.
    let (metadata, profile) = match &png {
        Some(p) => (p.metadata_bytes, p.has_profile),
        None => {
            let icc = dec.icc_profile().ok().flatten();
            let len = check_icc_len(icc.as_deref(), max_metadata)?;
            (len, icc.is_some())
        }
    };
    let colour = if profile {
        estimate::COLOUR_MANAGEMENT
    } else {
        0
    };
    let copy = repaired.as_ref().map_or(0, |r| r.len() as u64);
    let est = estimate::image_crate(media, w, h, dec.color_type()) + metadata + colour;
    let frames = count::frames(input, media);
    let est = est + estimate::animation(w, h, frames, limits);
    drop(dec);
    let kind = Kind::Other {
        png,
        repaired,
        frames,
    };
    Ok((kind, w, h, o, est + copy))
}
