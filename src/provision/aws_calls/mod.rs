//! The SDK calls `setup` and `check` make, reduced to this module's types and
//! [`ProvisionError`]. "Not there" is a value (`Ok(None)` / `Ok(false)`), never an error;
//! a denied call is [`ProvisionError::AccessDenied`] so `check` can say "cannot verify".

mod s3;
mod sns;
mod sqs;

pub use s3::{bucket_exists, notifications, put_notifications};
pub use sns::{
    create_topic, raw_delivery, set_topic_policy, subscribe_queue, subscriptions, topic_attributes,
    Subscription,
};
pub use sqs::{
    create_queue, find_queue, queue_arn, queue_state, queue_url, set_queue_attributes, QueueState,
    Redrive,
};

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

use super::ProvisionError;
use crate::aws::sdk_failure;

pub(super) fn fail<E>(op: &'static str, resource: &str, err: &SdkError<E>) -> ProvisionError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let f = sdk_failure(err);
    if f.is_access_denied() {
        let code = f.code.unwrap_or_else(|| "AccessDenied".into());
        return ProvisionError::AccessDenied {
            op,
            resource: resource.to_owned(),
            code,
        };
    }
    ProvisionError::Aws {
        op,
        resource: resource.to_owned(),
        class: f.class,
        detail: f.detail,
    }
}

/// The answer says the queue, topic or bucket does not exist.
pub(super) fn is_missing<E>(err: &SdkError<E>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    const MISSING: &[&str] = &[
        "NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",
        "NotFoundException",
        "NoSuchBucket",
    ];
    let code = err.code().unwrap_or_default();
    let bare = code.rsplit(['#', '.']).next().unwrap_or(code);
    MISSING.contains(&bare)
        || (err.code().is_none()
            && err
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 404))
}

pub(super) fn unexpected(what: impl Into<String>, detail: impl Into<String>) -> ProvisionError {
    ProvisionError::Unexpected {
        what: what.into(),
        detail: detail.into(),
    }
}
