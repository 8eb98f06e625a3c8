//! Property tests: the parser is total (never panics, whatever arrives on a queue), what it
//! returns keeps the documented shape, and the two encodings it must undo (job-message
//! JSON, S3's form-urlencoded keys) round-trip for every input.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// Checks the promises of [`parse_message`]'s docs on a successful result.
fn check_shape(items: &[Incoming]) {
    assert!(!items.is_empty(), "empty result");
    let rank = |i: &Incoming| match i {
        Incoming::Jobs(v) => (0, v.is_empty()),
        Incoming::SourcesRemoved(v) => (1, v.is_empty()),
        Incoming::ObjectsLost(v) => (2, v.is_empty()),
        Incoming::Ignored { reason, .. } => (3, !reason::ALL.contains(reason)),
    };
    let ranks: Vec<_> = items.iter().map(rank).collect();
    assert!(ranks.iter().all(|(_, bad)| !bad), "{items:?}");
    assert!(
        ranks.windows(2).all(|w| w[0].0 < w[1].0 || w[0].0 == 3),
        "{items:?}"
    );
    for item in items {
        if let Incoming::Jobs(jobs) = item {
            for job in jobs {
                // S3 gives bucket names as they are (legacy names too); the rest must hold.
                let as_message = JobRequest {
                    bucket: job
                        .bucket
                        .clone()
                        .filter(|b| super::is_valid_bucket_name(b)),
                    ..job.clone()
                };
                assert_eq!(as_message.validate(), Ok(()), "{job:?}");
            }
        }
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(json!("*")),
        Just(json!("thumb-256")),
        Just(json!("ObjectCreated:Put")),
        Just(json!("Notification")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("source".to_string()),
            Just("transforms".to_string()),
            Just("bucket".to_string()),
            Just("id".to_string()),
            Just("force".to_string()),
            Just("Records".to_string()),
            Just("eventName".to_string()),
            Just("s3".to_string()),
            Just("key".to_string()),
            Just("Type".to_string()),
            Just("TopicArn".to_string()),
            Just("Message".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Valid transform names, several per request, duplicates possible.
fn transforms() -> impl Strategy<Value = TransformSelection> {
    prop_oneof![
        Just(TransformSelection::All),
        prop::collection::vec("[a-z0-9][a-z0-9-]{0,8}", 1..5).prop_map(|mut names| {
            let mut seen = std::collections::HashSet::new();
            names.retain(|n| seen.insert(n.clone()));
            TransformSelection::Named(names)
        }),
    ]
}

fn valid_request() -> impl Strategy<Value = JobRequest> {
    (
        "[^\u{0}]{1,60}",
        transforms(),
        prop::option::of("[a-z0-9][a-z0-9-]{1,20}[a-z0-9]"),
        prop::option::of("[^\\p{Cc}]{1,40}"),
        any::<bool>(),
    )
        .prop_map(|(source, transforms, bucket, id, force)| JobRequest {
            id,
            bucket,
            source,
            transforms,
            force,
            focus: None,
        })
}

fn s3_event(name: &str, raw_key: &str) -> String {
    json!({"Records": [{"eventSource": "aws:s3", "eventName": name,
        "s3": {"bucket": {"name": "bkt"}, "object": {"key": raw_key}}}]})
    .to_string()
}

const FIXTURES: [&str; 4] = [
    include_str!("../../tests/fixtures/messages/sns_aws_object_created_put.json"),
    include_str!("../../tests/fixtures/messages/mixed_records.json"),
    include_str!("../../tests/fixtures/messages/job_full.json"),
    include_str!("../../tests/fixtures/messages/moto_sns_object_created_tricky_key.json"),
];

proptest! {
    #[test]
    fn any_string_parses_or_errs(body in "\\PC{0,64}|.{0,64}") {
        if let Ok(items) = parse_message(&body) {
            check_shape(&items);
        }
    }

    #[test]
    fn any_json_parses_or_errs(value in any_json(), wrap in 0..3u8) {
        let body = match wrap {
            0 => value.to_string(),
            1 => json!({"Type": "Notification", "TopicArn": "t", "Message": value.to_string()})
                .to_string(),
            _ => json!({"Records": [value]}).to_string(),
        };
        match parse_message(&body) {
            Ok(items) => check_shape(&items),
            Err(e) => prop_assert_ne!(e.kind(), "not_json"),
        }
    }

    #[test]
    fn damaged_fixtures_parse_or_err(which in 0..FIXTURES.len(), cut in any::<prop::sample::Index>(),
                                     insert in "\\PC{0,3}") {
        let text = FIXTURES[which];
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        for body in [&text[..at], &format!("{}{insert}{}", &text[..at], &text[at..])] {
            if let Ok(items) = parse_message(body) {
                check_shape(&items);
            }
        }
    }

    #[test]
    fn job_messages_round_trip(req in valid_request()) {
        let body = req.to_message_json();
        prop_assert_eq!(parse_message(&body), Ok(vec![Incoming::Jobs(vec![req])]));
    }

    #[test]
    fn event_keys_round_trip_in_both_encodings(key in "[^\u{0}]{1,80}") {
        let moto: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
        let aws = key
            .split('/')
            .map(|seg| form_urlencoded::byte_serialize(seg.as_bytes()).collect::<String>())
            .collect::<Vec<_>>()
            .join("/");
        for raw in [moto, aws] {
            let items = parse_message(&s3_event("ObjectRemoved:Delete", &raw)).unwrap();
            let [Incoming::SourcesRemoved(refs)] = items.as_slice() else {
                panic!("{items:?}")
            };
            prop_assert_eq!(&refs[0].key, &key);
        }
    }
}
