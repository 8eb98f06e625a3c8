//! The catalogue: every named transform, loaded from `transforms/*.toml` at start-up.
//!
//! Transforms are data. Each file is validated strictly ([`spec`]); any bad file stops
//! start-up with an error naming the file and the key. The public view of the catalogue
//! (which transforms apply to which media type, where their outputs live) is [`view`].

mod animation;
mod metadata;
mod output;
pub mod rule;
pub mod spec;
mod variants;
pub mod view;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::keys::is_valid_transform_name;
pub use spec::{Gravity, ResizeMode, Transform};

use crate::media::MediaType;

/// The transform files shipped with derivd, used when no transforms folder is configured
/// and `./transforms` does not exist (e.g. an installed binary run from anywhere).
const BUILT_IN: &[(&str, &str)] = &[
    (
        "icon-64-png",
        include_str!("../../transforms/icon-64-png.toml"),
    ),
    (
        "page-preview-1024",
        include_str!("../../transforms/page-preview-1024.toml"),
    ),
    (
        "page-thumb-256",
        include_str!("../../transforms/page-thumb-256.toml"),
    ),
    (
        "poster-640",
        include_str!("../../transforms/poster-640.toml"),
    ),
    (
        "poster-best-320",
        include_str!("../../transforms/poster-best-320.toml"),
    ),
    (
        "preview-512",
        include_str!("../../transforms/preview-512.toml"),
    ),
    (
        "preview-512-avif",
        include_str!("../../transforms/preview-512-avif.toml"),
    ),
    ("thumb-128", include_str!("../../transforms/thumb-128.toml")),
    ("thumb-256", include_str!("../../transforms/thumb-256.toml")),
    ("web-1024", include_str!("../../transforms/web-1024.toml")),
    ("web-2048", include_str!("../../transforms/web-2048.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{file}: cannot read: {source}")]
    Unreadable {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {error}")]
    Invalid {
        file: PathBuf,
        error: spec::SpecError,
    },
    #[error("{file}: transform {name:?} is already defined by {first}")]
    Duplicate {
        file: PathBuf,
        name: String,
        first: PathBuf,
    },
    #[error("{0}: no transform files (*.toml) found")]
    Empty(PathBuf),
}

/// All transforms by name, and the variants of those that have several formats. Cheap to
/// clone (shared).
#[derive(Debug, Clone)]
pub struct Catalogue {
    transforms: Arc<BTreeMap<String, Arc<Transform>>>,
    /// By the name of the transform, in preference order.
    variants: Arc<BTreeMap<String, Vec<Arc<Transform>>>>,
}

impl Catalogue {
    /// Loads every `*.toml` file in the given folders (other files, like README.md, are
    /// ignored). A name defined twice, across folders or by case-folding file systems, is
    /// an error.
    pub fn load_dirs(dirs: &[PathBuf], max_side: u32) -> Result<Catalogue, CatalogueError> {
        let mut found: BTreeMap<String, (PathBuf, Arc<Transform>)> = BTreeMap::new();
        for dir in dirs {
            let entries = std::fs::read_dir(dir).map_err(|source| CatalogueError::Unreadable {
                file: dir.clone(),
                source,
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(CatalogueError::Empty(dir.clone()));
            }
            for file in files {
                let t = load_file(&file, max_side)?;
                if let Some((first, _)) = found.get(&t.name) {
                    return Err(CatalogueError::Duplicate {
                        name: t.name.clone(),
                        first: first.clone(),
                        file,
                    });
                }
                found.insert(t.name.clone(), (file, Arc::new(t)));
            }
        }
        Ok(Catalogue::of(
            found.into_iter().map(|(k, (_, t))| (k, t)).collect(),
        ))
    }

    /// The default catalogue compiled into the binary.
    pub fn built_in(max_side: u32) -> Result<Catalogue, CatalogueError> {
        let mut map = BTreeMap::new();
        for (name, text) in BUILT_IN {
            let t = Transform::parse(name, text, max_side).map_err(|error| {
                CatalogueError::Invalid {
                    file: PathBuf::from(format!("(built-in) transforms/{name}.toml")),
                    error,
                }
            })?;
            map.insert(name.to_string(), Arc::new(t));
        }
        Ok(Catalogue::of(map))
    }

    /// Builds a catalogue from already-parsed transforms (tests, benchmarks).
    pub fn from_transforms(list: Vec<Transform>) -> Catalogue {
        Catalogue::of(
            list.into_iter()
                .map(|t| (t.name.clone(), Arc::new(t)))
                .collect(),
        )
    }

    fn of(transforms: BTreeMap<String, Arc<Transform>>) -> Catalogue {
        let variants = transforms
            .values()
            .filter(|t| !t.variants.is_empty())
            .map(|t| (t.name.clone(), t.expand()))
            .collect();
        Catalogue {
            transforms: Arc::new(transforms),
            variants: Arc::new(variants),
        }
    }

    /// The transform `name`, or the variant `name.ext` of one.
    pub fn get(&self, name: &str) -> Option<&Arc<Transform>> {
        match name.split_once('.') {
            None => self.transforms.get(name),
            Some((name, ext)) => self
                .variants
                .get(name)?
                .iter()
                .find(|v| v.output.format.extension() == ext),
        }
    }

    /// What a render of `t` makes: its variants in preference order, or `t` itself.
    pub fn made_by(&self, t: &Arc<Transform>) -> Vec<Arc<Transform>> {
        match self.variants.get(&t.name) {
            Some(v) if !t.is_variant => v.clone(),
            _ => vec![t.clone()],
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Transform>> {
        self.transforms.values()
    }

    pub fn len(&self) -> usize {
        self.transforms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }

    /// Every transform that accepts `media`, in name order.
    pub fn applicable(&self, media: MediaType) -> Vec<Arc<Transform>> {
        self.iter().filter(|t| t.accepts(media)).cloned().collect()
    }
}

fn load_file(file: &Path, max_side: u32) -> Result<Transform, CatalogueError> {
    let text = std::fs::read_to_string(file).map_err(|source| CatalogueError::Unreadable {
        file: file.to_path_buf(),
        source,
    })?;
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    Transform::parse(name, &text, max_side).map_err(|error| CatalogueError::Invalid {
        file: file.to_path_buf(),
        error,
    })
}

#[cfg(test)]
mod tests;
