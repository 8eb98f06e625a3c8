//! Unit tests of the pure parts: the notification merge and overlap rule, policy merging and
//! evaluation, the plan, and the report.

use serde_json::json;

use super::aws_calls::Redrive;
use super::plan::{queue_name, Arn, Plan};
use super::policy::{self, allows, glob, merge_statement, Merged};
use super::wiring::{self, merge, Destination, Entry, Notifications, Outcome};
use super::{Report, Status};
use crate::config::{BucketMapping, Config};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:derivd-lost-objects";
const JOBS: &str = "arn:aws:sqs:us-east-1:123456789012:derivd-jobs";

fn foreign(id: &str, dest: Destination, events: &[&str], prefix: &str, suffix: &str) -> Entry {
    Entry {
        id: Some(id.into()),
        destination: dest,
        events: events.iter().map(|e| e.to_string()).collect(),
        prefix: prefix.into(),
        suffix: suffix.into(),
    }
}

fn config(n: Vec<Entry>) -> Notifications {
    Notifications {
        entries: n,
        event_bridge: false,
    }
}

#[test]
fn merge_adds_ours_and_keeps_everyone_elses() {
    let other = foreign(
        "thumbnails-lambda",
        Destination::Lambda("arn:aws:lambda:us-east-1:1:function:f".into()),
        &["s3:ObjectCreated:*"],
        "photos/",
        ".png",
    );
    let current = Notifications {
        entries: vec![other.clone()],
        event_bridge: true,
    };
    let ours = wiring::loss_entry(TOPIC, "derived/");
    let m = merge(&current, std::slice::from_ref(&ours));
    assert!(m.changed);
    assert_eq!(m.outcomes, vec![(ours.clone(), Outcome::Added)]);
    assert_eq!(m.kept, vec![other.clone()]);
    assert_eq!(m.result.entries, vec![other, ours.clone()]);
    assert!(m.result.event_bridge, "EventBridge delivery is kept");

    // Idempotent: merging again changes nothing.
    let again = merge(&m.result, std::slice::from_ref(&ours));
    assert!(!again.changed);
    assert_eq!(again.outcomes, vec![(ours, Outcome::AlreadyThere)]);
    assert_eq!(again.result, m.result);
}

#[test]
fn merge_replaces_only_its_own_stale_entries() {
    let old = wiring::loss_entry("arn:aws:sns:us-east-1:123456789012:old-topic", "derived/");
    let mut events_reordered = wiring::job_events_entry(JOBS, "uploads/");
    events_reordered.events.reverse();
    let current = config(vec![old.clone(), events_reordered.clone()]);
    let ours = wiring::loss_entry(TOPIC, "derived/");
    let jobs = wiring::job_events_entry(JOBS, "uploads/");
    let m = merge(&current, &[ours.clone(), jobs.clone()]);
    assert_eq!(m.outcomes[0], (ours.clone(), Outcome::Replaced(vec![old])));
    assert_eq!(
        m.outcomes[1],
        (jobs, Outcome::AlreadyThere),
        "event order does not matter"
    );
    assert_eq!(m.result.entries, vec![events_reordered, ours]);
    assert!(m.kept.is_empty());
}

#[test]
fn merge_refuses_to_overlap_someone_elses_entry() {
    // Every key, every ObjectCreated event: overlaps derivd's upload events.
    let theirs = foreign(
        "ingest",
        Destination::Queue("arn:aws:sqs:us-east-1:1:ingest".into()),
        &["s3:ObjectCreated:Put"],
        "",
        "",
    );
    let current = config(vec![theirs.clone()]);
    let jobs = wiring::job_events_entry(JOBS, "uploads/");
    let loss = wiring::loss_entry(TOPIC, "derived/");
    let m = merge(&current, &[jobs.clone(), loss.clone()]);
    assert_eq!(m.outcomes[0], (jobs, Outcome::Conflict(theirs.clone())));
    assert_eq!(
        m.outcomes[1],
        (loss.clone(), Outcome::Added),
        "other entries still go in"
    );
    assert_eq!(m.result.entries, vec![theirs, loss]);
}

#[test]
fn someone_elses_equivalent_entry_is_enough() {
    // A CloudFormation stack's entry: no derivd id, same topic, a wider prefix.
    let theirs = foreign(
        "cfn-generated",
        Destination::Topic(TOPIC.into()),
        &["s3:ReducedRedundancyLostObject"],
        "",
        "",
    );
    let current = config(vec![theirs]);
    let ours = wiring::loss_entry(TOPIC, "derived/");
    let m = merge(&current, std::slice::from_ref(&ours));
    assert!(!m.changed);
    assert_eq!(
        m.outcomes,
        vec![(ours, Outcome::CoveredBy("cfn-generated".into()))]
    );
}

