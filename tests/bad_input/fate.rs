//! Running a row and asserting its fate.

use serde_json::Value;

use super::harness::{Backend, Env, Fate, Row, WAIT};
use crate::common::service::eventually;

/// Starts a service, plays the row, checks its fate, then proves the process lives on.
pub async fn run(backend: Backend, name: &str, row: Row) {
    let env = Env::start(backend, name).await;
    play(&env, row).await;
    env.lives_on().await;
    env.stop().await;
}

/// [`run`] on a service the caller started.
pub async fn play(env: &Env, row: Row) {
    for (key, bytes) in row.sources {
        env.upload(&key, bytes).await;
    }
    if let Fate::RefusedAtSend = row.fate {
        let sent = env.svc.app.jobs.send(&row.body).await;
        assert!(sent.is_err(), "the queue took a message it must refuse");
        assert_eq!(env.depths().await, (0, 0));
        return;
    }
    env.svc.app.jobs.send(&row.body).await.unwrap();
    match row.fate {
        Fate::Dropped(reason) => dropped(env, reason).await,
        Fate::Rejected(reason) => rejected(env, reason, &row.body).await,
        Fate::Done { key } => done(env, &key).await,
        Fate::DeadLettered => dead_lettered(env).await,
        Fate::RefusedAtSend => unreachable!(),
    }
}

async fn failed_notice(env: &Env) -> Value {
    eventually(WAIT, "a failure notice", || async {
        let notices = env.notices().await;
        let failed: Vec<_> = notices.iter().filter(|n| n["status"] == "failed").collect();
        assert!(failed.len() <= 1, "one notice per message: {failed:?}");
        failed.first().map(|n| (*n).clone())
    })
    .await
}

async fn dropped(env: &Env, reason: &str) {
    env.settled(1.0).await;
    assert_eq!(env.jobs_total("dropped"), 1.0);
    assert_eq!(
        env.failures(reason),
        1.0,
        "{}",
        env.svc.app.metrics.render()
    );
    let notice = failed_notice(env).await;
    assert!(notice["source"].is_string(), "{notice}");
    assert!(notice["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(env.depths().await, (0, 0), "neither kept nor dead-lettered");
    assert!(
        env.rejects().await.is_empty(),
        "parsed messages are no rejects"
    );
}

async fn rejected(env: &Env, reason: &str, body: &str) {
    env.settled(1.0).await;
    assert_eq!(env.jobs_total("dropped"), 1.0);
    let notice = failed_notice(env).await;
    assert!(notice["message_id"].is_string(), "{notice}");
    assert!(notice.get("source").is_none(), "{notice}");
    let quoted = notice["body"].as_str().unwrap_or_default();
    assert!(
        !quoted.is_empty() && quoted.len() <= 1024 && body.starts_with(quoted),
        "the notice quotes the first KiB: {notice}"
    );
    let kept = env.rejects().await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["reason"], reason, "{kept:?}");
    assert_eq!(kept[0]["body"], body);
    assert_eq!(env.depths().await, (0, 0), "neither kept nor dead-lettered");
}

async fn done(env: &Env, key: &str) {
    eventually(WAIT, "an ok notice", || async {
        let notices = env.notices().await;
        notices.iter().find(|n| n["status"] == "ok").cloned()
    })
    .await;
    let made = env.svc.app.store.head(&env.bucket, key).await.unwrap();
    assert!(made.is_some(), "{key} was not made");
    env.settled(1.0).await;
}

async fn dead_lettered(env: &Env) {
    eventually(WAIT, "dead-lettered", || async {
        (env.depths().await == (0, 1)).then_some(())
    })
    .await;
    assert_eq!(env.jobs_total("dropped"), 0.0, "retryable, never dropped");
    assert!(env.jobs_total("dead_letter") >= 1.0);
}
