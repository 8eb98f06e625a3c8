//! Header looks of the decoders with a shape of their own (TIFF through libtiff, JPEG XL,
//! SVG): size, orientation and the estimate, with the limits checked, before any pixel.

use super::super::{estimate, jxl, svg, tiff, EngineError, Limits};
use super::{check_metadata_len, check_size, Kind};
use crate::media::MediaType;

/// A TIFF's header (under a small cap, like the `image` decoders' probe) and estimate.
pub(super) fn open_tiff(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(Kind, u32, u32, u8, u64), EngineError> {
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
) -> Result<(Kind, u32, u32, u8, u64), EngineError> {
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
