//! The soak's after-checks, read straight from moto (never through the proxy or derivd).

use std::collections::{BTreeMap, BTreeSet};

use super::common::moto_plain::{self, QueuePair};
use super::common::outputs::{check, S3Bucket};
use super::plan::{Plan, MALFORMED};

pub struct Checked {
    pub sources: usize,
    pub derived_objects: usize,
    /// Copies in the rejects queue (a message may be kept more than once).
    pub rejects: usize,
    pub dead_letters: usize,
}

/// Every check in the soak's module docs; panics naming what failed.
pub async fn all(
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    bucket: &str,
    queue: &QueuePair,
    rejects: &str,
    plan: &Plan,
) -> Checked {
    assert_eq!(
        moto_plain::depth(sqs, &queue.url).await,
        0,
        "job queue empty"
    );
    let reader = S3Bucket {
        client: s3.clone(),
        bucket: bucket.to_owned(),
    };
    let outputs = check(&reader, "derived/", &plan.expected).await;
    storage_classes(s3, bucket).await;
    let dead = moto_plain::take_all(sqs, &queue.dlq_url).await;
    let dead_set: BTreeSet<String> = dead.iter().cloned().collect();
    assert_eq!(
        dead_set, plan.poison_jobs,
        "the dead-letter queue holds the failing jobs"
    );
    let kept = rejected(sqs, rejects).await;
    Checked {
        sources: outputs.sources,
        derived_objects: outputs.derived_objects,
        rejects: kept,
        dead_letters: dead.len(),
    }
}

/// Every derived object is stored REDUCED_REDUNDANCY, manifests and the catalogue
/// STANDARD.
async fn storage_classes(s3: &aws_sdk_s3::Client, bucket: &str) {
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("derived/")
        .into_paginator()
        .send();
    let mut wrong = Vec::new();
    while let Some(page) = pages.next().await {
        for o in page.expect("list derived").contents() {
            let key = o.key().unwrap_or_default();
            let class = o
                .storage_class()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default();
            let want = if key.ends_with("/_manifest.json") || key == "derived/_catalogue.json" {
                "STANDARD"
            } else {
                "REDUCED_REDUNDANCY"
            };
            if class != want {
                wrong.push(format!("{key}: {class}, expected {want}"));
            }
        }
    }
    assert!(wrong.is_empty(), "storage classes:\n{}", wrong.join("\n"));
}

/// The rejects queue holds every malformed message (and nothing else), each with its
/// reason; how many copies it held.
async fn rejected(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    let kept = moto_plain::take_all(sqs, url).await;
    let mut reasons: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for copy in &kept {
        let v: serde_json::Value = serde_json::from_str(copy).expect("a rejects copy is JSON");
        let body = v["body"].as_str().expect("body").to_owned();
        let reason = v["reason"].as_str().expect("reason").to_owned();
        assert!(v["message_id"].is_string() && v["error"].is_string(), "{v}");
        reasons.entry(body).or_default().insert(reason);
    }
    let want: BTreeMap<String, BTreeSet<String>> = MALFORMED
        .iter()
        .map(|(b, r)| (b.to_string(), BTreeSet::from([r.to_string()])))
        .collect();
    assert_eq!(
        reasons, want,
        "the rejects queue holds the malformed messages"
    );
    kept.len()
}
