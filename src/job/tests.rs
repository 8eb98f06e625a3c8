//! Unit tests of the parser's internals: key decoding, name rules, error paths. Whole
//! AWS-shaped messages and property tests live in `tests/job_messages.rs`.

use super::json::clip;
use super::request::{is_valid_bucket_name, is_valid_legacy_bucket_name};
use super::*;

fn invalid_field(body: &str) -> String {
    match parse_message(body) {
        Err(MessageError::Invalid { field, .. }) => field,
        other => panic!("expected Invalid for {body}, got {other:?}"),
    }
}

#[test]
fn event_keys_decode_plus_then_percent() {
    let cases = [
        ("uploads/cat+photo.jpg", "uploads/cat photo.jpg"),
        ("uploads%2Fcat+photo.jpg", "uploads/cat photo.jpg"),
        ("a%2Bb.jpg", "a+b.jpg"),
        ("100%25.jpg", "100%.jpg"),
        ("caf%C3%A9+%E7%8C%AB.jpg", "café 猫.jpg"),
        ("%2B%2B++", "++  "),
        ("odd%zz%", "odd%zz%"),
    ];
    for (raw, want) in cases {
        assert_eq!(decode_s3_event_key(raw).as_deref(), Some(want), "{raw}");
    }
    assert_eq!(decode_s3_event_key("bad%FF%FE"), None);
}

#[test]
fn bucket_names_follow_s3_rules() {
    for ok in ["abc", "photos-prod", "my.bucket.eu", "0ab", &"a".repeat(63)] {
        assert!(is_valid_bucket_name(ok), "{ok}");
    }
    for bad in [
        "ab",
        &"a".repeat(64),
        "Photos",
        "my_bucket",
        "-abc",
        "abc-",
        ".abc",
        "a..b",
        "192.168.1.10",
        "bücket",
        "",
    ] {
        assert!(!is_valid_bucket_name(bad), "{bad}");
    }
    assert!(
        is_valid_bucket_name("1.2.3.4.5"),
        "five parts is not an address"
    );
    // Legacy names (S3 events): upper case and `_`, up to 255, but nothing S3 never allowed.
    for ok in ["Photos_Prod", "abc", &"A".repeat(255)] {
        assert!(is_valid_legacy_bucket_name(ok), "{ok}");
    }
    for bad in [
        "ph=tos-prod",
        "a b",
        "a/b",
        "ab",
        "",
        &"a".repeat(256),
        "bücket",
    ] {
        assert!(!is_valid_legacy_bucket_name(bad), "{bad}");
    }
}

/// Found by fuzzing (`fuzz/`, job_message): an S3 record's bucket name was only checked to
/// be non-empty, so a name no bucket can have became a job that no job message could carry.
#[test]
fn s3_records_need_a_bucket_name_s3_could_have_given() {
    let event = |bucket: &str| {
        format!(
            r#"{{"Records": [{{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {{"bucket": {{"name": "{bucket}"}}, "object": {{"key": "a.jpg"}}}}}}]}}"#
        )
    };
    let err = parse_message(&event("ph=tos-prod")).unwrap_err();
    assert!(err.to_string().contains("s3.bucket.name"), "{err}");
    assert!(parse_message(&event("Legacy_Bucket")).is_ok());
}

