//! Reading an AVIF back, for the tests only (unit tests here and `tests/avif_service.rs`
//! through [`crate::engine::stages`]): the primary image decoded to 8-bit RGB(A) by the
//! engine's own AVIF input (`heif/`), under the default limits.

use crate::engine::{heif, EngineError, Limits};

/// A decoded AVIF: `channels` is 3, or 4 when the file has a (not wholly opaque) alpha
/// image.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

/// Decodes `bytes`' primary image to tightly packed RGB or RGBA.
pub fn decode(bytes: &[u8]) -> Result<Decoded, EngineError> {
    let header = heif::read_header(bytes, &Limits::default())?;
    let b = heif::decode(bytes, &header)?.bitmap;
    Ok(Decoded {
        width: b.width,
        height: b.height,
        channels: b.channels,
        data: b.data,
    })
}
