//! A transform's `[output]` table: format, quality, speed, background — parsed and checked.

use serde::{Deserialize, Serialize};

use super::spec::{bad, SpecError};
use crate::media::OutputFormat;

/// AVIF's encoder speed when `speed` is not given (libaom speed; sharp's `effort` 4).
pub const DEFAULT_AVIF_SPEED: u8 = 5;
/// The fastest AVIF speed libaom (through libheif) takes.
pub const MAX_AVIF_SPEED: u8 = 9;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutputFile {
    format: OutputFormat,
    quality: Option<u8>,
    speed: Option<u8>,
    background: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputSpec {
    pub format: OutputFormat,
    /// 1..=100 for JPEG, WebP and AVIF; `None` for PNG (lossless).
    pub quality: Option<u8>,
    /// AVIF only: libaom's speed, 0 (slowest, smallest) ..= 9. Left out of the digest's
    /// canonical form when unset, so the other formats keep the digests they always had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<u8>,
    /// Colour that transparent pixels are flattened onto when the format has no alpha.
    pub background: [u8; 3],
}

pub(super) fn validate_output(o: OutputFile) -> Result<OutputSpec, SpecError> {
    let quality = validate_quality(o.format, o.quality, "output.quality")?;
    let speed = validate_speed(o.format, o.speed, "output.speed")?;
    let background = match o.background.as_deref() {
        None => [255, 255, 255],
        Some(s) => parse_hex_colour(s).ok_or_else(|| {
            bad(
                "output.background",
                format!("{s:?} is not a #rrggbb colour"),
            )
        })?,
    };
    Ok(OutputSpec {
        format: o.format,
        quality,
        speed,
        background,
    })
}

/// `quality` of a `format` output: 1..=100 (default per format) for the lossy ones, none
/// for PNG; `key` names it in errors.
pub(super) fn validate_quality(
    format: OutputFormat,
    quality: Option<u8>,
    key: &str,
) -> Result<Option<u8>, SpecError> {
    match (format.is_lossy(), quality) {
        (true, Some(q)) if (1..=100).contains(&q) => Ok(Some(q)),
        (true, Some(q)) => Err(bad(key, format!("{q} is not in 1..=100"))),
        (true, None) => Ok(Some(format.default_quality())),
        (false, Some(_)) => Err(bad(
            key,
            format!("{} is lossless; quality does not apply", format.name()),
        )),
        (false, None) => Ok(None),
    }
}

/// `speed` of a `format` output: AVIF only, 0..=9 (default [`DEFAULT_AVIF_SPEED`]).
pub(super) fn validate_speed(
    format: OutputFormat,
    speed: Option<u8>,
    key: &str,
) -> Result<Option<u8>, SpecError> {
    match (format, speed) {
        (OutputFormat::Avif, Some(s)) if s <= MAX_AVIF_SPEED => Ok(Some(s)),
        (OutputFormat::Avif, Some(s)) => Err(bad(
            key,
            format!("{s} is not in 0..={MAX_AVIF_SPEED} (0 slowest, {MAX_AVIF_SPEED} fastest)"),
        )),
        (OutputFormat::Avif, None) => Ok(Some(DEFAULT_AVIF_SPEED)),
        (other, Some(_)) => Err(bad(
            key,
            format!("only applies to format = \"avif\", not {:?}", other.name()),
        )),
        (_, None) => Ok(None),
    }
}

fn parse_hex_colour(s: &str) -> Option<[u8; 3]> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = u32::from_str_radix(h, 16).ok()?;
    Some([(v >> 16) as u8, (v >> 8) as u8, v as u8])
}
