//! The S3 event a loss produces, for `derivd lose` (a loss on the embedded backend).

/// An S3-shaped `ReducedRedundancyLostObject` event for one key, as S3 would send it (used
/// by `derivd lose` to simulate a loss on the embedded backend). Keys are form-urlencoded
/// in S3 events.
pub fn lost_object_event(bucket: &str, key: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": now,
            "eventName": "ReducedRedundancyLostObject",
            "userIdentity": { "principalId": "AWS:derivd-lose" },
            "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": { "x-amz-request-id": "derivd", "x-amz-id-2": "derivd" },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "derivd-lose",
                "bucket": { "name": bucket, "arn": format!("arn:aws:s3:::{bucket}") },
                "object": { "key": encoded, "sequencer": "0" }
            }
        }]
    })
    .to_string()
}