#[test]
fn overlap_follows_s3s_rule() {
    let q = || Destination::Queue(JOBS.into());
    let e = |events: &[&str], p: &str, s: &str| foreign("x", q(), events, p, s);
    let created = |p: &str, s: &str| e(&["s3:ObjectCreated:*"], p, s);
    assert!(created("a/", "").overlaps(&created("a/b/", "")));
    assert!(created("", "").overlaps(&created("a/", ".jpg")));
    assert!(!created("a/", "").overlaps(&created("b/", "")));
    assert!(!created("a/", ".jpg").overlaps(&created("a/", ".png")));
    assert!(created("a/", ".jpg").overlaps(&created("a/", "x.jpg")));
    // Events: wildcards cover their family, families do not mix; "s3:" is optional.
    assert!(e(&["ObjectCreated:Put"], "", "").overlaps(&created("", "")));
    assert!(!e(&["s3:ObjectRemoved:*"], "", "").overlaps(&created("", "")));
    let loss = e(&["s3:ReducedRedundancyLostObject"], "", "");
    assert!(!loss.overlaps(&created("", "")));
    assert!(loss.delivers(wiring::LOST_OBJECT_EVENT, "derived/"));
    assert!(!e(&["s3:ReducedRedundancyLostObject"], "derived/x/", "")
        .delivers(wiring::LOST_OBJECT_EVENT, "derived/"));
    assert!(!e(&["s3:ReducedRedundancyLostObject"], "", ".jpg")
        .delivers(wiring::LOST_OBJECT_EVENT, "derived/"));
}

#[test]
fn entries_describe_themselves() {
    let e = wiring::loss_entry(TOPIC, "derived/");
    assert_eq!(e.id.as_deref(), Some("derivd-lost-objects:derived/"));
    assert!(e.is_own());
    assert_eq!(
        e.describe(),
        format!("s3:ReducedRedundancyLostObject under derived/ → topic {TOPIC}")
    );
    assert_eq!(
        wiring::loss_entry(TOPIC, "").id.as_deref(),
        Some("derivd-lost-objects")
    );
}

#[test]
fn policy_merge_keeps_other_statements_and_is_idempotent() {
    let default = json!({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [
        {"Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["SNS:Publish"], "Resource": TOPIC,
         "Condition": {"StringEquals": {"AWS:SourceOwner": "123456789012"}}}]})
    .to_string();
    let buckets = vec!["arn:aws:s3:::photos".to_owned()];
    let stmt = policy::s3_publish_statement(TOPIC, &buckets, "123456789012");
    let Ok(Merged::Added(doc)) = merge_statement(Some(&default), stmt.clone()) else {
        panic!("not added")
    };
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(v["Statement"].as_array().unwrap().len(), 2);
    assert_eq!(v["Id"], "__default_policy_ID");
    assert_eq!(merge_statement(Some(&doc), stmt), Ok(Merged::Unchanged));
    // AWS may write one-element lists back as strings: still unchanged.
    let mut scalar = v.clone();
    scalar["Statement"][1]["Condition"]["ArnLike"]["aws:SourceArn"] =
        json!(["arn:aws:s3:::photos"]);
    let stmt = policy::s3_publish_statement(TOPIC, &buckets, "123456789012");
    assert_eq!(
        merge_statement(Some(&scalar.to_string()), stmt),
        Ok(Merged::Unchanged)
    );
    // Another bucket: our statement is replaced, the default one stays.
    let two = vec![
        "arn:aws:s3:::photos".to_owned(),
        "arn:aws:s3:::more".to_owned(),
    ];
    let stmt = policy::s3_publish_statement(TOPIC, &two, "123456789012");
    let Ok(Merged::Replaced(doc)) = merge_statement(Some(&doc), stmt) else {
        panic!("not replaced")
    };
    assert!(doc.contains("__default_statement_ID") && doc.contains("arn:aws:s3:::more"));
    assert!(merge_statement(Some("not json"), json!({})).is_err());
    assert!(matches!(
        merge_statement(None, json!({"Sid": "a"})),
        Ok(Merged::Added(_))
    ));
}

