//! Every kind of body derivd's queues receive, as AWS and moto really send them: S3 event
//! notifications (raw and in SNS envelopes, with awkward keys in both encodings), S3 test
//! events, SNS confirmations, hand-written job messages and malformed bodies. Fixtures:
//! `tests/fixtures/messages/` (the `moto_*` ones are verbatim moto 5.2 output). The schema
//! of the job message is checked against the parser in `src/job/schema_tests.rs`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use derivd::job::{
    parse_job, parse_message, reason, Incoming, JobRequest, MessageError, ObjectRef,
    TransformSelection, MAX_MESSAGE_BYTES,
};
use serde_json::Value;

/// The key of the `*_tricky_key` fixtures: space, plus, percent, non-ASCII, slashes.
const TRICKY: &str = "uploads/a+b 100%/café 猫.jpg";
const MOTO_ETAG: &str = "9dd4e461268c8034f5c8564e155c67a6";
const AWS_ETAG: &str = "5d41402abc4b2a76b9719d911017c592";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse(name: &str) -> Vec<Incoming> {
    parse_message(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn s3_job(bucket: &str, key: &str) -> JobRequest {
    JobRequest {
        bucket: Some(bucket.into()),
        ..JobRequest::new(key)
    }
}

fn object(bucket: &str, key: &str, etag: Option<&str>, time: &str) -> ObjectRef {
    ObjectRef {
        bucket: bucket.into(),
        key: key.into(),
        etag: etag.map(Into::into),
        event_time: Some(time.into()),
    }
}

fn named(names: &[&str]) -> TransformSelection {
    TransformSelection::Named(names.iter().map(|n| n.to_string()).collect())
}

#[test]
fn aws_object_created_is_one_job_for_all_transforms() {
    let job = s3_job("photos-prod", "uploads/cat photo.jpg");
    assert_eq!(
        parse("aws_object_created_put.json"),
        [Incoming::Jobs(vec![job])]
    );
}

#[test]
fn sns_envelope_gives_the_same_as_the_raw_event() {
    let body = fixture("sns_aws_object_created_put.json");
    let envelope: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(envelope["Subject"], "Amazon S3 Notification");
    assert!(envelope["Message"]
        .as_str()
        .unwrap()
        .starts_with("{\"Records\""));
    assert_eq!(
        parse("sns_aws_object_created_put.json"),
        parse("aws_object_created_put.json")
    );
}

#[test]
fn awkward_keys_decode_exactly_in_aws_and_moto_encodings() {
    // AWS keeps `/`; moto (quote_plus) writes `%2F`. Both write `+` for space.
    assert!(fixture("aws_object_created_tricky_key.json").contains("\"uploads/a%2Bb+100%25/"));
    assert!(fixture("moto_object_created_tricky_key.json").contains("\"uploads%2Fa%2Bb+100%25%2F"));
    for (file, bucket) in [
        ("aws_object_created_tricky_key.json", "photos-prod"),
        ("moto_object_created_tricky_key.json", "photos-dev"),
        ("moto_sns_object_created_tricky_key.json", "photos-dev"),
    ] {
        assert_eq!(
            parse(file),
            [Incoming::Jobs(vec![s3_job(bucket, TRICKY)])],
            "{file}"
        );
    }
}

#[test]
fn object_removed_is_a_source_removal() {
    let aws = object(
        "photos-prod",
        "uploads/cat photo.jpg",
        None,
        "2024-05-14T10:02:11.087Z",
    );
    assert_eq!(
        parse("aws_object_removed_delete.json"),
        [Incoming::SourcesRemoved(vec![aws])]
    );
    let moto = parse("moto_object_removed_delete.json");
    let [Incoming::SourcesRemoved(moto)] = moto.as_slice() else {
        panic!("moto delete is not a removal")
    };
    assert_eq!(
        (moto[0].key.as_str(), moto[0].etag.as_deref()),
        (TRICKY, Some(MOTO_ETAG))
    );
}

#[test]
fn reduced_redundancy_loss_is_a_lost_object() {
    let lost = object(
        "photos-prod",
        "derived/uploads/cat photo.jpg/thumb-256.jpg",
        Some(AWS_ETAG),
        "2024-05-20T03:14:15.926Z",
    );
    assert_eq!(
        parse("aws_rrs_lost_object.json"),
        [Incoming::ObjectsLost(vec![lost])]
    );
}

#[test]
fn test_events_and_sns_confirmations_are_ignored() {
    let ignored = |reason, detail: &str| {
        vec![Incoming::Ignored {
            reason,
            detail: detail.into(),
        }]
    };
    assert_eq!(
        parse("aws_test_event.json"),
        ignored(reason::S3_TEST_EVENT, "photos-prod")
    );
    for file in ["moto_test_event.json", "moto_sns_test_event.json"] {
        assert_eq!(
            parse(file),
            ignored(reason::S3_TEST_EVENT, "photos-dev"),
            "{file}"
        );
    }
    let topic = "arn:aws:sns:eu-west-1:123456789012:derivd-uploads";
    let confirmation = fixture("sns_subscription_confirmation.json");
    assert_eq!(
        parse_message(&confirmation).unwrap(),
        ignored(reason::SUBSCRIPTION_CONFIRMATION, topic)
    );
    let unsubscribe = confirmation.replace("SubscriptionConfirmation", "UnsubscribeConfirmation");
    assert_eq!(
        parse_message(&unsubscribe).unwrap(),
        ignored(reason::UNSUBSCRIBE_CONFIRMATION, topic)
    );
}

#[test]
fn mixed_records_are_grouped_by_kind_in_record_order() {
    let removed = object(
        "photos-prod",
        "uploads/old.jpg",
        None,
        "2024-05-14T09:21:37.512Z",
    );
    assert_eq!(
        parse("mixed_records.json"),
        [
            Incoming::Jobs(vec![
                s3_job("photos-prod", "uploads/one.jpg"),
                s3_job("photos-prod", "uploads/two.jpg"),
            ]),
            Incoming::SourcesRemoved(vec![removed]),
            Incoming::Ignored {
                reason: reason::OTHER_S3_EVENT,
                detail: "ObjectTagging:Put".into(),
            },
        ]
    );
}

#[test]
fn job_messages_by_hand_and_through_sns() {
    assert_eq!(
        parse("job_minimal.json"),
        [Incoming::Jobs(vec![JobRequest::new(
            "uploads/cat photo.jpg"
        )])]
    );
    let full = JobRequest {
        id: Some("req-2024-05-14-0001".into()),
        bucket: Some("photos-prod".into()),
        transforms: named(&["thumb-256", "web-1024"]),
        force: true,
        ..JobRequest::new("uploads/cat photo.jpg")
    };
    assert_eq!(parse("job_full.json"), [Incoming::Jobs(vec![full])]);
    let via_sns = JobRequest {
        id: Some("batch-7/0042".into()),
        transforms: named(&["thumb-256", "web-1024"]),
        ..JobRequest::new("uploads/cat photo.jpg")
    };
    assert_eq!(
        parse("sns_job_message.json"),
        [Incoming::Jobs(vec![via_sns])]
    );
}

/// (file under malformed/, error kind, field named by Invalid)
const MALFORMED: &[(&str, &str, &str)] = &[
    ("not_json.txt", "not_json", ""),
    ("truncated.json", "not_json", ""),
    ("wrong_type_transforms.json", "invalid", "transforms"),
    ("wrong_type_source.json", "invalid", "source"),
    ("unknown_field.json", "invalid", "transfroms"),
    ("empty_transforms.json", "invalid", "transforms"),
    ("star_mixed.json", "invalid", "transforms[1]"),
    ("bad_transform_name.json", "invalid", "transforms[2]"),
    ("long_source.json", "invalid", "source"),
    ("invalid_bucket.json", "invalid", "bucket"),
    (
        "record_without_key.json",
        "invalid",
        "Records[0].s3.object.key",
    ),
    (
        "sns_record_key_not_utf8.json",
        "invalid",
        "Message.Records[0].s3.object.key",
    ),
    ("unrecognised.json", "unrecognised", ""),
];

#[test]
fn malformed_bodies_are_rejected_naming_the_field() {
    for (file, kind, want_field) in MALFORMED {
        let err = parse_message(&fixture(&format!("malformed/{file}"))).unwrap_err();
        assert_eq!(err.kind(), *kind, "{file}: {err}");
        if let MessageError::Invalid { field, .. } = &err {
            assert_eq!(field, want_field, "{file}: {err}");
        }
    }
    let long = parse_message(&fixture("malformed/long_source.json")).unwrap_err();
    assert!(long.to_string().contains("2052 bytes"), "{long}");
}

#[test]
fn every_fixture_is_tested() {
    let mut on_disk = BTreeSet::new();
    for sub in ["", "malformed/"] {
        for entry in std::fs::read_dir(dir().join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                on_disk.insert(format!("{sub}{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    let source = include_str!("job_messages.rs");
    let untested: Vec<_> = on_disk
        .iter()
        .filter(|f| !source.contains(&format!("\"{}\"", f.trim_start_matches("malformed/"))))
        .collect();
    assert!(untested.is_empty(), "fixtures no test names: {untested:?}");
    assert!(on_disk.len() >= 29, "fixtures went missing: {on_disk:?}");
}

#[test]
fn size_limit_is_sqs_s() {
    let job = r#"{"source": "a.jpg"}"#;
    let at_limit = format!("{job}{}", " ".repeat(MAX_MESSAGE_BYTES - job.len()));
    assert!(parse_message(&at_limit).is_ok());
    let over = format!("{at_limit} ");
    assert_eq!(
        parse_message(&over),
        Err(MessageError::TooLarge {
            bytes: 256 * 1024 + 1,
            max: 256 * 1024
        })
    );
}

#[test]
fn to_message_json_round_trips() {
    let simple = JobRequest::new("a.jpg");
    assert_eq!(
        simple.to_message_json(),
        r#"{"source":"a.jpg","transforms":["*"]}"#
    );
    let full = JobRequest {
        id: Some("ünïcode id".into()),
        bucket: Some("media.example.com".into()),
        transforms: named(&["web-1024", "thumb-256"]),
        force: true,
        ..JobRequest::new(TRICKY)
    };
    for req in [simple, full] {
        assert_eq!(
            parse_message(&req.to_message_json()),
            Ok(vec![Incoming::Jobs(vec![req.clone()])])
        );
        assert_eq!(req.validate(), Ok(()));
    }
    // Re-enqueuing an S3-event job (audit --repair) gives a plain job message.
    let requeued = parse_job(&s3_job("photos-prod", TRICKY).to_message_json()).unwrap();
    assert_eq!(requeued.bucket.as_deref(), Some("photos-prod"));
    // A request that could not be read back is caught before it is sent.
    let empty = JobRequest {
        transforms: TransformSelection::Named(vec![]),
        ..JobRequest::new("a.jpg")
    };
    assert_eq!(empty.validate().unwrap_err().kind(), "invalid");
}
