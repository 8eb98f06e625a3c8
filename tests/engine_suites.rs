//! derivd's engine against a peer: every file of the peers' own test suites
//! (`../shared/corpus/suites`, see its SOURCES.md) that **Pillow** decodes, in a format
//! derivd claims, must render — or be refused for a reason listed, and justified, in
//! `tests/fixtures/suites/refusals.toml`. No other refusal, and no panic on any file.
//!
//! Pillow's outcome per file is recorded by `scripts/pillow-outcomes.py` in
//! `tests/fixtures/suites/pillow-outcomes.json` (checked in, so this test needs no Python).
//! The suites are read at run time from the corpus beside the checkout, as the other corpus
//! tests do: 813 files, 21 MB, too many to copy into the repository.
//!
//! "A format derivd claims" is decided by derivd itself: its byte sniffing
//! (`media::detect`) finds a still-image type, or Pillow's MIME type is one of
//! `MediaType`'s — so a format joins this test as soon as derivd adds its type.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::images::{corpus, decode};
use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, EngineError};
use derivd::media::{detect, Detected, MediaKind, MediaType};
use serde::Deserialize;

#[derive(Deserialize)]
struct Outcomes {
    pillow: String,
    files: BTreeMap<String, Outcome>,
}

#[derive(Deserialize)]
struct Outcome {
    decodes: bool,
    mime: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refusals {
    reasons: BTreeMap<String, Reason>,
    files: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    /// The engine error's kind the refusal must have (`EngineError::kind`).
    error: String,
    /// Why derivd refuses what Pillow decodes.
    why: String,
}

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/suites")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn thumbnail() -> Arc<Transform> {
    let toml = "description = \"t\"\naccepts = [\"image/*\"]\n[output]\nformat = \"png\"\n\
                [resize]\nmode = \"fit\"\nwidth = 64\nheight = 64\n";
    Arc::new(Transform::parse("suites-thumb", toml, 8192).unwrap())
}

/// The still-image type derivd claims for this file, if any.
fn claimed(bytes: &[u8], pillow: &Outcome) -> Option<MediaType> {
    if let Detected::Supported(m) = detect(bytes) {
        return (m.kind() == MediaKind::Image).then_some(m);
    }
    // MPO is Pillow's name for a JPEG with more pictures after the first.
    let mime = match pillow.mime.as_deref()? {
        "image/mpo" => "image/jpeg",
        m => m,
    };
    MediaType::from_mime(mime).filter(|m| m.kind() == MediaKind::Image)
}

/// Probe and render one file; `Err` holds the engine's refusal, a panic is a failure.
fn run(engine: &Engine, bytes: &[u8], t: &Arc<Transform>) -> Result<(), EngineError> {
    engine.probe(bytes)?;
    let out = engine.render(
        bytes,
        std::slice::from_ref(t),
        Deadline::after(Duration::from_secs(60)),
    )?;
    let img = decode(&out[0].bytes);
    assert_eq!((img.width(), img.height()), (out[0].width, out[0].height));
    Ok(())
}

#[derive(Default)]
struct Tally {
    files: usize,
    pillow_decodes: usize,
    claimed: usize,
    renders: usize,
    refused: BTreeMap<String, usize>,
    failures: Vec<String>,
}

#[test]
fn what_pillow_decodes_renders_or_is_refused_for_a_listed_reason() {
    let outcomes: Outcomes = serde_json::from_str(&fixture("pillow-outcomes.json")).unwrap();
    let refusals: Refusals = toml::from_str(&fixture("refusals.toml")).unwrap();
    let root = corpus().join("suites");
    check_outcomes_list_the_folder(&root, &outcomes);
    let (engine, t) = (Engine::default(), thumbnail());
    let mut tally = Tally::default();
    let mut refused_files = HashMap::new();
    for (rel, pillow) in &outcomes.files {
        let bytes = std::fs::read(root.join(rel)).unwrap();
        tally.files += 1;
        let r = catch_unwind(AssertUnwindSafe(|| run(&engine, &bytes, &t)));
        let r = match r {
            Ok(r) => r,
            Err(_) => {
                tally.failures.push(format!("{rel}: panicked"));
                continue;
            }
        };
        tally.pillow_decodes += pillow.decodes as usize;
        if let Err(e @ (EngineError::Internal(_) | EngineError::Encode { .. })) = &r {
            tally
                .failures
                .push(format!("{rel}: {e} (a bug, on any input)"));
            continue;
        }
        if !pillow.decodes {
            continue;
        }
        if claimed(&bytes, pillow).is_none() {
            continue;
        }
        tally.claimed += 1;
        match r {
            Ok(()) => tally.renders += 1,
            Err(e) => judge(rel, &e, &refusals, &mut tally, &mut refused_files),
        }
    }
    for (file, reason) in &refusals.files {
        assert!(
            refusals.reasons.contains_key(reason),
            "{file}: no reason {reason:?}"
        );
        if !refused_files.contains_key(file) {
            tally
                .failures
                .push(format!("{file}: listed as refused ({reason}) but was not"));
        }
    }
    report(&outcomes, &tally);
    assert!(
        tally.failures.is_empty(),
        "{} failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
}

/// A refusal of a file Pillow decodes: fine only when listed, with the listed error kind.
fn judge(
    rel: &str,
    e: &EngineError,
    refusals: &Refusals,
    tally: &mut Tally,
    refused: &mut HashMap<String, ()>,
) {
    refused.insert(rel.to_string(), ());
    let listed = refusals
        .files
        .get(rel)
        .and_then(|r| Some((r, refusals.reasons.get(r)?)));
    match listed {
        Some((name, reason)) if reason.error == e.kind() => {
            assert!(!reason.why.trim().is_empty(), "{name}: say why");
            *tally.refused.entry(name.clone()).or_default() += 1;
        }
        Some((name, reason)) => tally.failures.push(format!(
            "{rel}: refused as {} ({e}), listed as {name} ({})",
            e.kind(),
            reason.error
        )),
        None => tally
            .failures
            .push(format!("{rel}: refused, not listed: {e}")),
    }
}

/// Every file of the folder has a recorded outcome and every outcome a file: a stale
/// `pillow-outcomes.json` must be re-made, not silently half-used.
fn check_outcomes_list_the_folder(root: &Path, outcomes: &Outcomes) {
    let mut on_disk = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.file_name().is_some_and(|n| n != "SOURCES.md") {
                on_disk.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    on_disk.sort();
    let recorded: Vec<_> = outcomes.files.keys().cloned().collect();
    assert_eq!(on_disk, recorded, "re-run scripts/pillow-outcomes.py");
}

fn report(outcomes: &Outcomes, t: &Tally) {
    eprintln!(
        "suites: {} files; Pillow {} decodes {}, {} of them in formats derivd claims; \
         derivd renders {}, refuses {} for listed reasons {:?}; {} failures",
        t.files,
        outcomes.pillow,
        t.pillow_decodes,
        t.claimed,
        t.renders,
        t.refused.values().sum::<usize>(),
        t.refused,
        t.failures.len()
    );
}
