//! The rejects queue (`queue.rejects`): `setup` creates it (a holding queue: 14-day
//! retention, no redrive), `check` verifies it, and says so when it is unset.

use super::*;

#[tokio::test]
async fn setup_creates_the_rejects_queue_and_check_verifies_it() {
    let mut cfg = stack("prov-rejects").await;
    let rejects = unique("prov-rejects-kept");
    cfg.queue.rejects = Some(rejects.clone());

    let first = setup(&cfg, false).await;
    assert_none(&first, Status::Failed);
    line(
        &first,
        Status::Created,
        &format!("queue {rejects}: created (rejects queue"),
    );
    let url = queue_url(&rejects).await;
    let attrs = moto::sqs()
        .await
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let retention = attrs.get(&QueueAttributeName::MessageRetentionPeriod);
    assert_eq!(retention.map(String::as_str), Some("1209600"));
    assert!(!attrs.contains_key(&QueueAttributeName::RedrivePolicy));

    let again = setup(&cfg, false).await;
    line(
        &again,
        Status::Ok,
        &format!("queue {rejects}: exists (rejects queue"),
    );
    let verified = check(&cfg).await;
    line(
        &verified,
        Status::Ok,
        &format!("queue {rejects}: exists (rejects queue)"),
    );

    let sqs = moto::sqs().await;
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let broken = check(&cfg).await;
    let missing = line(
        &broken,
        Status::Failed,
        &format!("queue {rejects}: does not exist"),
    );
    assert!(missing.fix.as_deref().is_some_and(|f| f.contains("setup")));
    assert_ne!(broken.exit_code(), 0);
}

#[tokio::test]
async fn without_queue_rejects_setup_and_check_say_malformed_messages_are_not_kept() {
    let cfg = stack("prov-no-rejects").await;
    assert!(cfg.queue.rejects.is_none());
    for report in [setup(&cfg, false).await, check(&cfg).await] {
        line(&report, Status::Skipped, "queue.rejects is unset");
    }
}
