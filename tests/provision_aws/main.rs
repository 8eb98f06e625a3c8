//! `derivd setup` and `derivd check` against moto with the real SDK clients.
//!
//! Every test makes its own bucket, queue and topic names, so tests run in parallel on one
//! moto without resetting it. moto does not enforce policies, so what these tests show is
//! that the wiring is written (and read back) as derivd means it; that AWS accepts the same
//! documents is what the policy unit tests and deploy/README.md argue.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod cli;
mod rejects;
mod setup;

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use common::moto;
use derivd::config::{Backend, BucketMapping, Config};
use derivd::provision::{self, Clients, Line, Report, SetupOptions, Status};

const ACCOUNT: &str = "123456789012";

fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// A config naming fresh (not yet existing) queues and topics, and a fresh bucket.
async fn stack(name: &str) -> Config {
    let bucket = moto::new_bucket(name).await;
    let mut cfg = Config {
        backend: Backend::Aws,
        ..Config::default()
    };
    cfg.aws.endpoint_url = Some(moto::endpoint());
    cfg.aws.region = Some("us-east-1".into());
    cfg.storage.default_bucket = bucket.clone();
    cfg.storage.buckets = vec![BucketMapping {
        source: bucket,
        derived_bucket: None,
        prefix: "derived/".into(),
    }];
    cfg.queue.jobs = unique(&format!("{name}-jobs"));
    cfg.queue.repair = Some(unique(&format!("{name}-repair")));
    cfg.provision.loss_topic = unique(&format!("{name}-lost"));
    let notices = unique(&format!("{name}-notices"));
    cfg.notices.sns_topic_arn = Some(format!("arn:aws:sns:us-east-1:{ACCOUNT}:{notices}"));
    cfg
}

async fn clients() -> Clients {
    Clients::new(&moto::sdk_config().await)
}

async fn setup(cfg: &Config, job_events: bool) -> Report {
    let opts = SetupOptions { job_events };
    provision::setup(cfg, &clients().await, &opts).await
}

async fn check(cfg: &Config) -> Report {
    provision::check(cfg, &clients().await).await
}

/// The one line with this status whose text contains `needle`.
fn line<'a>(r: &'a Report, status: Status, needle: &str) -> &'a Line {
    let found: Vec<&Line> = r
        .with_status(status)
        .filter(|l| l.to_string().contains(needle))
        .collect();
    let text = r.to_text();
    assert_eq!(
        found.len(),
        1,
        "one {status:?} line with {needle:?} in:\n{text}"
    );
    found[0]
}

/// Exactly one line with this status for each needle.
fn lines_with(r: &Report, status: Status, needles: &[String]) {
    for needle in needles {
        line(r, status, needle);
    }
}

fn assert_none(r: &Report, status: Status) {
    assert_eq!(
        r.count(status),
        0,
        "no {status:?} lines expected in:\n{}",
        r.to_text()
    );
}

async fn queue_url(name: &str) -> String {
    let out = moto::sqs()
        .await
        .get_queue_url()
        .queue_name(name)
        .send()
        .await;
    out.unwrap().queue_url().unwrap().to_owned()
}

async fn set_queue_attribute(name: &str, attr: QueueAttributeName, value: &str) {
    let url = queue_url(name).await;
    let sqs = moto::sqs().await;
    let op = sqs
        .set_queue_attributes()
        .queue_url(url)
        .attributes(attr, value);
    op.send().await.unwrap();
}

async fn put_notifications(bucket: &str, config: NotificationConfiguration) {
    let s3 = moto::s3().await;
    let op = s3.put_bucket_notification_configuration().bucket(bucket);
    op.notification_configuration(config).send().await.unwrap();
}

/// Someone else's entry: uploads under `incoming/` go to their own queue. Its queue ARN.
async fn unrelated_notification(bucket: &str) -> String {
    let (_, arn) = moto::new_queue("unrelated-ingest", None).await;
    let prefix = FilterRule::builder()
        .name(FilterRuleName::Prefix)
        .value("incoming/");
    let key = S3KeyFilter::builder().filter_rules(prefix.build()).build();
    let filter = NotificationConfigurationFilter::builder().key(key).build();
    let entry = QueueConfiguration::builder()
        .id("unrelated-ingest")
        .queue_arn(&arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(filter)
        .build()
        .unwrap();
    let config = NotificationConfiguration::builder().queue_configurations(entry);
    put_notifications(bucket, config.build()).await;
    arn
}

/// Every notification entry's id and destination ARN, sorted.
async fn notification_entries(bucket: &str) -> Vec<(String, String)> {
    let s3 = moto::s3().await;
    let op = s3.get_bucket_notification_configuration().bucket(bucket);
    let out = op.send().await.unwrap();
    let topics = out
        .topic_configurations()
        .iter()
        .map(|t| (t.id(), t.topic_arn()));
    let queues = out
        .queue_configurations()
        .iter()
        .map(|q| (q.id(), q.queue_arn()));
    let mut all: Vec<(String, String)> = topics
        .chain(queues)
        .map(|(id, arn)| (id.unwrap_or_default().to_owned(), arn.to_owned()))
        .collect();
    all.sort();
    all
}