#[test]
fn unknown_fields_suggest_the_intended_one() {
    let err = parse_message(r#"{"source": "a.jpg", "transfroms": ["thumb-256"]}"#).unwrap_err();
    let MessageError::Invalid { field, reason } = err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "transfroms");
    assert!(reason.contains("did you mean \"transforms\""), "{reason}");
    let err = parse_message(r#"{"source": "a.jpg", "colour": "red"}"#).unwrap_err();
    assert!(!err.to_string().contains("did you mean"), "{err}");
    // A misspelt field alone still reads as a (bad) job message, not as unrecognised.
    assert_eq!(invalid_field(r#"{"Source": "a.jpg"}"#), "Source");
    assert_eq!(invalid_field(r#"{"srouce": "a.jpg"}"#), "srouce");
    assert_eq!(invalid_field(r#"{"source": "a.jpg", "Id": "x"}"#), "Id");
    for unrelated in [r#"{"x": 1}"#, r#"{"ab": 1}"#, r#"{"sources": 1, "idx": 2}"#] {
        let err = parse_message(unrelated).unwrap_err();
        let is_job = matches!(&err, MessageError::Invalid { .. });
        assert_eq!(is_job, unrelated.contains("sources"), "{unrelated}: {err}");
    }
}

#[test]
fn duplicate_fields_are_errors_not_last_wins() {
    let body = r#"{"source": "a.jpg", "transforms": ["thumb-256"], "transforms": ["*"]}"#;
    let err = parse_message(body).unwrap_err();
    assert_eq!(err.kind(), "invalid");
    assert!(err.to_string().contains("more than once"), "{err}");
}

#[test]
fn transform_errors_name_the_element() {
    assert_eq!(
        invalid_field(r#"{"source": "a", "transforms": ["thumb-256", "web-1024", "Web"]}"#),
        "transforms[2]"
    );
    assert_eq!(
        invalid_field(r#"{"source": "a", "transforms": ["thumb-256", 7]}"#),
        "transforms[1]"
    );
    assert_eq!(
        invalid_field(r#"{"source": "a", "transforms": ["thumb-256", "*"]}"#),
        "transforms[1]"
    );
    assert_eq!(
        invalid_field(r#"{"source": "a", "transforms": "thumb-256"}"#),
        "transforms"
    );
}

#[test]
fn star_alone_or_repeated_means_all_and_duplicates_collapse() {
    for body in [
        r#"{"source": "a"}"#,
        r#"{"source": "a", "transforms": ["*"]}"#,
        r#"{"source": "a", "transforms": ["*", "*"]}"#,
    ] {
        let req = parse_job(body).unwrap();
        assert_eq!(req.transforms, TransformSelection::All, "{body}");
    }
    let req = parse_job(r#"{"source": "a", "transforms": ["web-1024", "thumb-256", "web-1024"]}"#)
        .unwrap();
    assert_eq!(
        req.transforms,
        TransformSelection::Named(vec!["web-1024".into(), "thumb-256".into()])
    );
}

#[test]
fn id_limits() {
    let ok = format!(r#"{{"source": "a", "id": "{}"}}"#, "é".repeat(MAX_ID_CHARS));
    assert_eq!(
        parse_job(&ok).unwrap().id.map(|s| s.chars().count()),
        Some(128)
    );
    for bad in [
        format!(
            r#"{{"source": "a", "id": "{}"}}"#,
            "x".repeat(MAX_ID_CHARS + 1)
        ),
        r#"{"source": "a", "id": ""}"#.to_string(),
        r#"{"source": "a", "id": "two\nlines"}"#.to_string(),
        r#"{"source": "a", "id": 42}"#.to_string(),
    ] {
        assert_eq!(invalid_field(&bad), "id", "{bad}");
    }
}

#[test]
fn nul_in_source_and_null_values_are_rejected() {
    assert_eq!(invalid_field(r#"{"source": "a\u0000b"}"#), "source");
    assert_eq!(
        invalid_field(r#"{"source": "a", "bucket": null}"#),
        "bucket"
    );
    assert_eq!(invalid_field(r#"{"source": "a", "force": "yes"}"#), "force");
    assert_eq!(invalid_field(r#"{"transforms": ["thumb-256"]}"#), "source");
}

#[test]
fn errors_inside_sns_are_addressed_under_message() {
    let inner = r#"{"source": "a.jpg", "transforms": []}"#;
    let body = serde_json::json!({"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:t",
        "Message": inner})
    .to_string();
    assert_eq!(invalid_field(&body), "Message.transforms");

    let body = serde_json::json!({"Type": "Notification", "TopicArn": "t", "Message": "hello"})
        .to_string();
    assert_eq!(invalid_field(&body), "Message");

    // An envelope inside an envelope is not followed.
    let inner = serde_json::json!({"Type": "Notification", "TopicArn": "t", "Message": "{}"});
    let body = serde_json::json!({"Type": "Notification", "TopicArn": "t",
        "Message": inner.to_string()})
    .to_string();
    assert_eq!(parse_message(&body).unwrap_err().kind(), "unrecognised");
}

#[test]
fn byte_order_mark_is_tolerated() {
    let req = parse_job("\u{feff}{\"source\": \"a.jpg\"}").unwrap();
    assert_eq!(req.source, "a.jpg");
}

#[test]
fn unrecognised_says_what_it_saw() {
    let err = parse_message("[1, 2]").unwrap_err();
    assert_eq!(err, MessageError::Unrecognised("a JSON array".into()));
    let err = parse_message(r#"{"hello": "world"}"#).unwrap_err();
    assert!(err.to_string().contains("fields hello"), "{err}");
    assert_eq!(parse_message("{}").unwrap_err().kind(), "unrecognised");
}

#[test]
fn clip_cuts_on_character_boundaries() {
    assert_eq!(clip("猫猫猫", 2), "猫猫…");
    assert_eq!(clip("ab", 2), "ab");
}

#[test]
fn error_kinds_are_distinct_labels() {
    let errors = [
        MessageError::NotJson(String::new()),
        MessageError::TooLarge { bytes: 1, max: 0 },
        MessageError::Invalid {
            field: String::new(),
            reason: String::new(),
        },
        MessageError::Unrecognised(String::new()),
    ];
    let kinds: std::collections::HashSet<_> = errors.iter().map(MessageError::kind).collect();
    assert_eq!(kinds.len(), 4);
}
