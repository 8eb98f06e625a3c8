//! The public face of the catalogue: served at `GET /v1/catalogue`, written to the derived
//! bucket as `{prefix}_catalogue.json`, printed by `derivd catalogue`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::spec::{ResizeSpec, Transform};
use super::Catalogue;
use crate::keys::KeyLayout;
use crate::media::{MediaRange, MediaType};

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
    /// Changes whenever the output for the same source would change.
    pub digest: String,
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
                    animation: m
                        .may_be_animated()
                        .then_some("animated images: the first frame is used"),
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
        digest: t.digest.clone(),
    }
}
