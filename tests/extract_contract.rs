//! The one contract both real [`Extractor`]s are held to: ffmpeg (video) and poppler (PDF).
//! Run: `cargo test --test extract_contract` (needs ffmpeg and poppler-utils installed:
//! `scripts/setup-system.sh runtime`; the tests fail, never skip, without them).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::clips::fixture;
use derivd::config::Config;
use derivd::engine::Fault;
use derivd::extract::{At, ExtractError, Extractor, Facts, Request, Rule};
use derivd::media::MediaType;

struct Case {
    extractor: Arc<dyn Extractor>,
    media: MediaType,
    good: &'static str,
    rule: Rule,
    /// Bytes that sniff as this type but are not a readable file of it.
    broken: &'static [u8],
}

fn cases() -> Vec<Case> {
    let ex = derivd::backends::extractors(&Config::default());
    vec![
        Case {
            extractor: ex.video.clone().expect("video on by default"),
            media: MediaType::Mp4,
            good: "ax_h264_faststart_1080x720.mp4",
            rule: Rule::Video(At::Seconds(0.5)),
            broken: b"\0\0\0\x18ftypisom\0\0\x02\0isomavc1\0\0\0\x08free",
        },
        Case {
            extractor: ex.pdf.clone().expect("pdf on by default"),
            media: MediaType::Pdf,
            good: "pysf_libreoffice_1page_text.pdf",
            rule: Rule::Page(1),
            broken: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        },
    ]
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    f
}

#[test]
fn tools_are_installed_and_types_are_their_own() {
    for c in cases() {
        c.extractor
            .check()
            .unwrap_or_else(|e| panic!("{}: {e}", c.extractor.name()));
        assert!(c.extractor.handles(c.media));
        let other = if c.media == MediaType::Pdf {
            MediaType::WebM
        } else {
            MediaType::Pdf
        };
        assert!(!c.extractor.handles(other), "{}", c.extractor.name());
        assert!(!c.extractor.handles(MediaType::Jpeg));
    }
}

#[test]
fn probe_then_extract_gives_pixels_of_the_size_reported() {
    for c in cases() {
        let file = fixture(c.good);
        let facts = c.extractor.probe(&file, c.media, soon()).unwrap();
        let (w, h) = facts.upright_size();
        assert!(w >= 1.0 && h >= 1.0, "{facts:?}");
        for scale in [0.25, 0.5] {
            let req = Request {
                media: c.media,
                facts: &facts,
                rule: c.rule,
                scale,
                deadline: soon(),
            };
            let still = c.extractor.extract(&file, &req).unwrap();
            assert_eq!(still.rgb.len(), (still.width * still.height * 3) as usize);
            let (ew, eh) = (w * scale, h * scale);
            assert!(
                (still.width as f64 - ew).abs() <= 2.0,
                "{} {ew}",
                still.width
            );
            assert!(
                (still.height as f64 - eh).abs() <= 2.0,
                "{} {eh}",
                still.height
            );
            match (&facts, c.rule) {
                (Facts::Video(_), _) => assert!(still.at_seconds.is_some()),
                (Facts::Pdf(_), Rule::Page(p)) => assert_eq!(still.page, Some(p)),
                _ => unreachable!(),
            }
        }
    }
}

#[test]
fn a_file_that_only_looks_right_is_a_client_error() {
    for c in cases() {
        let f = write(c.broken);
        let e = c.extractor.probe(f.path(), c.media, soon()).unwrap_err();
        assert_eq!(e.fault(), Fault::Client, "{}: {e:?}", c.extractor.name());
        let empty = write(b"");
        let e = c
            .extractor
            .probe(empty.path(), c.media, soon())
            .unwrap_err();
        assert_eq!(e.fault(), Fault::Client, "{}: {e:?}", c.extractor.name());
    }
}

#[test]
fn the_deadline_kills_the_tool_and_is_transient() {
    for c in cases() {
        let file = fixture(c.good);
        // The probe of an MP4 may need no tool at all (its boxes state the facts), so the
        // extraction is what runs past its deadline.
        let facts = c.extractor.probe(&file, c.media, soon()).unwrap();
        let req = Request {
            media: c.media,
            facts: &facts,
            rule: c.rule,
            scale: 1.0,
            deadline: Instant::now(),
        };
        let e = c.extractor.extract(&file, &req).unwrap_err();
        assert!(matches!(e, ExtractError::Timeout { .. }), "{e:?}");
        assert_eq!(e.fault(), Fault::Transient);
    }
}
