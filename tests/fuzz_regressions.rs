//! Every input the fuzz targets (`fuzz/`) ever crashed on, replayed through the same checks
//! (`fuzz/checks.rs`), plus the seeds, so a fixed crash stays fixed without a nightly
//! toolchain. Inputs live in `tests/fixtures/fuzz-regressions/<target>/`, one file each, named
//! after what they found (see the README there).

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

fn replay(target: &str, extra_seeds: &[&str], check: impl Fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = inputs(&root.join("tests/fixtures/fuzz-regressions").join(target));
    for dir in extra_seeds {
        all.extend(inputs(&root.join(dir)));
    }
    assert!(
        target == "image" || !all.is_empty(),
        "no inputs for {target}"
    );
    for (path, bytes) in all {
        eprintln!("{target}: {}", path.display());
        check(&bytes);
    }
}

#[test]
fn job_message() {
    replay(
        "job_message",
        &[
            "tests/fixtures/messages",
            "tests/fixtures/messages/malformed",
        ],
        checks::job_message,
    );
}

#[test]
fn s3_event() {
    replay(
        "s3_event",
        &[
            "tests/fixtures/messages",
            "tests/fixtures/messages/malformed",
        ],
        checks::s3_event,
    );
}

#[test]
fn derived_key() {
    replay(
        "derived_key",
        &["fuzz/seeds/derived_key"],
        checks::derived_key,
    );
}

#[test]
fn video_boxes() {
    replay(
        "video_boxes",
        &["fuzz/seeds/video_boxes"],
        checks::video_boxes,
    );
    // Without a nightly toolchain, a cheap stand-in: 20,000 seeded mutations of each seed
    // (bytes overwritten with extremes, sizes and counts included, and truncations).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (_, seed) in inputs(&root.join("fuzz/seeds/video_boxes")) {
        for _ in 0..20_000 {
            let mut m = seed.clone();
            for _ in 0..1 + next() % 4 {
                let at = next() as usize % m.len();
                m[at] = [0x00, 0xFF, 0x7F, 0x80, next() as u8][next() as usize % 5];
            }
            if next() % 8 == 0 {
                m.truncate(next() as usize % m.len());
            }
            checks::video_boxes(&m);
        }
    }
}

/// The image target's finds, and the small files of the corpus's `malformed/` and
/// `formats/` folders (the fuzzer's seeds).
#[test]
fn image() {
    let (engine, transforms) = (checks::engine(), checks::transforms());
    let corpus = std::env::var_os("DERIVD_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    assert!(
        corpus.join("SOURCES.md").is_file(),
        "no corpus at {}",
        corpus.display()
    );
    let seeds: Vec<_> = ["malformed", "formats"]
        .iter()
        .flat_map(|d| inputs(&corpus.join(d)))
        .filter(|(_, b)| b.len() < 128 << 10)
        .collect();
    assert!(seeds.len() >= 10, "{} small corpus files", seeds.len());
    for (path, bytes) in seeds {
        eprintln!("image seed: {}", path.display());
        checks::image(&engine, &transforms, &bytes);
    }
    replay("image", &[], |b| checks::image(&engine, &transforms, b));
}
