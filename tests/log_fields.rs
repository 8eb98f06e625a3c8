//! Object keys are the client's text, and a key with a newline must not forge a log line
//! (issue 15 item 8). Wherever a key or an error that may quote one reaches a log line in
//! the paths that handle queued messages, it is recorded with `?` (Debug: quoted, escaped)
//! or through `escape_debug()`, never raw with `%`.

use std::path::Path;

/// Files whose log lines carry object keys.
const DIRS: &[&str] = &["src/consume", "src/repair", "src/ensure", "src/cleanup.rs"];
const KEYISH: &[&str] = &[
    "key = %",
    "source = %",
    "bucket = %",
    "error = %e,",
    "error = %e)",
];

fn rust_files(p: &Path, out: &mut Vec<std::path::PathBuf>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            rust_files(&e.unwrap().path(), out);
        }
    } else if p.extension().is_some_and(|x| x == "rs") {
        out.push(p.to_path_buf());
    }
}

/// Files where client text can reach an error (the rest log only queue/transport errors).
const CLIENT_ERRORS: &[&str] = &["jobs.rs", "route.rs", "repair/mod.rs", "cleanup.rs"];

#[test]
fn keys_and_client_errors_are_logged_escaped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for d in DIRS {
        rust_files(&root.join(d), &mut files);
    }
    assert!(files.len() >= 5, "{files:?}");
    let mut raw = Vec::new();
    for f in &files {
        let client = CLIENT_ERRORS.iter().any(|c| f.ends_with(c));
        for (n, line) in std::fs::read_to_string(f).unwrap().lines().enumerate() {
            let hit = KEYISH[..3].iter().any(|k| line.contains(k))
                || (client && KEYISH[3..].iter().any(|k| line.contains(k)));
            if hit {
                raw.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        raw.is_empty(),
        "log fields recorded raw:\n{}",
        raw.join("\n")
    );
}

#[test]
fn debug_and_escape_debug_keep_a_newline_key_on_one_line() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let w = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || w.clone())
        .with_ansi(false)
        .finish();
    let key = "a.jpg\n2026-12-01T00:00:00Z  INFO derivd: forged";
    let err = format!("source missing: {key}");
    tracing::subscriber::with_default(sub, || {
        tracing::warn!(source = ?key, error = %err.escape_debug(), "clean-up failed");
    });
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(r"a.jpg\n2026"), "{out}");
}
