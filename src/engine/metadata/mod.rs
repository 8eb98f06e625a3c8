//! Metadata that travels from a source to its outputs, as a transform's `metadata`,
//! `keep_gps` and `icc` keys say (`catalogue/metadata.rs`).
//!
//! ```text
//! source bytes ─read.rs→ raw blocks (EXIF, XMP, IPTC, ICC)   only if a transform keeps any
//!   → per output, by its policy: exif.rs (a fresh EXIF, Orientation 1, no thumbnail,
//!     GPS only with keep_gps), xmp.rs (a rights-only packet, or the source's without GPS
//!     and with Orientation 1), iptc.rs (datasets filtered), the ICC profile when kept
//!   → write.rs splices them into the encoded JPEG, PNG or WebP; libheif writes AVIF's
//! ```
//!
//! Read from JPEG, PNG, WebP and TIFF sources; written to JPEG, PNG and WebP outputs by
//! splicing, to AVIF through libheif (WebP and AVIF have no IPTC). The sources' other
//! formats give none (HEIF, AVIF, JPEG XL, GIF, SVG, camera RAW beyond its preview JPEG,
//! video, PDF).
//! Under the default (`strip`, `convert`) none of this runs: the source is not even read.
//!
//! Nothing here fails a job: a malformed or hostile block is left out of the output.

mod exif;
mod iptc;
mod read;
mod write;
mod xmp;

use std::sync::Arc;

use super::color::{icc_needs_conversion, is_rgb_profile};
use super::frame::Frame;
use super::{avif_out, encode, EngineError};
use crate::catalogue::spec::OutputSpec;
use crate::catalogue::spec::{IccPolicy, MetadataPolicy, MetadataRules};
use crate::catalogue::Transform;
use crate::media::OutputFormat;

pub use read::{read, Blocks};

/// What one output carries, ready to write.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Embed {
    pub exif: Option<Vec<u8>>,
    pub xmp: Option<Vec<u8>>,
    pub iptc: Option<Vec<u8>>,
    pub icc: Option<Vec<u8>>,
}

impl Embed {
    /// The blocks `rules` keep of a source's `blocks`.
    pub fn new(blocks: &Blocks<'_>, rules: MetadataRules) -> Embed {
        let exif = |keep| {
            blocks
                .exif
                .as_deref()
                .and_then(exif::Exif::parse)?
                .rewrite(keep)
        };
        let (iptc, xmp) = (blocks.iptc.as_deref(), blocks.xmp.as_deref());
        let mut e = match rules.metadata {
            MetadataPolicy::Strip => Embed::default(),
            MetadataPolicy::Copyright => Embed {
                exif: exif(exif::Keep::Rights),
                xmp: xmp.and_then(xmp::rights_packet),
                iptc: iptc.and_then(|i| iptc::filter(i, true)),
                icc: None,
            },
            MetadataPolicy::Keep => Embed {
                exif: exif(exif::Keep::All {
                    gps: rules.keep_gps,
                }),
                xmp: xmp.and_then(|x| xmp::keep_filtered(x, rules.keep_gps)),
                iptc: iptc.and_then(|i| iptc::filter(i, false)),
                icc: None,
            },
        };
        if rules.icc == IccPolicy::Keep {
            e.icc = blocks
                .icc
                .as_deref()
                .filter(|p| is_rgb_profile(p))
                .map(<[u8]>::to_vec);
        }
        e
    }

    pub fn is_empty(&self) -> bool {
        *self == Embed::default()
    }

    /// `frame` encoded as `out` says (`size` pixels) with the blocks in it: spliced into
    /// the encoded JPEG, PNG or WebP; handed to libheif with the pixels for AVIF (which,
    /// like WebP, has no place for IPTC).
    pub fn encode(
        &self,
        frame: &Frame,
        out: &OutputSpec,
        size: (u32, u32),
    ) -> Result<Vec<u8>, EngineError> {
        if out.format == OutputFormat::Avif {
            let meta = avif_out::Meta {
                exif: self.exif.as_deref(),
                xmp: self.xmp.as_deref(),
                icc: self.icc.as_deref(),
            };
            return encode::encode_avif_with(frame, out, meta);
        }
        let encoded = frame.encode(out)?;
        Ok(match out.format {
            OutputFormat::Jpeg => write::jpeg(&encoded, self),
            OutputFormat::Png => write::png(&encoded, self),
            OutputFormat::Webp => write::webp(&encoded, self, size),
            OutputFormat::Avif | OutputFormat::Gif => encoded,
        })
    }
}

/// Which outputs stay in the source's colour space: those that keep a profile while the
/// decode left its conversion pending (`pending`). A kept profile that is not sRGB but
/// was not left pending (the decoder did not use it: libtiff's CIELab → RGB, say) would
/// mislabel the converted pixels, so it is dropped.
pub fn settle_icc(embeds: &mut [Option<Embed>], pending: bool) -> Vec<bool> {
    for slot in embeds.iter_mut() {
        if let Some(e) = slot {
            if !pending && e.icc.as_deref().is_some_and(icc_needs_conversion) {
                e.icc = None;
            }
        }
        if slot.as_ref().is_some_and(Embed::is_empty) {
            *slot = None;
        }
    }
    let kept = |e: &Option<Embed>| pending && e.as_ref().is_some_and(|e| e.icc.is_some());
    embeds.iter().map(kept).collect()
}

/// Each transform's blocks, by index; `None` where a transform keeps nothing.
pub fn plan(source: Option<&[u8]>, max: u64, transforms: &[Arc<Transform>]) -> Vec<Option<Embed>> {
    let wanted = |t: &Transform| t.metadata_rules().needs_source_blocks();
    let blocks = match source {
        Some(b) if transforms.iter().any(|t| wanted(t)) => read(b, max),
        _ => return vec![None; transforms.len()],
    };
    // GIF has no place for EXIF or IPTC, and its pixels are always made sRGB (no profile).
    let carries = |t: &Transform| wanted(t) && t.output.format != OutputFormat::Gif;
    transforms
        .iter()
        .map(|t| {
            let e = carries(t).then(|| Embed::new(&blocks, t.metadata_rules()));
            e.filter(|e| !e.is_empty())
        })
        .collect()
}

#[cfg(test)]
mod tests;
