//! `derivd transform FILE... -t NAME[,NAME...] --out DIR`: the engine on local files.
//!
//! Outputs go under DIR with the derived-key layout, the file's base name being the source
//! key, so `--out /tmp/out` gives `/tmp/out/derived/photo.jpg/thumb-256.jpg`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use rayon::prelude::*;

use crate::catalogue::{Catalogue, Transform};
use crate::config::Config;
use crate::engine::{Deadline, Engine, Rendition};
use crate::keys::KeyLayout;

#[derive(Debug, clap::Args)]
pub struct TransformArgs {
    /// Source files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Transforms to run, comma-separated (`*` = every one that accepts the file).
    #[arg(short, long = "transform", value_delimiter = ',', required = true)]
    pub transforms: Vec<String>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(cfg: &Config, catalogue: &Catalogue, args: &TransformArgs) -> anyhow::Result<i32> {
    let chosen = choose(catalogue, &args.transforms)?;
    let mut by_name: BTreeMap<String, &Path> = BTreeMap::new();
    for f in &args.files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: not a file name", f.display()))?;
        if let Some(prev) = by_name.insert(name.to_string(), f) {
            bail!(
                "{} and {} have the same base name {name:?}; they would write the same keys",
                prev.display(),
                f.display()
            );
        }
    }
    let engine = Engine::new(cfg.limits);
    let layout = KeyLayout::default();
    let results: Vec<_> = by_name
        .par_iter()
        .map(|(name, path)| {
            (
                name,
                process(&engine, &layout, path, name, &chosen, &args.out),
            )
        })
        .collect();
    println!(
        "{:<36} {:<14} {:>11} {:>9} {:>7}",
        "FILE", "TRANSFORM", "SIZE", "BYTES", "MS"
    );
    let mut failed = 0;
    for (name, r) in results {
        match r {
            Ok(renditions) => {
                for (r, ms) in renditions {
                    println!(
                        "{name:<36} {:<14} {:>11} {:>9} {ms:>7.1}",
                        r.transform.name,
                        format!("{}x{}", r.width, r.height),
                        r.bytes.len(),
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("{name}: {e:#}");
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn choose(catalogue: &Catalogue, names: &[String]) -> anyhow::Result<Vec<Arc<Transform>>> {
    if names.iter().any(|n| n == "*") {
        return Ok(catalogue.iter().cloned().collect());
    }
    names
        .iter()
        .map(|n| {
            catalogue.get(n).cloned().with_context(|| {
                let known: Vec<_> = catalogue.iter().map(|t| t.name.as_str()).collect();
                format!("unknown transform {n:?} (known: {})", known.join(", "))
            })
        })
        .collect()
}

fn process(
    engine: &Engine,
    layout: &KeyLayout,
    path: &Path,
    name: &str,
    transforms: &[Arc<Transform>],
    out: &Path,
) -> anyhow::Result<Vec<(Rendition, f64)>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let media = engine.probe(&bytes)?.media;
    let applicable: Vec<_> = transforms
        .iter()
        .filter(|t| t.accepts(media))
        .cloned()
        .collect();
    if applicable.is_empty() {
        bail!("no requested transform accepts {}", media.mime());
    }
    let started = Instant::now();
    let renditions = engine.render(&bytes, &applicable, Deadline::none())?;
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    let share = total_ms / renditions.len() as f64;
    let mut done = Vec::new();
    for r in renditions {
        let ext = r.transform.output.format.extension();
        let key = layout.derived_key(name, &r.transform.name, ext)?;
        let dest = out.join(&key);
        std::fs::create_dir_all(dest.parent().expect("key has a folder"))?;
        std::fs::write(&dest, &r.bytes).with_context(|| format!("writing {}", dest.display()))?;
        done.push((r, share));
    }
    Ok(done)
}
