//! Variants: one transform made in several formats from one render, for format negotiation
//! on read (`GET /v1/derived/…` picks the best the client's `Accept` allows).
//!
//! ```toml
//! variants = ["avif", "webp", "jpeg"]        # preferred first; the last is the fallback
//! [output]
//! format = "jpeg"                             # one of the variants: its settings
//! quality = 80
//! ```
//!
//! An entry is a format name (its defaults; `[output]`'s settings for `[output]`'s format)
//! or a table `{ format = "avif", quality = 50, speed = 6 }`. Each variant is a transform of
//! its own for everything downstream: same name, its own output, its own digest (the
//! transform's and the format's), so its object lives under the usual deterministic key
//! (`…/thumb-256.avif`, `.webp`, `.jpg`) and its manifest entry is `name.ext`.

use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::output::{validate_quality, validate_speed};
use super::spec::{bad, OutputSpec, SpecError, Transform};
use crate::media::OutputFormat;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum VariantFile {
    Format(OutputFormat),
    Table(VariantTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VariantTable {
    format: OutputFormat,
    quality: Option<u8>,
    speed: Option<u8>,
}

/// The variants' outputs in order; empty when the file lists none.
pub(super) fn validate(
    list: Vec<VariantFile>,
    output: &OutputSpec,
) -> Result<Vec<OutputSpec>, SpecError> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    if list.len() < 2 {
        return Err(bad("variants", "list two formats or more (or none)"));
    }
    let mut out: Vec<OutputSpec> = Vec::with_capacity(list.len());
    for (i, v) in list.into_iter().enumerate() {
        let (format, quality, speed) = match v {
            VariantFile::Format(f) => (f, None, None),
            VariantFile::Table(t) => (t.format, t.quality, t.speed),
        };
        if out.iter().any(|o| o.format == format) {
            return Err(bad(
                "variants",
                format!("{} is listed twice", format.name()),
            ));
        }
        let key = |k: &str| format!("variants[{i}].{k}");
        let spec = match (format == output.format, quality, speed) {
            (true, None, None) => output.clone(),
            _ => OutputSpec {
                format,
                quality: validate_quality(format, quality, &key("quality"))?,
                speed: validate_speed(format, speed, &key("speed"))?,
                background: output.background,
            },
        };
        out.push(spec);
    }
    if !out.iter().any(|o| o.format == output.format) {
        let m = format!("must include output.format ({})", output.format.name());
        return Err(bad("variants", m));
    }
    Ok(out)
}

impl Transform {
    /// The transforms a render of this one makes: one per variant, in preference order;
    /// itself when it has none.
    pub fn expand(self: &Arc<Self>) -> Vec<Arc<Transform>> {
        if self.variants.is_empty() {
            return vec![self.clone()];
        }
        let one = |spec: &OutputSpec| {
            let text = format!("{}\nvariant={}", self.digest, spec.format.name());
            Arc::new(Transform {
                output: spec.clone(),
                variants: Vec::new(),
                is_variant: true,
                digest: hex::encode(&Sha256::digest(text.as_bytes())[..8]),
                ..Transform::clone(self)
            })
        };
        self.variants.iter().map(one).collect()
    }

    /// The key of its manifest entry: the name, or `name.ext` for a variant (transform
    /// names contain no `.`, so the two never collide).
    pub fn entry_name(&self) -> String {
        match self.is_variant {
            true => format!("{}.{}", self.name, self.output.format.extension()),
            false => self.name.clone(),
        }
    }

    /// The formats it is made in, preferred first.
    pub fn formats(&self) -> Vec<OutputFormat> {
        match self.variants.is_empty() {
            true => vec![self.output.format],
            false => self.variants.iter().map(|v| v.format).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "description = \"d\"\naccepts = [\"image/*\"]\n";
    const TAIL: &str =
        "[output]\nformat = \"jpeg\"\nquality = 70\n[resize]\nmode = \"fit\"\nwidth = 64\n";

    fn parse(variants: &str) -> Result<Transform, SpecError> {
        Transform::parse("t", &format!("{HEAD}variants = {variants}\n{TAIL}"), 4096)
    }

    #[test]
    fn each_variant_is_a_transform_of_its_own_under_one_name() {
        let t = Arc::new(parse(r#"["webp", {format = "png"}, "jpeg"]"#).unwrap());
        let v = t.expand();
        let formats: Vec<_> = v.iter().map(|v| v.output.format).collect();
        use OutputFormat::*;
        assert_eq!(formats, [Webp, Png, Jpeg]);
        assert_eq!(t.formats(), formats);
        assert!(v.iter().all(|v| v.name == "t" && v.is_variant));
        let entries: Vec<_> = v.iter().map(|v| v.entry_name()).collect();
        assert_eq!(entries, ["t.webp", "t.png", "t.jpg"]);
        // [output]'s settings for its own format; defaults for the others.
        assert_eq!(
            (v[2].output.quality, v[0].output.quality),
            (Some(70), Some(80))
        );
        let digests: std::collections::BTreeSet<_> = v.iter().map(|v| &v.digest).collect();
        assert_eq!(digests.len(), 3, "every variant has its own digest");
        assert!(!digests.contains(&t.digest));
    }

    #[test]
    fn a_transform_without_variants_keeps_its_digest() {
        let plain = Transform::parse("t", &format!("{HEAD}{TAIL}"), 4096).unwrap();
        let one = Arc::new(plain.clone()).expand();
        assert_eq!((one.len(), one[0].entry_name()), (1, "t".to_string()));
        assert_eq!(one[0].digest, plain.digest);
        let with = parse(r#"["webp", "jpeg"]"#).unwrap();
        assert_ne!(with.digest, plain.digest);
    }

    #[test]
    fn bad_lists_name_the_key() {
        let key = |v: &str| parse(v).unwrap_err().key;
        assert_eq!(key(r#"["jpeg"]"#), "variants");
        assert_eq!(key(r#"["webp", "webp", "jpeg"]"#), "variants");
        assert_eq!(key(r#"["webp", "png"]"#), "variants"); // output.format missing
        assert_eq!(
            key(r#"[{format = "png", quality = 5}, "jpeg"]"#),
            "variants[0].quality"
        );
        assert_eq!(
            key(r#"[{format = "webp", quality = 0}, "jpeg"]"#),
            "variants[0].quality"
        );
    }
}
