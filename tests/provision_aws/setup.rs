//! `setup`: idempotent, keeps others' notifications, refuses to overlap them, job events.

use super::*;

/// Each resource once: two queues, two DLQs, two topics, two policy statements, a
/// subscription, a notification; the unrelated entry kept.
fn assert_first_run(first: &Report, cfg: &Config) {
    assert_none(first, Status::Failed);
    let (jobs, repair, lost) = (
        &cfg.queue.jobs,
        cfg.queue.repair.as_deref().unwrap(),
        &cfg.provision.loss_topic,
    );
    let bucket = &cfg.storage.default_bucket;
    let created = [
        format!("queue {jobs}: created (job queue; visibility 120 s; redrive → {jobs}-dlq"),
        format!("queue {jobs}-dlq: created"),
        format!("queue {repair}: created (repair queue;"),
        format!("queue {repair}-dlq: created"),
        format!("loss topic {lost}: created"),
        format!("loss topic {lost}: policy statement added"),
        format!("queue {repair}: policy statement added: lets the loss topic send"),
        format!(
            "created ({})",
            cfg.notices.sns_topic_arn.as_deref().unwrap()
        ),
        "subscription loss topic → repair queue: created".to_owned(),
        format!("notification derivd-lost-objects:derived/ on bucket {bucket}: created"),
    ];
    lines_with(first, Status::Created, &created);
    assert_eq!(
        first.count(Status::Created),
        created.len(),
        "{}",
        first.to_text()
    );
    line(first, Status::Ok, "kept entry unrelated-ingest");
}

fn assert_all_verified(report: &Report, cfg: &Config) {
    assert_eq!(report.exit_code(), 0, "{}", report.to_text());
    let (jobs, repair, bucket) = (
        &cfg.queue.jobs,
        cfg.queue.repair.as_deref().unwrap(),
        &cfg.storage.default_bucket,
    );
    let notices = cfg
        .notices
        .sns_topic_arn
        .as_deref()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap();
    let verified = [
        format!("bucket {bucket}: reachable"),
        format!("queue {jobs}: visibility 120 s > job time limit 60 s"),
        format!("queue {jobs}: redrive → {jobs}-dlq after 5 receives"),
        format!("loss notification on bucket {bucket} (derived/): derivd-lost-objects:derived/"),
        format!("its policy lets S3 publish for bucket {bucket}"),
        "→ repair queue: arn:".to_owned(),
        format!("queue {repair}: policy lets arn:aws:sns:"),
        format!("notice topic {notices}: exists"),
    ];
    lines_with(report, Status::Ok, &verified);
}

#[tokio::test]
async fn setup_twice_changes_nothing_then_check_passes() {
    let cfg = stack("prov-idem").await;
    let bucket = cfg.storage.default_bucket.clone();
    let their_queue = unrelated_notification(&bucket).await;

    let first = setup(&cfg, false).await;
    eprintln!("first setup:\n{}", first.to_text());
    assert_first_run(&first, &cfg);
    // The chain carries: S3's s3:TestEvent went bucket → loss topic → repair queue (raw).
    let test_event = |b: &String| b.contains("s3:TestEvent") && b.contains(&bucket);
    let bodies = received_bodies(cfg.queue.repair.as_deref().unwrap()).await;
    assert_eq!(
        bodies.iter().filter(|b| test_event(b)).count(),
        1,
        "{bodies:?}"
    );

    let second = setup(&cfg, false).await;
    eprintln!("second setup:\n{}", second.to_text());
    for status in [
        Status::Created,
        Status::Updated,
        Status::Failed,
        Status::Warn,
    ] {
        assert_none(&second, status);
    }
    assert_eq!(
        second.lines.len(),
        first.lines.len(),
        "one line per item both times"
    );
    let bodies = received_bodies(cfg.queue.repair.as_deref().unwrap()).await;
    assert!(
        !bodies.iter().any(test_event),
        "notifications rewritten: {bodies:?}"
    );
    let loss_topic = format!(
        "arn:aws:sns:us-east-1:{ACCOUNT}:{}",
        cfg.provision.loss_topic
    );
    let entries = vec![
        ("derivd-lost-objects:derived/".to_owned(), loss_topic),
        ("unrelated-ingest".to_owned(), their_queue),
    ];
    assert_eq!(
        notification_entries(&bucket).await,
        entries,
        "theirs kept, unchanged"
    );

    let report = check(&cfg).await;
    eprintln!("check:\n{}", report.to_text());
    assert_all_verified(&report, &cfg);
}

