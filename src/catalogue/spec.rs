//! One transform file (`transforms/NAME.toml`) parsed, validated and fingerprinted.
//!
//! The file format is documented in `transforms/README.md`. Parsing is strict (unknown
//! keys are errors) so a typo never silently falls back to a default.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use super::animation::Animation;
pub use super::metadata::{IccPolicy, MetadataPolicy, MetadataRules};
use super::output::{validate_output, OutputFile};
pub use super::output::{OutputSpec, DEFAULT_AVIF_SPEED, MAX_AVIF_SPEED};
use super::rule::{At, Rule};
use super::variants::{self, VariantFile};
use crate::keys::is_valid_transform_name;
use crate::media::{MediaKind, MediaRange, MediaType};

/// Bumped whenever the engine changes the pixels or bytes it makes for an unchanged
/// transform file, so the digest of every transform changes and `audit` sees stale objects.
pub const ENGINE_OUTPUT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    /// Inside the box, aspect kept, never enlarged unless `enlarge`.
    Fit,
    /// Cover the box, aspect kept, then crop to it at `gravity`.
    Fill,
    /// Exactly width × height, aspect not kept.
    Exact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gravity {
    #[default]
    Center,
    North,
    South,
    East,
    West,
    Northeast,
    Northwest,
    Southeast,
    Southwest,
    /// Where the picture draws the eye: edges, saturated colour and skin tones
    /// (`engine/attention.rs`), as libvips' `attention`.
    Attention,
    /// The window with the most detail: the highest Shannon entropy of its luma.
    Entropy,
}

