//! A transform's metadata keys: `metadata` (which EXIF/XMP/IPTC travels to the output),
//! `keep_gps` and `icc` (whether the output is converted to sRGB or keeps the source's
//! profile). The engine side is `engine/metadata/`.

use serde::{Deserialize, Serialize};

use super::spec::{bad, SpecError, Transform};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataPolicy {
    /// No EXIF, XMP or IPTC in the output.
    #[default]
    Strip,
    /// Only the rights: EXIF Copyright and Artist, XMP dc:rights, dc:creator,
    /// photoshop:Credit and xmpRights:*, IPTC copyright notice, by-line and credit. Never GPS.
    Copyright,
    /// Everything but GPS (unless `keep_gps`), the embedded thumbnail and the maker note;
    /// Orientation set to 1 (the pixels are upright).
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IccPolicy {
    /// Pixels converted to sRGB, no profile embedded.
    #[default]
    Convert,
    /// An RGB source profile (Display P3, Adobe RGB…) is embedded and the pixels are left
    /// in it; grey and CMYK sources are still converted (their profile cannot describe RGB
    /// output pixels).
    Keep,
}

impl IccPolicy {
    pub fn is_convert(&self) -> bool {
        *self == IccPolicy::Convert
    }
}

/// The three keys of a transform, as the engine takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetadataRules {
    pub metadata: MetadataPolicy,
    pub keep_gps: bool,
    pub icc: IccPolicy,
}

impl MetadataRules {
    /// `keep_gps` only makes sense where something is kept that could carry GPS.
    pub(super) fn validate(
        metadata: MetadataPolicy,
        keep_gps: bool,
        icc: IccPolicy,
    ) -> Result<Self, SpecError> {
        if keep_gps && metadata != MetadataPolicy::Keep {
            return Err(bad(
                "keep_gps",
                "only applies to metadata = \"keep\" (\"copyright\" never keeps GPS)",
            ));
        }
        Ok(MetadataRules {
            metadata,
            keep_gps,
            icc,
        })
    }

    /// True when the engine has to read the source's metadata blocks at all.
    pub fn needs_source_blocks(&self) -> bool {
        self.metadata != MetadataPolicy::Strip || self.icc == IccPolicy::Keep
    }
}

impl Transform {
    /// The metadata keys, as the engine takes them.
    pub fn metadata_rules(&self) -> MetadataRules {
        MetadataRules {
            metadata: self.metadata,
            keep_gps: self.keep_gps,
            icc: self.icc,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalogue::spec::{IccPolicy, MetadataPolicy, Transform};

    const BASE: &str = "description = \"x\"\naccepts = [\"image/*\"]\n";
    const REST: &str = "[output]\nformat = \"jpeg\"\n[resize]\nmode = \"fit\"\nwidth = 9\n";

    fn parse(keys: &str) -> Result<Transform, crate::catalogue::spec::SpecError> {
        Transform::parse("t", &format!("{BASE}{keys}\n{REST}"), 8192)
    }

    #[test]
    fn defaults_keep_the_digest_every_other_value_changes_it() {
        let plain = parse("").unwrap();
        let explicit = parse("metadata = \"strip\"\nkeep_gps = false\nicc = \"convert\"").unwrap();
        assert_eq!(plain.digest, explicit.digest);
        assert_eq!(
            (plain.metadata, plain.keep_gps, plain.icc),
            (MetadataPolicy::Strip, false, IccPolicy::Convert)
        );
        let others = [
            "metadata = \"copyright\"",
            "metadata = \"keep\"",
            "metadata = \"keep\"\nkeep_gps = true",
            "icc = \"keep\"",
        ];
        let mut digests: Vec<String> = others.iter().map(|k| parse(k).unwrap().digest).collect();
        digests.push(plain.digest);
        digests.sort();
        digests.dedup();
        assert_eq!(digests.len(), others.len() + 1);
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = parse("metadata = \"copyright\"\nkeep_gps = true").unwrap_err();
        assert_eq!(e.key, "keep_gps");
        assert_eq!(parse("keep_gps = true").unwrap_err().key, "keep_gps");
        assert_eq!(parse("metadata = \"all\"").unwrap_err().key, "metadata");
        assert_eq!(parse("icc = \"p3\"").unwrap_err().key, "icc");
    }
}