/// Every message waiting in the queue (moto delivers S3 and SNS messages before the call
/// that sends them returns, so the first empty receive ends it).
async fn received_bodies(queue: &str) -> Vec<String> {
    let (url, sqs) = (queue_url(queue).await, moto::sqs().await);
    let mut bodies = Vec::new();
    for _ in 0..10 {
        let op = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10);
        let out = op.wait_time_seconds(1).send().await.unwrap();
        if out.messages().is_empty() {
            break;
        }
        let got = out
            .messages()
            .iter()
            .filter_map(|m| m.body().map(str::to_owned));
        bodies.extend(got);
    }
    bodies
}

#[tokio::test]
async fn job_events_send_uploads_to_the_job_queue() {
    let cfg = stack("prov-events").await;
    let bucket = cfg.storage.default_bucket.clone();
    let report = setup(&cfg, true).await;
    assert_none(&report, Status::Failed);
    let created = [
        "notification derivd-job-events:uploads/".to_owned(),
        "policy statement added: lets S3 send the source buckets' upload events".to_owned(),
    ];
    lines_with(&report, Status::Created, &created);

    // moto really delivers: an upload under uploads/ reaches the job queue.
    let body = aws_sdk_s3::primitives::ByteStream::from_static(b"jpeg");
    let s3 = moto::s3().await;
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key("uploads/cat.jpg")
        .body(body);
    put.send().await.unwrap();
    let bodies = received_bodies(&cfg.queue.jobs).await;
    let upload = |b: &String| b.contains("ObjectCreated") && b.contains("cat.jpg");
    assert!(bodies.iter().any(upload), "{bodies:?}");

    let report = check(&cfg).await;
    assert_eq!(report.exit_code(), 0, "{}", report.to_text());
    let wired = format!("job events on bucket {bucket}: derivd-job-events:uploads/");
    line(&report, Status::Ok, &wired);
}

#[tokio::test]
async fn setup_refuses_to_overlap_someone_elses_notification() {
    let cfg = stack("prov-overlap").await;
    let bucket = cfg.storage.default_bucket.clone();
    // Their loss reports, for every key, go to their own topic.
    let theirs = moto::new_topic_with_queue_subscription("theirs", true).await;
    let entry = aws_sdk_s3::types::TopicConfiguration::builder()
        .id("their-losses")
        .topic_arn(&theirs.topic_arn)
        .events(Event::from("s3:ReducedRedundancyLostObject"))
        .build()
        .unwrap();
    let config = NotificationConfiguration::builder().topic_configurations(entry);
    put_notifications(&bucket, config.build()).await;

    let report = setup(&cfg, false).await;
    let refused = line(&report, Status::Failed, "overlaps entry their-losses");
    let fix = refused.fix.as_deref().unwrap_or_default();
    assert!(fix.contains("remove or narrow that entry"), "{refused}");
    assert_eq!(report.count(Status::Failed), 1, "{}", report.to_text());
    let entries = vec![("their-losses".to_owned(), theirs.topic_arn.clone())];
    assert_eq!(notification_entries(&bucket).await, entries);
    // check follows the live chain: their topic does not lead to derivd's repair queue.
    let report = check(&cfg).await;
    let missing = format!("subscription {} → repair queue: none", theirs.topic_arn);
    line(&report, Status::Failed, &missing);
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test]
async fn setup_brings_an_existing_queue_back_to_the_config() {
    let cfg = stack("prov-update").await;
    assert_none(&setup(&cfg, false).await, Status::Failed);
    let jobs = &cfg.queue.jobs;
    set_queue_attribute(jobs, QueueAttributeName::VisibilityTimeout, "30").await;
    set_queue_attribute(jobs, QueueAttributeName::RedrivePolicy, "").await;
    assert_eq!(check(&cfg).await.count(Status::Failed), 2);

    let report = setup(&cfg, false).await;
    eprintln!("{}", report.to_text());
    let updated = format!("queue {jobs}: updated: redrive policy added, visibility 30 s → 120 s");
    line(&report, Status::Updated, &updated);
    assert_eq!(report.count(Status::Updated), 1, "{}", report.to_text());
    assert_none(&report, Status::Created); // its DLQ was still there
    line(&report, Status::Ok, &format!("queue {jobs}-dlq: exists"));
    assert_eq!(check(&cfg).await.exit_code(), 0);
}
