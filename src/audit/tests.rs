//! The pure parts of the audit: judging one entry, grouping repairs, the report's exit
//! code and text. The walk over real stores is tested in `tests/audit.rs`.

use std::collections::BTreeMap;

use super::*;
use crate::derive::identity::{META_DIGEST, META_SOURCE_ETAG};
use crate::job::{parse_job, TransformSelection};

fn entry() -> ManifestEntry {
    ManifestEntry {
        key: "derived/a.png/thumb-128.jpg".into(),
        digest: "d1".into(),
        source_etag: "e1".into(),
        content_type: "image/jpeg".into(),
        bytes: 10,
        width: 128,
        height: 128,
        extra: BTreeMap::new(),
    }
}

fn head(etag: Option<&str>, digest: Option<&str>) -> ObjectMeta {
    let mut metadata = BTreeMap::new();
    if let Some(e) = etag {
        metadata.insert(META_SOURCE_ETAG.to_string(), e.to_string());
    }
    if let Some(d) = digest {
        metadata.insert(META_DIGEST.to_string(), d.to_string());
    }
    ObjectMeta {
        key: entry().key,
        metadata,
        ..Default::default()
    }
}

#[test]
fn current_object_is_healthy() {
    let h = head(Some("e1"), Some("d1"));
    assert_eq!(judge(&entry(), Some(&h), Some("e1"), Some("d1")), None);
}

#[test]
fn each_kind_and_reason() {
    let h = head(Some("e1"), Some("d1"));
    let e = entry();
    let cases = [
        (
            None,
            Some("e1"),
            Some("d1"),
            FindingKind::Missing,
            reason::ABSENT,
        ),
        (
            Some(&h),
            Some("e2"),
            Some("d1"),
            FindingKind::Stale,
            reason::SOURCE_CHANGED,
        ),
        (
            Some(&h),
            Some("e1"),
            Some("d2"),
            FindingKind::Stale,
            reason::TRANSFORM_CHANGED,
        ),
        (
            Some(&h),
            Some("e1"),
            None,
            FindingKind::Retired,
            reason::TRANSFORM_REMOVED,
        ),
        (
            Some(&h),
            None,
            Some("d1"),
            FindingKind::Orphaned,
            reason::SOURCE_MISSING,
        ),
        // Precedence: orphaned over everything, retired over missing, source over digest.
        (
            None,
            None,
            None,
            FindingKind::Orphaned,
            reason::SOURCE_MISSING,
        ),
        (
            None,
            Some("e1"),
            None,
            FindingKind::Retired,
            reason::TRANSFORM_REMOVED,
        ),
        (
            Some(&h),
            Some("e2"),
            Some("d2"),
            FindingKind::Stale,
            reason::SOURCE_CHANGED,
        ),
    ];
    for (head, etag, digest, kind, why) in cases {
        assert_eq!(
            judge(&e, head, etag, digest),
            Some((kind, why)),
            "{etag:?} {digest:?}"
        );
    }
}

#[test]
fn object_metadata_wins_over_the_manifest_entry() {
    // The object was remade from the new source but the manifest still says e1: the
    // object is right, the record is not, and a job would remake it to fix the record —
    // so the audit, judging as jobs do, reports it (repairable) rather than "healthy".
    let h = head(Some("e2"), Some("d1"));
    assert_eq!(
        judge(&entry(), Some(&h), Some("e2"), Some("d1")),
        Some((FindingKind::Stale, reason::UNRECORDED))
    );
    // Without metadata, the manifest entry is what the object was made from.
    let bare = head(None, None);
    assert_eq!(judge(&entry(), Some(&bare), Some("e1"), Some("d1")), None);
    assert_eq!(
        judge(&entry(), Some(&bare), Some("e2"), Some("d1")),
        Some((FindingKind::Stale, reason::SOURCE_CHANGED))
    );
}

fn finding(source: &str, transform: &str, kind: FindingKind) -> Finding {
    Finding {
        bucket: "photos-derived".into(),
        key: format!("derived/{source}/{transform}.jpg"),
        source_bucket: "photos".into(),
        source_key: source.into(),
        transform: transform.into(),
        kind,
        reason: "x".into(),
        present: true,
    }
}

#[test]
fn repairs_are_grouped_per_source_and_skip_orphans_and_retired() {
    let findings = [
        finding("a.png", "thumb-256", FindingKind::Missing),
        finding("a.png", "thumb-128", FindingKind::Stale),
        finding("b.png", "thumb-128", FindingKind::Orphaned),
        finding("c.png", "gone", FindingKind::Retired),
        finding("d.png", "web-1024", FindingKind::Stale),
    ];
    let jobs = repair_jobs(&findings, "audit-1");
    let summary: Vec<_> = jobs
        .iter()
        .map(|(j, n)| (j.source.as_str(), j.transforms.clone(), *n))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "a.png",
                TransformSelection::Named(vec!["thumb-128".into(), "thumb-256".into()]),
                2
            ),
            (
                "d.png",
                TransformSelection::Named(vec!["web-1024".into()]),
                1
            ),
        ]
    );
    for (job, _) in &jobs {
        // What goes on the queue parses back to the same forced job.
        let back = parse_job(&job.to_message_json()).unwrap();
        assert_eq!(&back, job);
        assert!(back.force);
        assert_eq!(back.bucket.as_deref(), Some("photos"));
        assert_eq!(back.id.as_deref(), Some("audit-1"));
    }
}

#[test]
fn exit_codes_and_text() {
    let mut r = AuditReport::default();
    assert_eq!(r.exit_code(), EXIT_HEALTHY);
    assert!(r.to_text().contains("0 missing"));
    r.add_finding(finding("a.png", "thumb-256", FindingKind::Missing));
    r.add_finding(finding("b.png", "thumb-128", FindingKind::Orphaned));
    r.findings[1].present = false;
    assert_eq!(r.exit_code(), EXIT_PROBLEMS);
    let text = r.to_text();
    assert!(text.contains("missing   photos-derived/derived/a.png/thumb-256.jpg  (x)\n"));
    assert!(
        text.contains("orphaned  photos-derived/derived/b.png/thumb-128.jpg  (x, object absent)")
    );
    assert!(text.contains("1 missing, 0 stale, 1 orphaned"));
    r.add_error("b", "derived/", "listing failed");
    assert_eq!(r.exit_code(), EXIT_ERROR);
    assert_eq!(r.counts.errors, 1);
}

#[test]
fn json_shape() {
    let mut r = AuditReport::default();
    r.add_finding(finding("a.png", "thumb-256", FindingKind::Stale));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["counts"]["stale"], 1);
    let f = &v["findings"][0];
    for field in ["bucket", "key", "source_key", "transform", "kind", "reason"] {
        assert!(f.get(field).is_some(), "{field} missing from {f}");
    }
    assert_eq!(f["kind"], "stale");
    assert_eq!(v["repair"], serde_json::Value::Null);
    let back: AuditReport = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}
