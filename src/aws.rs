//! AWS SDK set-up and error classification shared by the S3 store and the SQS queue.
//!
//! Why this module exists: every AWS-backed component must (a) load configuration the
//! way every AWS tool does (env vars, profiles, `AWS_ENDPOINT_URL`), with derivd's own
//! config able to override region and endpoint; (b) use path-style S3 addressing whenever
//! the endpoint is overridden (moto, MinIO, LocalStack: `bucket.localhost` does not
//! resolve); and (c) turn SDK errors into one decision — retry later or give up — the same
//! way for S3 and SQS. Retries are the SDK's standard mode (exponential backoff with full
//! jitter, a client-side retry quota) from [`retry_config`], which
//! `backends::sdk_config_for` applies with the configured attempts, so the service does not
//! depend on the SDK's defaults; the classification here is about
//! what derivd does *after* the SDK has given up.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Loads the SDK configuration from the standard sources (env vars such as `AWS_REGION`,
/// `AWS_PROFILE`, `AWS_ENDPOINT_URL`, shared config/credentials files, IMDS, ...).
/// `region` and `endpoint` (from derivd's own config) win over those sources.
pub async fn load_sdk_config(region: Option<&str>, endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region.filter(|r| !r.is_empty()) {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Standard retry mode: transient errors (throttling, 5xx, timeouts, I/O) are retried up to
/// `max_attempts` attempts in all, waiting `initial_backoff × 2^n × random(0..1)` (at most
/// 20 s) before retry `n + 1`.
pub fn retry_config(max_attempts: u32, initial_backoff: Duration) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(initial_backoff)
        .with_max_backoff(Duration::from_secs(20))
}

/// True when S3 requests will not go to AWS's own endpoints: an endpoint set explicitly or
/// via `AWS_ENDPOINT_URL` / profile `endpoint_url` (both land in `cfg.endpoint_url()`), or
/// the S3-specific `AWS_ENDPOINT_URL_S3`.
fn s3_endpoint_overridden(cfg: &SdkConfig) -> bool {
    if cfg.endpoint_url().is_some() {
        return true;
    }
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    !ignored && std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|v| !v.is_empty())
}

/// An S3 client; path-style addressing whenever the endpoint is overridden.
pub fn s3_client(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(cfg);
    if s3_endpoint_overridden(cfg) {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

pub fn sqs_client(cfg: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(cfg)
}

pub fn sns_client(cfg: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(cfg)
}

/// What the caller should do about a failed AWS call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later: throttling, 5xx, timeouts, network trouble.
    Transient,
    /// Retrying the same request will not help: access denied, missing bucket/queue,
    /// malformed request.
    Permanent,
}

/// Error codes that mean "try again later" whatever the status. Throttling and transient
/// codes are the SDK's own retry lists; the rest are server-side hiccups, or things the
/// SDK fixes by itself on a later attempt (credential refresh, clock-skew correction).
const TRANSIENT_CODES: &[&str] = &[
    // throttling (aws-runtime's THROTTLING_ERRORS)
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "KmsThrottled",
    "KMSThrottlingException",
    // transient (aws-runtime's TRANSIENT_ERRORS; S3 sends RequestTimeout with 400)
    "RequestTimeout",
    "RequestTimeoutException",
    // server side
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "OperationAborted",
    // SQS: too many in-flight messages; clears as consumers delete
    "OverLimit",
    // fixed by the SDK on a later attempt
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "RequestTimeTooSkewed",
];

/// The decision, from what the server answered. `status` is the HTTP status if there was
/// a response; `code` the service's error code (SQS's `AWS.SimpleQueueService.X` and
/// JSON `namespace#X` forms are reduced to `X`).
///
/// 1. A known transient code → Transient (this catches 400 RequestTimeout, 403
///    RequestTimeTooSkewed and 503 SlowDown alike).
/// 2. Status 408, 429 or any 5xx but 501 Not Implemented → Transient.
/// 3. No status and no code (nothing came back) → Transient.
/// 4. Everything else (403, 404 NoSuchBucket, other 4xx, 501) → Permanent.
pub fn classify(status: Option<u16>, code: Option<&str>) -> ErrorClass {
    if let Some(code) = code {
        let bare = code.rsplit(['#', '.']).next().unwrap_or(code);
        if TRANSIENT_CODES.contains(&bare) {
            return ErrorClass::Transient;
        }
    }
    match status {
        Some(408 | 429) => ErrorClass::Transient,
        Some(501) => ErrorClass::Permanent,
        Some(s) if (500..600).contains(&s) => ErrorClass::Transient,
        Some(_) => ErrorClass::Permanent,
        None if code.is_none() => ErrorClass::Transient,
        None => ErrorClass::Permanent,
    }
}

/// Error codes meaning "these credentials may not make this call": S3 and SQS say
/// `AccessDenied`, JSON-protocol services `AccessDeniedException`, SNS `AuthorizationError`.
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "Forbidden",
];

/// True when the answer says the caller lacks permission (as opposed to a missing resource
/// or a bad request). A 403 without a code counts too: S3 answers HEAD requests without a
/// body. Other 403 codes (`RequestTimeTooSkewed`, `InvalidAccessKeyId`,
/// `SignatureDoesNotMatch`) are not a permission question and do not count.
pub fn is_access_denied(status: Option<u16>, code: Option<&str>) -> bool {
    match code {
        Some(code) => {
            let bare = code.rsplit(['#', '.']).next().unwrap_or(code);
            ACCESS_DENIED_CODES.contains(&bare)
        }
        None => status == Some(403),
    }
}

