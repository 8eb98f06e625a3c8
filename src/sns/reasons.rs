//! The `reason` labels of `derivd_sns_rejected_total` (the metric itself is in
//! `crate::metrics`).

/// The `reason` labels of `derivd_sns_rejected_total`.
pub mod reason {
    pub const TOO_LARGE: &str = "too_large";
    pub const NOT_JSON: &str = "not_json";
    /// JSON, but not an SNS message: wrong field types or a signed field missing.
    pub const MALFORMED: &str = "malformed";
    pub const UNKNOWN_TYPE: &str = "unknown_type";
    pub const UNSIGNED: &str = "unsigned";
    pub const BAD_SIGNATURE_VERSION: &str = "bad_signature_version";
    pub const BAD_CERT_URL: &str = "bad_cert_url";
    pub const BAD_SUBSCRIBE_URL: &str = "bad_subscribe_url";
    pub const TOPIC_NOT_ALLOWED: &str = "topic_not_allowed";
    /// The certificate could not be fetched (network, time limit, 5xx): 503.
    pub const CERT_UNAVAILABLE: &str = "cert_unavailable";
    /// The certificate URL answered a refusal, or not an RSA certificate.
    pub const BAD_CERT: &str = "bad_cert";
    pub const CERT_EXPIRED: &str = "cert_expired";
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// `Timestamp` missing its RFC 3339 form, older than SNS ever retries, or in the future.
    pub const STALE: &str = "stale";
    /// Signed and allowed, but the `Message` is not an S3 event or job message: 400.
    pub const BAD_MESSAGE: &str = "bad_message";
    /// The GET of `SubscribeURL` failed: 502.
    pub const CONFIRM_FAILED: &str = "confirm_failed";
    /// A repair failed transiently: 503, for SNS to redeliver.
    pub const REPAIR_FAILED: &str = "repair_failed";
    pub const ALL: [&str; 17] = [
        TOO_LARGE,
        NOT_JSON,
        MALFORMED,
        UNKNOWN_TYPE,
        UNSIGNED,
        BAD_SIGNATURE_VERSION,
        BAD_CERT_URL,
        BAD_SUBSCRIBE_URL,
        TOPIC_NOT_ALLOWED,
        CERT_UNAVAILABLE,
        BAD_CERT,
        CERT_EXPIRED,
        BAD_SIGNATURE,
        STALE,
        BAD_MESSAGE,
        CONFIRM_FAILED,
        REPAIR_FAILED,
    ];
}
