//! [`Queue`] on Amazon SQS (or moto) via aws-sdk-sqs.
//!
//! Why it looks the way it does: derivd's job loop relies on SQS's at-least-once model —
//! visibility timeouts as leases, `ApproximateReceiveCount` to spot poison messages, a
//! redrive policy to dead-letter them — and on knowing which failures to retry. Receipts
//! that went stale (the lease ran out and someone else got the message, or it was
//! deleted) surface as [`QueueError::InvalidReceipt`] so the caller can drop its work
//! instead of retrying; everything else is classified by [`crate::aws::classify`].

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;

use super::{Queue, QueueError, ReceivedMessage};
use crate::aws::{sdk_failure, ErrorClass};

/// Longest visibility timeout SQS accepts (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;
/// Longest long-poll SQS accepts.
const MAX_WAIT_SECS: f64 = 20.0;

/// SQS-backed queue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// Resolves `name` to its URL with GetQueueUrl (a missing queue is `Permanent`).
    pub async fn from_name(client: Client, name: &str) -> Result<Self, QueueError> {
        let out = client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| queue_error("GetQueueUrl", name, &e))?;
        let url = out
            .queue_url()
            .ok_or_else(|| QueueError::Permanent(format!("GetQueueUrl {name}: no URL")))?;
        Ok(Self::new(client, url.to_owned()))
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

fn queue_error<E>(op: &str, queue: &str, err: &SdkError<E>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let f = sdk_failure(err);
    let what = format!("SQS {op} {queue}: {}", f.detail);
    match f.class {
        ErrorClass::Transient => {
            tracing::debug!(op, queue, status = ?f.status, code = ?f.code, "transient SQS error");
            QueueError::Transient(what)
        }
        ErrorClass::Permanent => QueueError::Permanent(what),
    }
}

/// Does this error from DeleteMessage / ChangeMessageVisibility say the receipt is stale?
/// SQS answers ReceiptHandleIsInvalid, MessageNotInflight (the lease already ran out), or
/// InvalidParameterValue naming the ReceiptHandle.
fn is_stale_receipt(code: Option<&str>, message: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    let bare = code.rsplit(['#', '.']).next().unwrap_or(code);
    match bare {
        "ReceiptHandleIsInvalid" | "MessageNotInflight" | "InvalidIdFormat" => true,
        "InvalidParameterValue" => {
            message.is_some_and(|m| m.to_ascii_lowercase().contains("receipthandle"))
        }
        _ => false,
    }
}

fn receipt_error<E>(op: &str, queue: &str, err: &SdkError<E>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if is_stale_receipt(err.code(), err.message()) {
        QueueError::InvalidReceipt
    } else {
        queue_error(op, queue, err)
    }
}

/// Long-poll wait in whole seconds, rounded, 0..=20.
fn wait_secs(wait: Duration) -> i32 {
    wait.as_secs_f64().round().clamp(0.0, MAX_WAIT_SECS) as i32
}

/// Visibility timeout in whole seconds, rounded up so a lease is never shorter than asked.
fn visibility_secs(visibility: Duration) -> i32 {
    let secs = visibility.as_secs() + u64::from(visibility.subsec_nanos() > 0);
    secs.min(MAX_VISIBILITY_SECS) as i32
}

#[async_trait]
impl Queue for SqsQueue {
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        super::check_receive_max(max)?;
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max as i32)
            .wait_time_seconds(wait_secs(wait))
            .visibility_timeout(visibility_secs(visibility))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| queue_error("ReceiveMessage", &self.queue_url, &e))?;
        let messages = out
            .messages()
            .iter()
            .filter_map(|m| {
                let receipt = m.receipt_handle()?.to_owned();
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(ReceivedMessage {
                    id: m.message_id().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receipt,
                    receive_count,
                })
            })
            .collect();
        Ok(messages)
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| receipt_error("DeleteMessage", &self.queue_url, &e))
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(visibility_secs(timeout))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| receipt_error("ChangeMessageVisibility", &self.queue_url, &e))
    }

    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let out = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| queue_error("SendMessage", &self.queue_url, &e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }

    async fn check(&self) -> Result<(), QueueError> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| queue_error("GetQueueAttributes", &self.queue_url, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_is_rounded_and_clamped() {
        assert_eq!(wait_secs(Duration::ZERO), 0);
        assert_eq!(wait_secs(Duration::from_millis(400)), 0);
        assert_eq!(wait_secs(Duration::from_millis(1500)), 2);
        assert_eq!(wait_secs(Duration::from_secs(20)), 20);
        assert_eq!(wait_secs(Duration::from_secs(90)), 20);
    }

    #[test]
    fn visibility_is_rounded_up_and_clamped() {
        assert_eq!(visibility_secs(Duration::ZERO), 0);
        assert_eq!(visibility_secs(Duration::from_millis(1)), 1);
        assert_eq!(visibility_secs(Duration::from_millis(1001)), 2);
        assert_eq!(visibility_secs(Duration::from_secs(30)), 30);
        assert_eq!(visibility_secs(Duration::from_secs(100_000)), 43_200);
    }

    #[test]
    fn stale_receipts_are_recognised() {
        assert!(is_stale_receipt(Some("ReceiptHandleIsInvalid"), None));
        assert!(is_stale_receipt(
            Some("AWS.SimpleQueueService.MessageNotInflight"),
            None
        ));
        assert!(is_stale_receipt(
            Some("InvalidParameterValue"),
            Some(
                "Value abc for parameter ReceiptHandle is invalid. Reason: Message does not exist."
            )
        ));
        assert!(!is_stale_receipt(
            Some("InvalidParameterValue"),
            Some("Value 99999 for parameter VisibilityTimeout is invalid.")
        ));
        assert!(!is_stale_receipt(Some("AccessDenied"), None));
        assert!(!is_stale_receipt(None, None));
    }
}
