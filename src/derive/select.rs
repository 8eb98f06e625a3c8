//! Which transforms a request means for a source of a given media type.

use std::sync::Arc;

use crate::catalogue::{Catalogue, Transform};
use crate::job::TransformSelection;
use crate::media::MediaType;

use super::DeriveError;

/// The transforms `selection` names for a `media` source, each once, in the order given
/// (a transform with variants as all of them; `name.ext`, internal paths only, as that
/// variant); every one must exist and accept the type.
pub fn transforms(
    catalogue: &Catalogue,
    selection: &TransformSelection,
    media: MediaType,
) -> Result<Vec<Arc<Transform>>, DeriveError> {
    match selection {
        TransformSelection::All => {
            let all = catalogue.applicable(media);
            if all.is_empty() {
                return Err(DeriveError::NotAccepted(format!(
                    "no transform accepts {}",
                    media.mime()
                )));
            }
            Ok(all.iter().flat_map(|t| catalogue.made_by(t)).collect())
        }
        TransformSelection::Named(names) => {
            let mut out: Vec<Arc<Transform>> = Vec::with_capacity(names.len());
            for name in names {
                let t = catalogue
                    .get(name)
                    .ok_or_else(|| DeriveError::UnknownTransform(name.clone()))?;
                if !t.accepts(media) {
                    return Err(DeriveError::NotAccepted(format!(
                        "transform {name} does not accept {}",
                        media.mime()
                    )));
                }
                for t in catalogue.made_by(t) {
                    if !out.iter().any(|x| x.entry_name() == t.entry_name()) {
                        out.push(t);
                    }
                }
            }
            Ok(out)
        }
    }
}

/// Names in `selection` that the catalogue does not have (checked before queueing).
pub fn unknown<'a>(catalogue: &Catalogue, selection: &'a TransformSelection) -> Option<&'a str> {
    match selection {
        TransformSelection::All => None,
        TransformSelection::Named(names) => names
            .iter()
            .find(|n| catalogue.get(n).is_none())
            .map(String::as_str),
    }
}
