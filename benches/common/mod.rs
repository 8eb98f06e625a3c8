//! Shared by the benches: the corpus, the peer workloads (W1, W2) as derivd transforms.
//!
//! The workloads mirror `../shared/bench/workloads.json` so the numbers compare with
//! `peers.py`: "N px" = fit inside N×N, never enlarged; the square is a centre crop.

#![allow(dead_code)] // each bench uses a different part

use std::path::PathBuf;
use std::sync::Arc;

use derivd::catalogue::Transform;

/// One requested output, as in `workloads.json`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Output {
    pub name: String,
    pub size: u32,
    /// "inside" (fit) or "cover" (fill, centre crop).
    pub fit: String,
    pub format: String,
    pub quality: u8,
    /// AVIF only: libaom's speed (`[output] speed`); the transform's default when absent.
    #[serde(default)]
    pub speed: Option<u8>,
}

fn out(name: &str, size: u32, fit: &str, format: &str, quality: u8) -> Output {
    Output {
        name: name.into(),
        size,
        fit: fit.into(),
        format: format.into(),
        quality,
        speed: None,
    }
}

/// W1 (one 256 px JPEG) or W2 (the typical five-output job).
pub fn workload(name: &str) -> Vec<Output> {
    match name {
        "W1" => vec![out("thumb256", 256, "inside", "jpeg", 80)],
        "W2" => vec![
            out("large2048", 2048, "inside", "jpeg", 85),
            out("medium1024", 1024, "inside", "jpeg", 82),
            out("small512", 512, "inside", "webp", 80),
            out("thumb256", 256, "inside", "jpeg", 80),
            out("square128", 128, "cover", "jpeg", 80),
        ],
        other => panic!("unknown workload {other} (W1 or W2)"),
    }
}

/// The outputs as derivd transforms (the same TOML a catalogue file would hold).
pub fn transforms(outputs: &[Output]) -> Vec<Arc<Transform>> {
    outputs
        .iter()
        .map(|o| {
            let mode = if o.fit == "cover" { "fill" } else { "fit" };
            let speed = o
                .speed
                .map(|v| format!("speed = {v}\n"))
                .unwrap_or_default();
            let toml = format!(
                "description = \"{name}\"\naccepts = [\"image/*\"]\n[output]\n\
                 format = \"{fmt}\"\nquality = {q}\n{speed}[resize]\nmode = \"{mode}\"\n\
                 width = {s}\nheight = {s}\n",
                name = o.name,
                fmt = o.format,
                q = o.quality,
                s = o.size,
            );
            Arc::new(Transform::parse(&o.name.replace('_', "-"), &toml, 8192).expect("transform"))
        })
        .collect()
}

/// `../shared/corpus` beside the checkout, or `$DERIVD_CORPUS` (as in the tests).
pub fn corpus() -> PathBuf {
    std::env::var_os("DERIVD_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
}

/// The benchmark photos (`corpus/photos/*.jpg`), sorted, as (path, bytes).
pub fn photos() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus().join("photos");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (set DERIVD_CORPUS)", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    v.sort();
    v.into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}
