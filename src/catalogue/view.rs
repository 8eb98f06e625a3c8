//! The public face of the catalogue: served at `GET /v1/catalogue`, written to the derived
//! bucket as `{prefix}_catalogue.json`, printed by `derivd catalogue`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::spec::{Animation, IccPolicy, MetadataPolicy, ResizeSpec, Transform};
use super::Catalogue;
use crate::keys::KeyLayout;
use crate::media::{MediaKind, MediaRange, MediaType};

#[derive(Debug, Clone, Serialize)]
pub struct CatalogueView {
    /// Where derived objects live: `{prefix}{source_key}/{transform}.{ext}`.
    pub key_layout: String,
    /// Accepted source media types and the transforms that apply to each.
    pub media_types: BTreeMap<String, MediaTypeEntry>,
    pub transforms: BTreeMap<String, TransformEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaTypeEntry {
    pub transforms: Vec<String>,
    /// Present for formats that may be animated: what derivd does with the frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animation: Option<&'static str>,
    /// Present for videos and PDFs (which frame or page the transforms use), SVG (the
    /// rasterising size) and camera RAW (which embedded preview).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub still: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransformEntry {
    pub description: String,
    pub accepts: Vec<MediaRange>,
    pub output_media_type: &'static str,
    pub extension: &'static str,
    pub key_template: String,
    pub resize: ResizeSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// The frame (`video`) or page (`pdf`) rule the transform uses for those sources.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub source_rules: BTreeMap<&'static str, String>,
    /// Which EXIF/XMP/IPTC the outputs carry: `strip`, `copyright` or `keep`.
    pub metadata: MetadataPolicy,
    /// Shown when `metadata = "keep"` keeps the GPS position too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keep_gps: bool,
    /// `convert` (outputs are sRGB) or `keep` (an RGB source's profile is embedded).
    pub icc: IccPolicy,
    /// Changes whenever the output for the same source would change.
    pub digest: String,
    /// For a transform made in several formats: each, preferred first (the output
    /// fields above describe the fallback, `[output]`'s). `GET /v1/derived/…` picks one by
    /// the client's `Accept`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantEntry>,
    /// `keep` when animated sources become animated WebP; left out for `first`.
    #[serde(skip_serializing_if = "Animation::is_first")]
    pub animation: Animation,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantEntry {
    pub output_media_type: &'static str,
    pub extension: &'static str,
    pub key_template: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
}

impl CatalogueView {
    pub fn new(catalogue: &Catalogue, layout: &KeyLayout) -> CatalogueView {
        let media_types = MediaType::ALL
            .iter()
            .map(|&m| {
                let names = catalogue
                    .applicable(m)
                    .iter()
                    .map(|t| t.name.clone())
                    .collect();
                let entry = MediaTypeEntry {
                    transforms: names,
                    animation: m.may_be_animated().then_some(match m {
                        MediaType::Gif | MediaType::Webp | MediaType::Png => {
                            "animated images: the first frame is used, or every frame \
                             (animated WebP) by transforms with animation = \"keep\""
                        }
                        _ => "animated images: the first frame is used",
                    }),
                    still: match m.kind() {
                        MediaKind::Video => Some(
                            "one frame per transform's source_rules.video \
                             (at = \"1s\" unless the transform says)",
                        ),
                        MediaKind::Document => Some(
                            "one page per transform's source_rules.pdf (page 1 unless the \
                             transform says), rasterised at the size of the largest output",
                        ),
                        MediaKind::Image => m.image_note(),
                    },
                };
                (m.mime().to_string(), entry)
            })
            .filter(|(_, e)| !e.transforms.is_empty())
            .collect();
        let transforms = catalogue
            .iter()
            .map(|t| (t.name.clone(), entry(t, layout)))
            .collect();
        CatalogueView {
            key_layout: format!("{}{{source_key}}/{{transform}}.{{ext}}", layout.prefix()),
            media_types,
            transforms,
        }
    }

    /// The view without the media types `enabled` refuses (a type whose tool this
    /// deployment disabled); transforms that then apply to nothing stay listed.
    pub fn only(mut self, enabled: impl Fn(MediaType) -> bool) -> CatalogueView {
        self.media_types
            .retain(|mime, _| MediaType::from_mime(mime).is_some_and(&enabled));
        self
    }

    /// The view restricted to one source media type (`GET /v1/catalogue/{type}/{subtype}`).
    pub fn for_media_type(&self, mime: &str) -> Option<CatalogueView> {
        let entry = self.media_types.get(mime)?.clone();
        let transforms = entry
            .transforms
            .iter()
            .filter_map(|n| self.transforms.get(n).map(|t| (n.clone(), t.clone())))
            .collect();
        Some(CatalogueView {
            key_layout: self.key_layout.clone(),
            media_types: BTreeMap::from([(mime.to_string(), entry)]),
            transforms,
        })
    }

    /// Human-readable table for `derivd catalogue`.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Derived keys: {}\n", self.key_layout);
        let _ = writeln!(
            s,
            "{:<14} {:<11} {:<24} {:<7} KEY TEMPLATE",
            "TRANSFORM", "OUTPUT", "RESIZE", "QUALITY"
        );
        for (name, t) in &self.transforms {
            let r = &t.resize;
            let dims = format!(
                "{}x{}",
                r.width.map_or("-".into(), |w| w.to_string()),
                r.height.map_or("-".into(), |h| h.to_string())
            );
            let resize = format!("{:?} {dims}", r.mode).to_lowercase();
            let q = t.quality.map_or("-".into(), |q| q.to_string());
            let _ = writeln!(
                s,
                "{name:<14} {:<11} {resize:<24} {q:<7} {}",
                t.output_media_type, t.key_template
            );
            for v in &t.variants {
                let q = v.quality.map_or("-".into(), |q| q.to_string());
                let (mime, key) = (v.output_media_type, &v.key_template);
                let _ = writeln!(s, "{:<14} {mime:<11} {:<24} {q:<7} {key}", "  variant", "");
            }
        }
        let _ = writeln!(s, "\nACCEPTED TYPE  TRANSFORMS");
        for (mime, e) in &self.media_types {
            let note = e.animation.map(|a| format!("  ({a})")).unwrap_or_default();
            let _ = writeln!(s, "{mime:<14} {}{note}", e.transforms.join(", "));
        }
        s
    }
}

fn entry(t: &Transform, layout: &KeyLayout) -> TransformEntry {
    TransformEntry {
        description: t.description.clone(),
        accepts: t.accepts.clone(),
        output_media_type: t.output.format.mime(),
        extension: t.output.format.extension(),
        key_template: layout.template(&t.name, t.output.format.extension()),
        resize: t.resize.clone(),
        quality: t.output.quality,
        cache_control: t.cache_control.clone(),
        source_rules: source_rules(t),
        metadata: t.metadata,
        keep_gps: t.keep_gps,
        icc: t.icc,
        digest: t.digest.clone(),
        animation: t.animation,
        variants: t
            .variants
            .iter()
            .map(|v| VariantEntry {
                output_media_type: v.format.mime(),
                extension: v.format.extension(),
                key_template: layout.template(&t.name, v.format.extension()),
                quality: v.quality,
            })
            .collect(),
    }
}

/// The effective rule for each non-image kind the transform accepts.
fn source_rules(t: &Transform) -> BTreeMap<&'static str, String> {
    let mut rules = BTreeMap::new();
    for m in MediaType::ALL.into_iter().filter(|m| t.accepts(*m)) {
        let name = match m.kind() {
            MediaKind::Video => "video",
            MediaKind::Document => "pdf",
            MediaKind::Image => continue,
        };
        if let Some(rule) = t.rule(m) {
            rules.insert(name, rule.key());
        }
    }
    rules
}
