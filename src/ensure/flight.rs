//! Single-flight regenerations: however many requests want one key, one render runs.
//!
//! The render runs in a task of its own that owns its flight entry: requests that hang up
//! neither cancel it half-way nor leave the entry behind, since the task removes it when
//! it ends. A render waits for a turn (at most `regenerations` at once) no longer than the
//! time limit, which also bounds the render itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

use crate::derive::{DeriveError, DeriveRequest, Deriver};
use crate::job::TransformSelection;

type Outcome = Result<(), Arc<DeriveError>>;

pub(super) struct Flights {
    deriver: Arc<Deriver>,
    running: Arc<Mutex<HashMap<String, watch::Receiver<Option<Outcome>>>>>,
    permits: Arc<Semaphore>,
    time_limit: Duration,
}

/// A request's place in a flight.
pub(super) struct Joined {
    /// This request started the flight (others joined it).
    pub started: bool,
    rx: watch::Receiver<Option<Outcome>>,
}

impl Joined {
    pub async fn outcome(mut self) -> Outcome {
        match self.rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().expect("waited for Some"),
            Err(_) => Err(Arc::new(DeriveError::Panic(
                "regeneration task ended".into(),
            ))),
        }
    }
}

impl Flights {
    pub fn new(deriver: Arc<Deriver>, regenerations: usize, time_limit: Duration) -> Flights {
        Flights {
            deriver,
            running: Arc::new(Mutex::new(HashMap::new())),
            permits: Arc::new(Semaphore::new(regenerations.max(1))),
            time_limit,
        }
    }

    /// Joins the flight for `key`, starting it if none is running.
    pub fn join(&self, key: String, bucket: String, source: &str, transform: &str) -> Joined {
        let mut running = self.running.lock().expect("not poisoned");
        if let Some(rx) = running.get(&key) {
            return Joined {
                started: false,
                rx: rx.clone(),
            };
        }
        let (tx, rx) = watch::channel(None);
        running.insert(key.clone(), rx.clone());
        let req = DeriveRequest {
            bucket: Some(bucket),
            source: source.to_string(),
            transforms: TransformSelection::Named(vec![transform.to_string()]),
            force: false,
            focus: None,
            deadline: Instant::now() + self.time_limit,
        };
        let (deriver, permits, all) = (
            self.deriver.clone(),
            self.permits.clone(),
            self.running.clone(),
        );
        let limit = self.time_limit;
        tokio::spawn(async move {
            let outcome = regenerate(&deriver, &permits, &req, limit).await;
            all.lock().expect("not poisoned").remove(&key);
            let _ = tx.send(Some(outcome));
        });
        Joined { started: true, rx }
    }
}

async fn regenerate(
    deriver: &Deriver,
    permits: &Semaphore,
    req: &DeriveRequest,
    limit: Duration,
) -> Outcome {
    let _turn = tokio::time::timeout(limit, permits.acquire())
        .await
        .map_err(|_| Arc::new(DeriveError::Timeout(limit)))?
        .expect("never closed");
    deriver.derive(req).await.map(|_| ()).map_err(Arc::new)
}
