//! Self-repair: put back derived objects that Reduced Redundancy Storage lost.
//!
//! S3 reports each loss as a `ReducedRedundancyLostObject` event (through SNS, to the
//! repair queue or to `POST /v1/sns`). Each lost key is parsed back to (source key,
//! transform) with the key layout of the derived bucket it came from; losses of one source
//! are regenerated together, from one decode, through the [`Deriver`] — so the object comes
//! back with the same key, storage class, content type and metadata, and its manifest entry
//! is re-recorded.
//!
//! - Source gone, or transform no longer in the catalogue (or no longer accepting the
//!   source): an **orphan** — logged, counted, reported in a failure notice, not retried.
//! - Already back and current (a duplicate or late event): skipped.

mod event;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

pub use event::lost_object_event;

use crate::derive::{DeriveError, DeriveRequest, Deriver, Mapping};
use crate::engine::Fault;
use crate::job::{ObjectRef, TransformSelection};
use crate::metrics::Metrics;
use crate::notice::{Notice, Notifier};

pub struct Repairer {
    pub deriver: Arc<Deriver>,
    pub notifier: Arc<Notifier>,
    pub metrics: Metrics,
    pub time_limit: Duration,
}

/// The lost objects of one source.
struct Group<'a> {
    mapping: &'a Mapping,
    source: String,
    transforms: Vec<String>,
    members: Vec<usize>,
}

impl Repairer {
    /// Repairs `objects`, decoding each source once however many of its objects were lost.
    /// Returns, per object, `Some(fault)` when it must be retried.
    pub async fn repair(&self, objects: &[ObjectRef]) -> Vec<Option<Fault>> {
        let mut outcome = vec![None; objects.len()];
        for group in self.group(objects) {
            if let Some(fault) = self.repair_source(&group).await {
                for &i in &group.members {
                    outcome[i] = Some(fault);
                }
            }
        }
        outcome
    }

    fn group<'a>(&'a self, objects: &[ObjectRef]) -> Vec<Group<'a>> {
        let mut groups: BTreeMap<(String, String), Group<'a>> = BTreeMap::new();
        for (i, o) in objects.iter().enumerate() {
            let Some((mapping, parts)) = self.deriver.buckets.locate(&o.bucket, &o.key) else {
                warn!(bucket = ?o.bucket, key = ?o.key, "lost object is not a derived object of ours");
                self.count("not_derived", 1);
                continue;
            };
            let g = groups
                .entry((mapping.source.clone(), parts.source_key.clone()))
                .or_insert_with(|| Group {
                    mapping,
                    source: parts.source_key.clone(),
                    transforms: Vec::new(),
                    members: Vec::new(),
                });
            g.transforms.push(parts.transform);
            g.members.push(i);
        }
        groups.into_values().collect()
    }

    fn count(&self, result: &str, n: u64) {
        self.metrics.repairs.with_label_values(&[result]).inc_by(n);
    }

    /// Regenerates one source's lost objects; `Some(fault)` = retry them.
    async fn repair_source(&self, g: &Group<'_>) -> Option<Fault> {
        let catalogue = &self.deriver.catalogue;
        let (known, removed): (Vec<String>, Vec<String>) = g
            .transforms
            .iter()
            .cloned()
            .partition(|t| catalogue.get(t).is_some());
        for t in &removed {
            let e = DeriveError::UnknownTransform(t.clone());
            self.orphan(g, &e).await;
        }
        if known.is_empty() {
            return None;
        }
        let started = Instant::now();
        let req = DeriveRequest {
            bucket: Some(g.mapping.source.clone()),
            source: g.source.clone(),
            transforms: TransformSelection::Named(known),
            force: false,
            focus: None,
            deadline: started + self.time_limit,
        };
        let result = self.deriver.derive(&req).await;
        self.metrics
            .stage_duration
            .with_label_values(&["repair"])
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(done) => {
                info!(source = ?g.source, repaired = done.written.len(), "repaired");
                self.count("repaired", done.written.len() as u64);
                self.count("already_present", done.up_to_date as u64);
                None
            }
            Err(e) if e.fault() == Fault::Client => {
                self.orphan(g, &e).await;
                None
            }
            Err(e) => {
                warn!(source = ?g.source, reason = e.reason(), error = %e.to_string().escape_debug(), "repair failed; will retry");
                self.count("retry", 1);
                Some(e.fault())
            }
        }
    }

    async fn orphan(&self, g: &Group<'_>, e: &DeriveError) {
        let reason = match e {
            DeriveError::UnknownTransform(_) => "transform_removed",
            other => other.reason(),
        };
        warn!(source = ?g.source, reason, error = %e.to_string().escape_debug(), "orphaned derived object");
        self.count("orphan", 1);
        let notice = Notice {
            id: None,
            bucket: Some(g.mapping.source.clone()),
            source: Some(g.source.clone()),
            status: "failed".into(),
            derived: Vec::new(),
            error: Some(format!("orphan ({reason}): {e}")),
            message_id: None,
            body: None,
            facts: None,
        };
        self.notifier.publish_counted(&notice, &self.metrics).await;
    }
}
