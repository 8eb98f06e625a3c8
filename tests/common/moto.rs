//! Access to the moto server that `scripts/test.sh` starts, for tests of the AWS backends.
//!
//! Why: the S3/SQS/SNS code must be exercised against a real AWS-API server, and a test
//! that quietly skips when moto is absent would be counted as passing. So [`endpoint`]
//! panics when `AWS_ENDPOINT_URL` is unset. All tests share one moto, concurrently: every
//! helper creates uniquely named resources, and nothing here ever resets moto's state.

use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;

/// moto's endpoint, from `AWS_ENDPOINT_URL`. Panics if unset.
pub fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: these tests need moto. Run scripts/test.sh, which \
             starts moto and exports AWS_ENDPOINT_URL, test credentials and AWS_REGION."
        ),
    }
}

fn region() -> String {
    std::env::var("AWS_REGION")
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// SDK configuration pointing at moto, built by derivd's own loader.
pub async fn sdk_config() -> SdkConfig {
    derivd::aws::load_sdk_config(Some(&region()), Some(&endpoint())).await
}

/// SDK configuration pointing at `endpoint` (e.g. a fault proxy in front of moto) with at
/// most `max_attempts` attempts per call (1 = no SDK retries, for deterministic tests).
pub async fn sdk_config_via(endpoint: &str, max_attempts: u32) -> SdkConfig {
    let _ = self::endpoint(); // still insist on moto being there
    derivd::aws::load_sdk_config(Some(&region()), Some(endpoint))
        .await
        .to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
        .build()
}

pub async fn s3() -> aws_sdk_s3::Client {
    derivd::aws::s3_client(&sdk_config().await)
}

pub async fn sqs() -> aws_sdk_sqs::Client {
    derivd::aws::sqs_client(&sdk_config().await)
}

pub async fn sns() -> aws_sdk_sns::Client {
    derivd::aws::sns_client(&sdk_config().await)
}

/// `prefix` made safe for bucket and queue names, plus a random suffix.
fn unique_name(prefix: &str, max_len: usize) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let mut head: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    head.truncate(max_len - suffix.len() - 1);
    let head = head.trim_matches('-');
    if head.is_empty() {
        format!("t-{suffix}")
    } else {
        format!("{head}-{suffix}")
    }
}

/// Creates a bucket named after `prefix` (unique per call) and returns its name.
pub async fn new_bucket(prefix: &str) -> String {
    let name = unique_name(prefix, 63);
    s3().await
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
    name
}

/// The ARN of the queue at `url`.
pub async fn queue_arn(url: &str) -> String {
    let out = sqs()
        .await
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue ARN of {url}: {e:?}"));
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_else(|| panic!("no QueueArn for {url}"))
}

/// Creates a queue named after `prefix` (unique per call), optionally dead-lettering to
/// `dlq_arn` after `max_receives` receives. Returns (queue URL, queue ARN).
pub async fn new_queue(prefix: &str, redrive: Option<(&str, u32)>) -> (String, String) {
    let name = unique_name(prefix, 80);
    let mut op = sqs().await.create_queue().queue_name(&name);
    if let Some((dlq_arn, max_receives)) = redrive {
        let policy = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": max_receives.to_string(),
        });
        op = op.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let out = op
        .send()
        .await
        .unwrap_or_else(|e| panic!("create queue {name}: {e:?}"));
    let url = out
        .queue_url()
        .expect("CreateQueue returned no URL")
        .to_owned();
    let arn = queue_arn(&url).await;
    (url, arn)
}

/// An SNS topic with an SQS queue subscribed to it.
#[derive(Debug, Clone)]
pub struct TopicWithQueue {
    pub topic_arn: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub subscription_arn: String,
}

/// Creates a topic and a queue (both named after `prefix`, unique per call), lets the
/// topic send to the queue (queue policy; moto does not enforce it, AWS does), and
/// subscribes the queue. `raw` sets RawMessageDelivery (bare message instead of the SNS
/// JSON envelope).
pub async fn new_topic_with_queue_subscription(prefix: &str, raw: bool) -> TopicWithQueue {
    let sns = sns().await;
    let topic_name = unique_name(prefix, 256);
    let topic_arn = sns
        .create_topic()
        .name(&topic_name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create topic {topic_name}: {e:?}"))
        .topic_arn()
        .expect("CreateTopic returned no ARN")
        .to_owned();
    let (queue_url, queue_arn) = new_queue(prefix, None).await;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
        }],
    });
    sqs()
        .await
        .set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue policy for {queue_url}: {e:?}"));
    let mut sub = sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .return_subscription_arn(true);
    if raw {
        sub = sub.attributes("RawMessageDelivery", "true");
    }
    let subscription_arn = sub
        .send()
        .await
        .unwrap_or_else(|e| panic!("subscribe {queue_arn} to {topic_arn}: {e:?}"))
        .subscription_arn()
        .expect("Subscribe returned no ARN")
        .to_owned();
    TopicWithQueue {
        topic_arn,
        queue_url,
        queue_arn,
        subscription_arn,
    }
}
