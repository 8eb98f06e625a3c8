//! What each fuzz target checks, shared by the targets (`fuzz_targets/*.rs`) and by
//! `tests/fuzz_regressions.rs`, which replays every kept crash input through the same code.
//! Each function panics on a property violation; libFuzzer reports a panic as a crash.
// Each target calls only its own check.
#![allow(dead_code)]

use std::sync::Arc;

use derivd::catalogue::Transform;
use derivd::engine::{Deadline, Engine, EngineError, Fault, Limits};
use derivd::job::{self, Incoming, JobRequest};
use derivd::keys::KeyLayout;

/// A job request survives being written as a job message and read back: what `derivd
/// submit`, `audit --repair` and re-enqueued removals rely on. One documented exception
/// (as in `src/job/proptests.rs`): an S3 event may name a legacy bucket (upper case, `_`)
/// that job messages refuse; it must still be a name S3 could have given.
fn round_trips(j: &JobRequest) {
    let mut j = j.clone();
    if let Some(b) = j.bucket.take_if(|b| !job::is_valid_bucket_name(b)) {
        assert!(job::is_valid_legacy_bucket_name(&b), "bucket {b:?}");
    }
    let back = job::parse_job(&j.to_message_json())
        .unwrap_or_else(|e| panic!("{j:?} does not round-trip: {e}"));
    assert_eq!(
        (
            &back.id,
            &back.bucket,
            &back.source,
            &back.transforms,
            back.force
        ),
        (&j.id, &j.bucket, &j.source, &j.transforms, j.force)
    );
}

/// `parse_message`'s promises (see `src/job/mod.rs`): never empty; at most one each of
/// `Jobs`, `SourcesRemoved`, `ObjectsLost`, in that order; each job round-trips.
fn check_incoming(items: &[Incoming]) {
    assert!(!items.is_empty(), "parse_message returned nothing");
    let rank = |i: &Incoming| match i {
        Incoming::Jobs(_) => 0,
        Incoming::SourcesRemoved(_) => 1,
        Incoming::ObjectsLost(_) => 2,
        Incoming::Ignored { .. } => 3,
    };
    let ranks: Vec<u8> = items.iter().map(rank).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "out of order: {ranks:?}"
    );
    assert!(
        ranks.windows(2).all(|w| w[0] != w[1] || w[0] == 3),
        "a kind twice: {ranks:?}"
    );
    for item in items {
        if let Incoming::Jobs(jobs) = item {
            jobs.iter().for_each(round_trips);
        }
    }
}

/// Any bytes as a queue message body.
pub fn job_message(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(items) = job::parse_message(body) {
        check_incoming(&items);
    }
    if let Ok(j) = job::parse_job(body) {
        round_trips(&j);
    }
}

/// Any bytes as an S3 event, raw and inside an SNS envelope, and as an event key.
pub fn s3_event(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    job_message(data);
    let envelope = serde_json::json!({
        "Type": "Notification",
        "MessageId": "fuzz",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:fuzz",
        "Message": text,
    })
    .to_string();
    if let Ok(items) = job::parse_message(&envelope) {
        check_incoming(&items);
    }
    if let Some(key) = job::decode_s3_event_key(text) {
        assert!(key.len() <= text.len(), "decoding made {text:?} longer");
    }
}

/// The first byte's low 4 bits: the prefix length; the rest: the key. `parse` is the exact
/// inverse of `derived_key`, both ways.
pub fn derived_key(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let cut = (n as usize & 15).min(text.len());
    let Some((prefix, key)) = text.split_at_checked(cut) else {
        return;
    };
    let layout = KeyLayout::new(prefix);
    if let Ok(p) = layout.parse(key) {
        let again = layout.derived_key(&p.source_key, &p.transform, &p.extension);
        assert_eq!(again.as_deref(), Ok(key), "{p:?}");
    }
    // And from parts: whatever derived_key makes of a valid transform parses back.
    if let Some((source, name)) = key.rsplit_once('/') {
        if let Ok(k) = layout.derived_key(source, name, "jpg") {
            if derivd::catalogue::is_valid_transform_name(name) {
                let p = layout.parse(&k).unwrap_or_else(|e| panic!("{k:?}: {e}"));
                assert_eq!(
                    (p.source_key.as_str(), p.transform.as_str()),
                    (source, name)
                );
            }
        }
    }
}

/// A `moov` payload: the box reader answers or declines, never panics, and an answer is a
/// picture that exists: non-zero sizes, a quarter-turn rotation, finite durations.
pub fn video_boxes(data: &[u8]) {
    if let Some(f) = derivd::extract::mp4::from_moov(data) {
        assert!(f.width > 0 && f.height > 0 && f.display_width > 0 && f.display_height > 0);
        assert!(f.rotation % 90 == 0 && f.rotation < 360, "{f:?}");
        assert!(
            f.duration_seconds.is_finite() && f.duration_seconds >= 0.0,
            "{f:?}"
        );
        assert!(
            f.frames_per_second.is_finite() && f.sample_aspect.is_finite(),
            "{f:?}"
        );
    }
}

fn transform(toml: &str) -> Arc<Transform> {
    Arc::new(Transform::parse("fuzz", toml, 256).expect("fuzz transform"))
}

/// Tight limits: small sources, so each run is quick and a bomb cannot slow the fuzzer.
pub fn engine() -> Engine {
    Engine::new(Limits {
        max_input_pixels: 1_000_000,
        max_input_bytes: 1 << 20,
        max_output_side: 256,
        max_metadata_bytes: 256 << 10,
        max_jpeg_scans: 64,
        ..Limits::default()
    })
}

/// A 64 px JPEG (the YCbCr path for JPEG sources) and a 64 px PNG square crop (the RGB path).
pub fn transforms() -> [Arc<Transform>; 2] {
    let head = "description = \"fuzz\"\naccepts = [\"image/*\"]\n";
    [
        transform(&format!(
            "{head}[output]\nformat = \"jpeg\"\n[resize]\nmode = \"fit\"\nwidth = 64\nheight = 64\n"
        )),
        transform(&format!(
            "{head}[output]\nformat = \"png\"\n[resize]\nmode = \"fill\"\nwidth = 64\nheight = 64\n"
        )),
    ]
}

/// A failure must be the input's fault (or a time limit): `Internal` is a caught panic or a
/// broken invariant, `Encode` an output we could not write — both bugs.
fn typed(what: &str, e: &EngineError) {
    assert!(e.fault() != Fault::Bug, "{what}: {e}");
}

/// Any bytes as a source: sniff + probe, then render each transform.
pub fn image(engine: &Engine, transforms: &[Arc<Transform>], data: &[u8]) {
    match engine.probe(data) {
        Err(e) => typed("probe", &e),
        Ok(info) => {
            assert!(info.width > 0 && info.height > 0);
            for t in transforms {
                match engine.render(data, std::slice::from_ref(t), Deadline::none()) {
                    Err(e) => typed("render", &e),
                    Ok(out) => {
                        let r = &out[0];
                        assert!(r.width <= 64 && r.height <= 64 && !r.bytes.is_empty());
                    }
                }
            }
        }
    }
}
