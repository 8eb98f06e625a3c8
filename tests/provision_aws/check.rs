//! `check`: each broken link is caught with its own message; a denied read is "cannot verify".

use super::*;
use common::fault_proxy::{FaultProxy, Match};

/// Sets a stack up, breaks one link with `breaker`, and returns check's report, which must
/// hold exactly one ✗.
async fn broken(name: &str, breaker: impl AsyncFnOnce(&Config)) -> (Config, Report) {
    let cfg = stack(name).await;
    assert_none(&setup(&cfg, false).await, Status::Failed);
    breaker(&cfg).await;
    let report = check(&cfg).await;
    eprintln!("{name}:\n{}", report.to_text());
    assert_eq!(report.count(Status::Failed), 1, "{}", report.to_text());
    assert_eq!(report.exit_code(), 1);
    (cfg, report)
}

#[tokio::test]
async fn check_catches_a_missing_loss_notification() {
    let (cfg, report) = broken("prov-nonotif", async |cfg: &Config| {
        let empty = NotificationConfiguration::builder().build();
        put_notifications(&cfg.storage.default_bucket, empty).await;
    })
    .await;
    let needle = "no s3:ReducedRedundancyLostObject notification covers it";
    let l = line(&report, Status::Failed, needle);
    let subject = format!(
        "loss notification on bucket {} (derived/)",
        cfg.storage.default_bucket
    );
    assert_eq!(l.subject, subject);
    assert_eq!(l.fix.as_deref(), Some("run derivd setup"));
}

#[tokio::test]
async fn check_catches_a_missing_subscription() {
    let (cfg, report) = broken("prov-nosub", async |cfg: &Config| {
        let sns = moto::sns().await;
        let topic = format!(
            "arn:aws:sns:us-east-1:{ACCOUNT}:{}",
            cfg.provision.loss_topic
        );
        let op = sns.list_subscriptions_by_topic().topic_arn(&topic);
        for s in op.send().await.unwrap().subscriptions() {
            let arn = s.subscription_arn().unwrap();
            sns.unsubscribe()
                .subscription_arn(arn)
                .send()
                .await
                .unwrap();
        }
    })
    .await;
    let needle = "→ repair queue: none: losses reach the topic but not the repair queue";
    let l = line(&report, Status::Failed, needle);
    assert!(l.subject.contains(&cfg.provision.loss_topic), "{l}");
}

#[tokio::test]
async fn check_catches_a_missing_redrive_policy() {
    let (cfg, report) = broken("prov-noredrive", async |cfg: &Config| {
        set_queue_attribute(&cfg.queue.jobs, QueueAttributeName::RedrivePolicy, "").await;
    })
    .await;
    let l = line(&report, Status::Failed, "no redrive policy");
    assert_eq!(l.subject, format!("queue {}", cfg.queue.jobs));
    assert!(l.message.contains("received forever"), "{l}");
}

#[tokio::test]
async fn check_catches_a_short_visibility_timeout() {
    let (cfg, report) = broken("prov-shortvis", async |cfg: &Config| {
        set_queue_attribute(&cfg.queue.jobs, QueueAttributeName::VisibilityTimeout, "30").await;
    })
    .await;
    let needle = "visibility 30 s is not above the job time limit worker.job_timeout_secs = 60 s";
    let l = line(&report, Status::Failed, needle);
    assert_eq!(l.subject, format!("queue {}", cfg.queue.jobs));
}

#[tokio::test]
async fn check_also_catches_a_low_max_receive_count() {
    let (_, report) = broken("prov-lowcount", async |cfg: &Config| {
        let dlq = moto::queue_arn(&queue_url(&format!("{}-dlq", cfg.queue.jobs)).await).await;
        let policy = serde_json::json!({"deadLetterTargetArn": dlq, "maxReceiveCount": 2});
        let attr = QueueAttributeName::RedrivePolicy;
        set_queue_attribute(&cfg.queue.jobs, attr, &policy.to_string()).await;
    })
    .await;
    line(&report, Status::Failed, "after 2 receives, below 5");
}

#[tokio::test]
async fn a_denied_read_is_reported_as_cannot_verify() {
    let cfg = stack("prov-denied").await;
    assert_none(&setup(&cfg, false).await, Status::Failed);
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    let c = Clients::new(&moto::sdk_config_via(&proxy.url(), 1).await);
    proxy.deny_next(Match::method("GET").path("notification"), usize::MAX);
    let get_topic = Match::method("POST").action("GetTopicAttributes");
    proxy.deny_next(get_topic, usize::MAX);

    let report = provision::check(&cfg, &c).await;
    eprintln!("denied:\n{}", report.to_text());
    let l = line(&report, Status::Unknown, "loss notification on bucket");
    let s3 = "cannot verify (AccessDenied): s3:GetBucketNotification was denied";
    assert_eq!(l.message, s3);
    let l = line(&report, Status::Unknown, "notice topic");
    let sns = "cannot verify (AccessDenied): sns:GetTopicAttributes answered AuthorizationError";
    assert_eq!(l.message, sns);
    assert_eq!(
        l.fix.as_deref(),
        Some("grant the actions in deploy/iam-check-policy.json")
    );
    assert_none(&report, Status::Failed); // no guessing
    assert_eq!(report.exit_code(), 2);
    assert_eq!(proxy.faulted(), 2);
    // What was not denied was still verified.
    let visibility = format!(
        "queue {}: visibility 120 s > job time limit 60 s",
        cfg.queue.jobs
    );
    line(&report, Status::Ok, &visibility);
}
