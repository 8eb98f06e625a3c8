//! moto access for the multi-process tests, built with the AWS SDK alone (no derivd code,
//! unlike [`super::moto`]), so those tests depend on nothing inside the crate: buckets,
//! queues with a dead-letter queue, and queue depths.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::types::QueueAttributeName;

/// moto's endpoint, from `AWS_ENDPOINT_URL` (set by `scripts/test.sh`); panics if unset,
/// so a test without moto fails instead of skipping.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .expect("AWS_ENDPOINT_URL is not set: run this through scripts/test.sh (it starts moto)")
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .load()
        .await
}

pub async fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&sdk().await)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk().await)
}

pub async fn sns() -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&sdk().await)
}

/// A new SNS topic's ARN.
pub async fn new_topic(sns: &aws_sdk_sns::Client, prefix: &str) -> String {
    let out = sns.create_topic().name(unique(prefix)).send().await;
    out.expect("create topic")
        .topic_arn()
        .expect("topic ARN")
        .to_owned()
}

/// A queue without a redrive policy; its URL.
pub async fn new_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> String {
    create_queue(sqs, &unique(prefix), None).await
}

/// Receives (and deletes) every message in the queue until two receives in a row come back
/// empty; the bodies.
pub async fn take_all(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let op = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10);
        let out = op.wait_time_seconds(1).send().await.expect("receive");
        empty = if out.messages().is_empty() {
            empty + 1
        } else {
            0
        };
        for m in out.messages() {
            bodies.push(m.body().unwrap_or_default().to_owned());
            let receipt = m.receipt_handle().unwrap_or_default();
            let del = sqs.delete_message().queue_url(url).receipt_handle(receipt);
            del.send().await.expect("delete");
        }
    }
    bodies
}

/// A unique name: `prefix-<32 hex>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub async fn new_bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let name = unique(prefix);
    s3.create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("create bucket");
    name
}

/// A job queue whose messages move to a dead-letter queue after `max_receives` receives.
pub struct QueuePair {
    pub url: String,
    pub dlq_url: String,
}

pub async fn new_queue_with_dlq(
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
    max_receives: u32,
) -> QueuePair {
    let dlq_url = create_queue(sqs, &unique(&format!("{prefix}-dlq")), None).await;
    let dlq_arn = attribute(sqs, &dlq_url, QueueAttributeName::QueueArn).await;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()});
    let url = create_queue(sqs, &unique(prefix), Some(redrive.to_string())).await;
    QueuePair { url, dlq_url }
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str, redrive: Option<String>) -> String {
    let mut op = sqs.create_queue().queue_name(name);
    if let Some(policy) = redrive {
        op = op.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    op.send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue URL")
        .to_owned()
}

async fn attribute(sqs: &aws_sdk_sqs::Client, url: &str, name: QueueAttributeName) -> String {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("get queue attributes");
    out.attributes()
        .and_then(|a| a.get(&name))
        .cloned()
        .expect("attribute present")
}

/// Messages in the queue: visible + in flight + delayed (what KEDA's scaler counts, plus
/// delayed ones, so "0" means nothing is left to do).
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let names = [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ];
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
        .expect("get queue attributes");
    let attrs = out.attributes().cloned().unwrap_or_default();
    names
        .iter()
        .map(|n| {
            attrs
                .get(n)
                .map_or(0, |v| v.parse::<u64>().expect("a count"))
        })
        .sum()
}

/// Sends `bodies` in batches of ten (SQS's largest), in order.
pub async fn send_all(sqs: &aws_sdk_sqs::Client, url: &str, bodies: &[String]) {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    for (b, chunk) in bodies.chunks(10).enumerate() {
        let entries = chunk.iter().enumerate().map(|(i, body)| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("m{b}-{i}"))
                .message_body(body)
                .build()
                .expect("entry")
        });
        let out = sqs
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .expect("send batch");
        assert!(
            out.failed().is_empty(),
            "batch send failed: {:?}",
            out.failed()
        );
    }
}
