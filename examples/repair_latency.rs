//! Measures self-repair latency on loopback: S3 event published to the loss topic →
//! derived object back in the bucket, against moto (SNS → SQS → derivd → S3).
//!
//! Run through `scripts/repair-latency.sh`, which starts moto. Usage:
//! `repair_latency [LOSSES] [MODE]` with MODE `sequential` (one loss at a time: pure
//! latency) or `burst` (all losses published at once: latency under load).

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use derivd::catalogue::Catalogue;
use derivd::config::{Backend, BucketMapping, Config};
use derivd::startup::Application;
use tokio_util::sync::CancellationToken;

fn event(bucket: &str, key: &str) -> String {
    derivd::repair::lost_object_event(bucket, key)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let losses: usize = args.get(1).map_or(Ok(100), |a| a.parse())?;
    let burst = args.get(2).is_some_and(|m| m == "burst");
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto)");
    let sdk = derivd::aws::load_sdk_config(Some("us-east-1"), Some(&endpoint)).await;
    let (s3, sqs, sns) = (
        derivd::aws::s3_client(&sdk),
        derivd::aws::sqs_client(&sdk),
        derivd::aws::sns_client(&sdk),
    );
    let id = uuid::Uuid::new_v4().simple().to_string();
    let bucket = format!("lat-{}", &id[..12]);
    s3.create_bucket().bucket(&bucket).send().await?;
    let jobs = sqs
        .create_queue()
        .queue_name(format!("lat-jobs-{id}"))
        .send()
        .await?;
    let repair = sqs
        .create_queue()
        .queue_name(format!("lat-rep-{id}"))
        .send()
        .await?;
    let repair_url = repair.queue_url().unwrap().to_string();
    let repair_arn = sqs
        .get_queue_attributes()
        .queue_url(&repair_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let topic = sns.create_topic().name(format!("lat-{id}")).send().await?;
    let topic_arn = topic.topic_arn().unwrap().to_string();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&repair_arn)
        .send()
        .await?;

    let mut cfg = Config {
        backend: Backend::Aws,
        ..Config::default()
    };
    cfg.aws.endpoint_url = Some(endpoint.clone());
    cfg.storage.default_bucket = bucket.clone();
    cfg.storage.buckets = vec![BucketMapping {
        source: bucket.clone(),
        derived_bucket: None,
        prefix: "derived/".into(),
    }];
    cfg.queue.jobs = jobs.queue_url().unwrap().to_string();
    cfg.queue.repair = Some(repair_url);
    cfg.queue.wait_secs = 1;
    cfg.http.listen = None;
    let app = Application::build(cfg, Catalogue::built_in(8192)?).await?;
    let (catalogue, jobs) = (app.catalogue(), app.job_queue());
    let token = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(token.clone()));

    // One small source per 6 losses; all derived objects made up front.
    let photo = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/formats/ir_progressive_650x470.jpg"),
    )?;
    let transforms: Vec<String> = catalogue.iter().map(|t| t.name.clone()).collect();
    let mut keys = Vec::new();
    let sources = losses.div_ceil(transforms.len());
    for i in 0..sources {
        let src = format!("src/photo {i}.jpg");
        s3.put_object()
            .bucket(&bucket)
            .key(&src)
            .body(ByteStream::from(photo.clone()))
            .send()
            .await?;
        let job = derivd::job::JobRequest {
            id: None,
            bucket: None,
            source: src.clone(),
            transforms: derivd::job::TransformSelection::All,
            force: false,
            focus: None,
        };
        jobs.send(&job.to_message_json()).await?;
        for t in &transforms {
            let ext = catalogue.get(t).unwrap().output.format.extension();
            keys.push(format!("derived/{src}/{t}.{ext}"));
        }
    }
    keys.truncate(losses);
    for k in &keys {
        while s3
            .head_object()
            .bucket(&bucket)
            .key(k)
            .send()
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    eprintln!(
        "{} derived objects ready; losing {losses} ({})",
        keys.len(),
        if burst { "burst" } else { "sequential" }
    );

    let mut latencies = Vec::new();
    let wait_back = |k: String, t0: Instant| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            loop {
                if s3
                    .head_object()
                    .bucket(&bucket)
                    .key(&k)
                    .send()
                    .await
                    .is_ok()
                {
                    return t0.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    if burst {
        for k in &keys {
            s3.delete_object().bucket(&bucket).key(k).send().await?;
        }
        let t0 = Instant::now();
        for k in &keys {
            sns.publish()
                .topic_arn(&topic_arn)
                .subject("Amazon S3 Notification")
                .message(event(&bucket, k))
                .send()
                .await?;
        }
        // One LIST per round (not one HEAD per key) so the measurement does not itself
        // flood the server.
        let mut pending: std::collections::BTreeSet<String> = keys.iter().cloned().collect();
        while !pending.is_empty() {
            let mut token = None;
            loop {
                let page = s3
                    .list_objects_v2()
                    .bucket(&bucket)
                    .prefix("derived/")
                    .set_continuation_token(token)
                    .send()
                    .await?;
                for o in page.contents() {
                    if let Some(k) = o.key() {
                        if pending.remove(k) {
                            latencies.push(t0.elapsed());
                        }
                    }
                }
                token = page.next_continuation_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    } else {
        for k in &keys {
            s3.delete_object().bucket(&bucket).key(k).send().await?;
            let t0 = Instant::now();
            sns.publish()
                .topic_arn(&topic_arn)
                .subject("Amazon S3 Notification")
                .message(event(&bucket, k))
                .send()
                .await?;
            latencies.push(wait_back(k.clone(), t0).await);
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{{\"losses\": {}, \"mode\": \"{}\", \"p50_ms\": {:.1}, \"p99_ms\": {:.1}, \"max_ms\": {:.1}}}",
        latencies.len(),
        if burst { "burst" } else { "sequential" },
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    token.cancel();
    server.await??;
    Ok(())
}