#[test]
fn policies_are_judged_conservatively() {
    let queue = "arn:aws:sqs:us-east-1:123456789012:repair";
    let ours = json!({"Statement": [policy::sns_send_statement(queue, TOPIC)]}).to_string();
    let yes = |p: &str, source: &str| {
        allows(
            Some(p),
            "sns.amazonaws.com",
            "sqs:SendMessage",
            queue,
            source,
        )
    };
    assert!(yes(&ours, TOPIC));
    assert!(!yes(&ours, "arn:aws:sns:us-east-1:123456789012:other"));
    assert!(!allows(
        Some(&ours),
        "s3.amazonaws.com",
        "sqs:SendMessage",
        queue,
        TOPIC
    ));
    assert!(!allows(
        None,
        "sns.amazonaws.com",
        "sqs:SendMessage",
        queue,
        TOPIC
    ));
    // Wildcards in action and source; a Deny without conditions wins.
    let wide = json!({"Statement": {
        "Effect": "Allow", "Principal": "*", "Action": "SQS:*", "Resource": queue,
        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}}}});
    assert!(yes(&wide.to_string(), TOPIC));
    let mut denied = wide.clone();
    denied["Statement"] =
        json!([wide["Statement"], {"Effect": "Deny", "Principal": "*", "Action": "*"}]);
    assert!(!yes(&denied.to_string(), TOPIC));
    // A Deny on insecure transport does not stop a service; an Allow on a condition
    // derivd cannot judge does not count.
    let tls = json!({"Statement": [policy::sns_send_statement(queue, TOPIC),
        {"Effect": "Deny", "Principal": "*", "Action": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    assert!(yes(&tls.to_string(), TOPIC));
    let vague = json!({"Statement": {
        "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}});
    assert!(!yes(&vague.to_string(), TOPIC));
}

#[test]
fn glob_matches_like_iam() {
    assert!(glob("arn:aws:s3:::*", "arn:aws:s3:::photos"));
    assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
    assert!(glob("*", "") && glob("**x", "x") && !glob("x*", "yx"));
}

#[test]
fn redrive_policies_parse_in_both_spellings() {
    let a =
        Redrive::parse(r#"{"deadLetterTargetArn":"arn:aws:sqs:r:1:q-dlq","maxReceiveCount":"5"}"#);
    let b =
        Redrive::parse(r#"{"deadLetterTargetArn":"arn:aws:sqs:r:1:q-dlq","maxReceiveCount":5}"#);
    assert_eq!(a, b);
    assert_eq!(a.clone().unwrap().max_receives, 5);
    assert_eq!(Redrive::parse(&a.unwrap().to_json()), b);
    assert_eq!(Redrive::parse(r#"{"maxReceiveCount":5}"#), None);
}

#[test]
fn plan_names_queues_topics_and_places() {
    let mut cfg = Config::default();
    cfg.queue.jobs = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs".into();
    cfg.queue.repair = Some("repair".into());
    cfg.notices.sns_topic_arn = Some("arn:aws:sns:eu-west-1:123456789012:notices".into());
    cfg.storage.default_bucket = "photos".into();
    cfg.storage.buckets = vec![
        BucketMapping {
            source: "photos".into(),
            derived_bucket: None,
            prefix: "derived/".into(),
        },
        BucketMapping {
            source: "scans".into(),
            derived_bucket: Some("photos".into()),
            prefix: "scans-derived/".into(),
        },
    ];
    let plan = Plan::new(&cfg);
    assert_eq!(plan.jobs.name, "jobs");
    assert_eq!(plan.jobs.dlq, "jobs-dlq");
    assert_eq!(plan.jobs.url.as_deref(), Some(cfg.queue.jobs.as_str()));
    assert_eq!(plan.repair.as_ref().unwrap().retention_secs, Some(604_800));
    assert_eq!(plan.buckets, vec!["photos", "scans"]);
    assert_eq!(
        plan.derived.iter().filter(|p| p.bucket == "photos").count(),
        2
    );
    assert_eq!(plan.notice_topic.clone().unwrap().unwrap().name, "notices");
    assert!(plan.preconditions().is_empty());
    assert_eq!(queue_name("q"), ("q".into(), None));

    cfg.queue.visibility_timeout_secs = 60;
    cfg.queue.max_receives = 3;
    cfg.notices.sns_topic_arn = Some("notices".into());
    let failed: Vec<String> = Plan::new(&cfg)
        .preconditions()
        .iter()
        .map(|l| l.subject.clone())
        .collect();
    assert_eq!(
        failed,
        [
            "queue.visibility_timeout_secs",
            "queue.max_receives",
            "notices.sns_topic_arn"
        ]
    );
}

#[test]
fn arns_parse_and_make_siblings() {
    let a = Arn::parse(JOBS).unwrap();
    assert_eq!(
        (a.account.as_str(), a.resource.as_str()),
        ("123456789012", "derivd-jobs")
    );
    assert_eq!(
        a.sibling("sns", "t"),
        "arn:aws:sns:us-east-1:123456789012:t"
    );
    assert_eq!(a.bucket("b"), "arn:aws:s3:::b");
    assert!(Arn::parse("arn:aws:sqs").is_none());
    assert!(Arn::parse("https://example.com").is_none());
}

#[test]
fn report_prints_lines_and_picks_the_exit_code() {
    let mut r = Report::default();
    r.push(Status::Ok, "queue q", "exists");
    assert_eq!(r.exit_code(), 0);
    r.push_fix(
        Status::Unknown,
        "bucket b",
        "cannot verify (AccessDenied)",
        "grant it",
    );
    assert_eq!(r.exit_code(), 2);
    r.push_fix(
        Status::Failed,
        "queue q",
        "no redrive policy",
        "run derivd setup",
    );
    assert_eq!(r.exit_code(), 1);
    assert_eq!(
        r.to_text(),
        "✓ queue q: exists\n? bucket b: cannot verify (AccessDenied) — fix: grant it\n\
         ✗ queue q: no redrive policy — fix: run derivd setup\n"
    );
}
