//! A transform's `animation` key: what an animated GIF, WebP or APNG source becomes.
//!
//! `"first"` (the default, and the only behaviour before the key existed): its first
//! frame, like any still. `"keep"`: the WebP and GIF outputs are animated — every frame,
//! its timing and loop count kept — and the other formats (JPEG, PNG and AVIF have no
//! animation derivd writes) still take the first frame. `keep` needs a WebP or GIF output
//! or variant: without one it would change nothing, so the file is refused instead.

use serde::{Deserialize, Serialize};

use super::spec::{bad, OutputSpec, SpecError};
use crate::media::OutputFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Animation {
    /// The first frame only (what every transform did before `animation` existed).
    #[default]
    First,
    /// Every frame, into the WebP and GIF outputs.
    Keep,
}

impl Animation {
    /// Whether it is the default, left out of the digest's canonical form so transforms
    /// without the key keep the digests they always had.
    pub fn is_first(&self) -> bool {
        *self == Animation::First
    }

    /// Whether an output written as `out` is animated (when the source is).
    pub fn animates(&self, out: &OutputSpec) -> bool {
        *self == Animation::Keep && can_animate(out.format)
    }
}

/// The formats derivd writes animated.
fn can_animate(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Webp | OutputFormat::Gif)
}

/// `keep` needs a WebP or GIF output among `output` and `variants`.
pub(super) fn validate(
    animation: Animation,
    output: &OutputSpec,
    variants: &[OutputSpec],
) -> Result<Animation, SpecError> {
    let animated = std::iter::once(output)
        .chain(variants)
        .any(|o| can_animate(o.format));
    if animation == Animation::Keep && !animated {
        return Err(bad(
            "animation",
            "\"keep\" makes animated WebP or GIF: needs one as output.format or a variant",
        ));
    }
    Ok(animation)
}

#[cfg(test)]
mod tests {
    use super::super::Transform;
    use super::*;

    fn parse(animation: &str, format: &str, variants: &str) -> Result<Transform, SpecError> {
        let text = format!(
            "description = \"d\"\naccepts = [\"image/*\"]\n{animation}{variants}\
             [output]\nformat = \"{format}\"\n[resize]\nmode = \"fit\"\nwidth = 64\n"
        );
        Transform::parse("t", &text, 4096)
    }

    #[test]
    fn keep_changes_the_digest_and_first_does_not() {
        let plain = parse("", "webp", "").unwrap();
        let first = parse("animation = \"first\"\n", "webp", "").unwrap();
        let keep = parse("animation = \"keep\"\n", "webp", "").unwrap();
        assert_eq!(plain.animation, Animation::First);
        assert_eq!(keep.animation, Animation::Keep);
        assert_eq!(first.digest, plain.digest, "the default keeps old digests");
        assert_ne!(keep.digest, plain.digest);
        assert!(keep.animation.animates(&keep.output));
        assert!(!first.animation.animates(&first.output));
    }

    #[test]
    fn keep_needs_a_webp_output_and_bad_values_name_the_key() {
        let err = parse("animation = \"keep\"\n", "jpeg", "").unwrap_err();
        assert_eq!(err.key, "animation");
        let gif = parse("animation = \"keep\"\n", "gif", "").unwrap();
        assert!(gif.animation.animates(&gif.output));
        let with_variant = parse(
            "animation = \"keep\"\n",
            "jpeg",
            "variants = [\"webp\", \"jpeg\"]\n",
        );
        let t = with_variant.unwrap();
        let out: Vec<bool> = t.variants.iter().map(|v| t.animation.animates(v)).collect();
        assert_eq!(out, [true, false], "only the webp variant is animated");
        assert_eq!(
            parse("animation = \"all\"\n", "webp", "").unwrap_err().key,
            "animation"
        );
    }
}