/// A failed SDK call, reduced to what derivd needs.
#[derive(Debug, Clone)]
pub struct AwsFailure {
    pub class: ErrorClass,
    /// HTTP status, if a response came back.
    pub status: Option<u16>,
    /// Service error code (`NoSuchBucket`, `SlowDown`, ...), if the response had one.
    pub code: Option<String>,
    /// Service error message, if any.
    pub message: Option<String>,
    /// Human-readable description of the whole error chain (never contains bodies).
    pub detail: String,
}

impl AwsFailure {
    /// See [`is_access_denied`].
    pub fn is_access_denied(&self) -> bool {
        is_access_denied(self.status, self.code.as_deref())
    }
}

/// Classifies any aws-sdk error (S3, SQS, SNS share the `SdkError` type).
///
/// Requests that could not be built are Permanent; timeouts and dispatch (connect / IO)
/// failures are Transient unless the connector calls them user errors; responses that
/// could not be parsed are Transient when the status was a success (a truncated body),
/// else classified by status; service errors go through [`classify`].
pub fn sdk_failure<E>(err: &SdkError<E>) -> AwsFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_owned);
    let message = err.message().map(str::to_owned);
    let class = match err {
        SdkError::ConstructionFailure(_) => ErrorClass::Permanent,
        SdkError::TimeoutError(_) => ErrorClass::Transient,
        SdkError::DispatchFailure(d) if d.is_user() => ErrorClass::Permanent,
        SdkError::DispatchFailure(_) => ErrorClass::Transient,
        SdkError::ResponseError(_) if status.is_some_and(|s| s < 300) => ErrorClass::Transient,
        _ => classify(status, code.as_deref()),
    };
    let detail = match err {
        SdkError::ServiceError(_) => format!(
            "HTTP {} {}: {}",
            status.map_or_else(|| "?".to_owned(), |s| s.to_string()),
            code.as_deref().unwrap_or("(no code)"),
            message.as_deref().unwrap_or("(no message)"),
        ),
        _ => error_chain(err),
    };
    AwsFailure {
        class,
        status,
        code,
        message,
        detail,
    }
}

/// `outer: inner: innermost`, skipping sources already quoted by their parent. Unlike the
/// SDK's `DisplayErrorContext` this leaves out `Debug` dumps of raw responses.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let msg = e.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        next = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorClass::*;

    #[test]
    fn throttling_and_server_errors_are_transient() {
        assert_eq!(classify(Some(503), Some("SlowDown")), Transient);
        assert_eq!(classify(Some(500), Some("InternalError")), Transient);
        assert_eq!(classify(Some(502), None), Transient);
        assert_eq!(classify(Some(504), None), Transient);
        assert_eq!(classify(Some(429), None), Transient);
        assert_eq!(classify(Some(408), None), Transient);
        assert_eq!(classify(Some(400), Some("ThrottlingException")), Transient);
        assert_eq!(classify(Some(400), Some("RequestTimeout")), Transient);
        assert_eq!(classify(Some(403), Some("RequestTimeTooSkewed")), Transient);
        assert_eq!(classify(Some(403), Some("OverLimit")), Transient);
    }

    #[test]
    fn namespaced_codes_are_reduced() {
        assert_eq!(
            classify(Some(400), Some("AWS.SimpleQueueService.RequestThrottled")),
            Transient
        );
        assert_eq!(
            classify(Some(400), Some("com.amazonaws.sqs#ThrottlingException")),
            Transient
        );
        assert_eq!(
            classify(Some(400), Some("AWS.SimpleQueueService.NonExistentQueue")),
            Permanent
        );
    }

    #[test]
    fn client_errors_are_permanent() {
        assert_eq!(classify(Some(403), Some("AccessDenied")), Permanent);
        assert_eq!(classify(Some(404), Some("NoSuchBucket")), Permanent);
        assert_eq!(classify(Some(400), Some("InvalidArgument")), Permanent);
        assert_eq!(classify(Some(400), None), Permanent);
        assert_eq!(classify(Some(413), None), Permanent);
        assert_eq!(classify(Some(501), Some("NotImplemented")), Permanent);
        assert_eq!(classify(None, Some("InvalidParameterValue")), Permanent);
    }

    #[test]
    fn access_denied_is_told_apart_from_other_403s() {
        assert!(is_access_denied(Some(403), Some("AccessDenied")));
        assert!(is_access_denied(Some(403), Some("AuthorizationError")));
        assert!(is_access_denied(
            Some(400),
            Some("com.amazonaws.sqs#AccessDeniedException")
        ));
        assert!(is_access_denied(Some(403), None));
        assert!(!is_access_denied(Some(403), Some("RequestTimeTooSkewed")));
        assert!(!is_access_denied(Some(403), Some("InvalidAccessKeyId")));
        assert!(!is_access_denied(Some(404), Some("NoSuchBucket")));
        assert!(!is_access_denied(None, None));
    }

    #[test]
    fn retries_are_standard_mode_with_the_configured_attempts() {
        use aws_config::retry::RetryMode;
        let r = retry_config(4, Duration::from_millis(200));
        assert_eq!(r.mode(), RetryMode::Standard);
        assert_eq!(r.max_attempts(), 4);
        assert_eq!(r.initial_backoff(), Duration::from_millis(200));
        assert_eq!(r.max_backoff(), Duration::from_secs(20));
    }

    #[test]
    fn no_answer_is_transient() {
        assert_eq!(classify(None, None), Transient);
    }

    #[test]
    fn code_wins_over_status() {
        // 503 with an unknown code is still a server-side problem.
        assert_eq!(classify(Some(503), Some("Whatever")), Transient);
        // A throttling code on an odd status is still throttling.
        assert_eq!(classify(Some(400), Some("SlowDown")), Transient);
    }
}