impl Gravity {
    /// Whether the crop's place depends on the pixels (so the engine looks before cropping).
    pub fn is_content_aware(self) -> bool {
        matches!(self, Gravity::Attention | Gravity::Entropy)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransformFile {
    description: String,
    accepts: Vec<String>,
    #[serde(default)]
    cache_control: Option<String>,
    #[serde(default)]
    metadata: MetadataPolicy,
    #[serde(default)]
    keep_gps: bool,
    #[serde(default)]
    icc: IccPolicy,
    output: OutputFile,
    resize: ResizeFile,
    #[serde(default)]
    source: SourceFile,
    /// Formats made by one render, preferred first (see `variants.rs`).
    #[serde(default)]
    variants: Vec<VariantFile>,
    /// What an animated source becomes (`animation.rs`).
    #[serde(default)]
    animation: Animation,
}

/// `[source.video]` / `[source.pdf]`: which frame or page of a non-image source is used.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    video: Option<VideoSourceFile>,
    pdf: Option<PdfSourceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VideoSourceFile {
    at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PdfSourceFile {
    page: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResizeFile {
    mode: ResizeMode,
    width: Option<u32>,
    height: Option<u32>,
    #[serde(default)]
    enlarge: bool,
    #[serde(default)]
    gravity: Gravity,
}

/// A validated transform. Serialises to the canonical form that is digested.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transform {
    pub name: String,
    pub description: String,
    pub accepts: Vec<MediaRange>,
    pub output: OutputSpec,
    pub resize: ResizeSpec,
    pub cache_control: Option<String>,
    pub metadata: MetadataPolicy,
    /// `metadata = "keep"` only: keep the GPS position too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keep_gps: bool,
    /// Convert to sRGB (default) or keep an RGB source's profile (`catalogue/metadata.rs`).
    #[serde(skip_serializing_if = "IccPolicy::is_convert")]
    pub icc: IccPolicy,
    /// Frame and page rules for video and PDF sources (`[source.*]`).
    pub source: SourceRules,
    /// The outputs of a transform with `variants`, preferred first (`output` is one of
    /// them); empty for one output. See `variants.rs`.
    pub variants: Vec<OutputSpec>,
    /// What an animated source becomes (`animation.rs`); left out when `first`.
    #[serde(skip_serializing_if = "Animation::is_first")]
    pub animation: Animation,
    /// Whether this is one variant of a transform with several (its own name is the
    /// transform's; its manifest entry is `name.ext`).
    #[serde(skip)]
    pub is_variant: bool,
    #[serde(skip)]
    pub digest: String,
}

/// Which frame or page a transform uses; unset means `at = "1s"` and `page = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct SourceRules {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<At>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<u32>,
}

impl SourceRules {
    fn is_default(&self) -> bool {
        self.video.is_none() && self.pdf.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResizeSpec {
    pub mode: ResizeMode,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub enlarge: bool,
    pub gravity: Gravity,
}

/// A problem in one transform file: which key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SpecError {
    pub key: String,
    pub message: String,
}

pub(super) fn bad(key: &str, message: impl Into<String>) -> SpecError {
    SpecError {
        key: key.to_string(),
        message: message.into(),
    }
}

impl Transform {
    /// Parses and validates one transform file's text. `max_side` is the configured
    /// output-side limit.
    pub fn parse(name: &str, text: &str, max_side: u32) -> Result<Transform, SpecError> {
        if !is_valid_transform_name(name) {
            return Err(bad(
                "name",
                format!("{name:?} must match [a-z0-9][a-z0-9-]{{0,62}} (it is the file stem)"),
            ));
        }
        let file: TransformFile = toml::from_str(text).map_err(|e| toml_error(&e, text))?;
        if file.description.trim().is_empty() {
            return Err(bad("description", "must not be empty"));
        }
        if file.accepts.is_empty() {
            return Err(bad("accepts", "must list at least one media type"));
        }
        let accepts = file
            .accepts
            .iter()
            .map(|a| MediaRange::parse(a).map_err(|m| bad("accepts", m)))
            .collect::<Result<Vec<_>, _>>()?;
        let source = validate_source(file.source, &accepts)?;
        let output = validate_output(file.output)?;
        let variants = variants::validate(file.variants, &output)?;
        let animation = super::animation::validate(file.animation, &output, &variants)?;
        let resize = validate_resize(file.resize, max_side)?;
        if let Some(cc) = &file.cache_control {
            if cc.is_empty() || cc.chars().any(|c| c.is_control()) {
                return Err(bad("cache_control", "must be a non-empty header value"));
            }
        }
        let rules = MetadataRules::validate(file.metadata, file.keep_gps, file.icc)?;
        let mut t = Transform {
            name: name.to_string(),
            description: file.description,
            accepts,
            output,
            resize,
            cache_control: file.cache_control,
            metadata: rules.metadata,
            keep_gps: rules.keep_gps,
            icc: rules.icc,
            source,
            variants,
            animation,
            is_variant: false,
            digest: String::new(),
        };
        t.digest = t.compute_digest();
        Ok(t)
    }

    /// Stable fingerprint of everything that shapes the output bytes (not the description).
    fn compute_digest(&self) -> String {
        let mut canonical = serde_json::json!({
            "engine": ENGINE_OUTPUT_VERSION,
            "output": self.output,
            "resize": self.resize,
            "metadata": self.metadata,
        });
        // Only when set, so image transforms keep the digests they always had.
        if !self.source.is_default() {
            canonical["source"] = serde_json::json!(self.source);
        }
        if !self.variants.is_empty() {
            canonical["variants"] = serde_json::json!(self.variants);
        }
        if self.keep_gps {
            canonical["keep_gps"] = serde_json::json!(true);
        }
        if self.icc != IccPolicy::Convert {
            canonical["icc"] = serde_json::json!(self.icc);
        }
        if !self.animation.is_first() {
            canonical["animation"] = serde_json::json!(self.animation);
        }
        let hash = Sha256::digest(canonical.to_string().as_bytes());
        hex::encode(&hash[..8])
    }

    pub fn accepts(&self, media: MediaType) -> bool {
        self.accepts.iter().any(|r| r.matches(media))
    }

    /// The frame or page this transform takes from a `media` source; `None` for images.
    pub fn rule(&self, media: MediaType) -> Option<Rule> {
        match media.kind() {
            MediaKind::Image => None,
            MediaKind::Video => Some(Rule::Video(self.source.video.unwrap_or_default())),
            MediaKind::Document => Some(Rule::Page(self.source.pdf.unwrap_or(1))),
        }
    }
}

fn validate_source(s: SourceFile, accepts: &[MediaRange]) -> Result<SourceRules, SpecError> {
    let takes = |kind: MediaKind| {
        MediaType::ALL
            .iter()
            .any(|m| m.kind() == kind && accepts.iter().any(|r| r.matches(*m)))
    };
    let video = match s.video {
        None => None,
        Some(_) if !takes(MediaKind::Video) => {
            return Err(bad("source.video", "the transform accepts no video type"))
        }
        Some(v) => Some(At::parse(&v.at).map_err(|m| bad("source.video.at", m))?),
    };
    let pdf = match s.pdf {
        None => None,
        Some(_) if !takes(MediaKind::Document) => {
            return Err(bad(
                "source.pdf",
                "the transform does not accept application/pdf",
            ))
        }
        Some(p) if p.page == 0 => return Err(bad("source.pdf.page", "pages count from 1")),
        Some(p) => Some(p.page),
    };
    Ok(SourceRules { video, pdf })
}

fn validate_resize(r: ResizeFile, max_side: u32) -> Result<ResizeSpec, SpecError> {
    for (key, v) in [("resize.width", r.width), ("resize.height", r.height)] {
        match v {
            Some(0) => return Err(bad(key, "must be at least 1")),
            Some(v) if v > max_side => {
                return Err(bad(
                    key,
                    format!("{v} exceeds the output-side limit {max_side}"),
                ))
            }
            _ => {}
        }
    }
    match r.mode {
        ResizeMode::Fit if r.width.is_none() && r.height.is_none() => {
            return Err(bad("resize", "fit needs width, height or both"))
        }
        ResizeMode::Fill | ResizeMode::Exact if r.width.is_none() => {
            return Err(bad("resize.width", "required for fill and exact"))
        }
        ResizeMode::Fill | ResizeMode::Exact if r.height.is_none() => {
            return Err(bad("resize.height", "required for fill and exact"))
        }
        _ => {}
    }
    if r.mode != ResizeMode::Fill && r.gravity != Gravity::Center {
        return Err(bad("resize.gravity", "only applies to mode = \"fill\""));
    }
    Ok(ResizeSpec {
        mode: r.mode,
        width: r.width,
        height: r.height,
        enlarge: r.enlarge,
        gravity: r.gravity,
    })
}

/// Turns a toml/serde error into (key, message), naming the offending key when toml knows it.
fn toml_error(e: &toml::de::Error, text: &str) -> SpecError {
    let msg = e.message().to_string();
    // The table the error sits in, from the last `[section]` header before its position.
    let section = e.span().and_then(|span| {
        text[..span.start.min(text.len())]
            .lines()
            .filter_map(|l| l.trim().strip_prefix('[')?.strip_suffix(']'))
            .next_back()
            .map(|s| s.trim().to_string())
    });
    let qualify = |k: String| match &section {
        Some(s) if !k.starts_with("at byte") => format!("{s}.{k}"),
        _ => k,
    };
    let key = msg
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
        .map(str::to_string)
        .or_else(|| {
            msg.strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
                .map(str::to_string)
        })
        .or_else(|| e.span().and_then(|span| key_at(text, span.start)))
        .map(qualify)
        .unwrap_or_else(|| match (e.span(), &section) {
            (_, Some(s)) => s.clone(),
            (Some(s), None) => format!("at byte {}", s.start),
            (None, None) => "file".to_string(),
        });
    bad(&key, msg)
}

/// The key of the `key = value` line a bad value at byte `at` sits on, if it is one.
fn key_at(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let simple = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    simple.then(|| key.to_string())
}
