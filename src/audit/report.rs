//! What an audit found, in one serde type: the `--json` output is this struct verbatim,
//! and the text output and the exit code are derived from it, so the three never disagree.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Exit code: every derived object listed in every manifest is present and current.
pub const EXIT_HEALTHY: i32 = 0;
/// Exit code: problems were found (even if `--repair` queued their regeneration: the
/// objects are not fixed until the workers have run the jobs).
pub const EXIT_PROBLEMS: i32 = 1;
/// Exit code: the audit could not check everything (listing, reading or queueing failed).
pub const EXIT_ERROR: i32 = 2;

/// The constant `reason`s of a [`Finding`].
pub mod reason {
    /// `missing`: listed in the manifest, but HEAD says the object is not there.
    pub const ABSENT: &str = "absent";
    /// `stale`: made from an older version of the source (its ETag differs).
    pub const SOURCE_CHANGED: &str = "source_changed";
    /// `stale`: made with an older definition of the transform (its digest differs).
    pub const TRANSFORM_CHANGED: &str = "transform_changed";
    /// `stale`: the object is current but its manifest entry records an older one.
    pub const UNRECORDED: &str = "manifest_outdated";
    /// `retired`: the transform is no longer in the catalogue.
    pub const TRANSFORM_REMOVED: &str = "transform_removed";
    /// `orphaned`: the source object is gone.
    pub const SOURCE_MISSING: &str = "source_missing";
}

/// What is wrong with one derived object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Listed in the manifest but absent (lost, or deleted behind derivd's back).
    Missing,
    /// Present, but made from another source version or transform definition.
    Stale,
    /// The source is gone. Never repaired: there is nothing to make it from.
    Orphaned,
    /// Its transform was removed from the catalogue. Never repaired: no job can make it.
    Retired,
}

impl FindingKind {
    /// Missing and stale objects are what `--repair` regenerates.
    pub fn is_repairable(self) -> bool {
        matches!(self, FindingKind::Missing | FindingKind::Stale)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Missing => "missing",
            FindingKind::Stale => "stale",
            FindingKind::Orphaned => "orphaned",
            FindingKind::Retired => "retired",
        }
    }
}

/// One derived object that is not healthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Derived bucket holding `key`.
    pub bucket: String,
    /// The derived object's key, as listed in the manifest.
    pub key: String,
    pub source_bucket: String,
    pub source_key: String,
    pub transform: String,
    pub kind: FindingKind,
    /// One of [`reason`].
    pub reason: String,
    /// Whether the derived object exists (always false for `missing`; for `orphaned` and
    /// `retired` it says whether there is anything left to delete).
    pub present: bool,
}

/// Something the audit could not check; the report is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditIssue {
    pub bucket: String,
    /// Object key, or the prefix whose listing failed.
    pub key: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Manifests read.
    pub manifests: u64,
    /// Derived objects checked (manifest entries).
    pub objects: u64,
    pub healthy: u64,
    pub missing: u64,
    pub stale: u64,
    pub orphaned: u64,
    pub retired: u64,
    pub errors: u64,
}

/// What `--repair` queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairSummary {
    /// Job messages sent: one per source with something to regenerate.
    pub jobs: u64,
    /// Derived objects those jobs regenerate.
    pub objects: u64,
    /// The `id` of every queued job, echoed in its completion notice.
    pub job_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    pub counts: Counts,
    /// Sorted by bucket, then key.
    pub findings: Vec<Finding>,
    pub errors: Vec<AuditIssue>,
    /// Present when the audit ran with repair on.
    pub repair: Option<RepairSummary>,
}

impl AuditReport {
    pub(crate) fn add_finding(&mut self, f: Finding) {
        let c = &mut self.counts;
        match f.kind {
            FindingKind::Missing => c.missing += 1,
            FindingKind::Stale => c.stale += 1,
            FindingKind::Orphaned => c.orphaned += 1,
            FindingKind::Retired => c.retired += 1,
        }
        self.findings.push(f);
    }

    pub(crate) fn add_error(&mut self, bucket: &str, key: &str, message: impl Into<String>) {
        self.counts.errors += 1;
        self.errors.push(AuditIssue {
            bucket: bucket.to_string(),
            key: key.to_string(),
            message: message.into(),
        });
    }

    pub(crate) fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| (&a.bucket, &a.key).cmp(&(&b.bucket, &b.key)));
        self.errors
            .sort_by(|a, b| (&a.bucket, &a.key).cmp(&(&b.bucket, &b.key)));
    }

    /// True when nothing was found and nothing failed.
    pub fn is_healthy(&self) -> bool {
        self.findings.is_empty() && self.errors.is_empty()
    }

    /// Findings of one kind.
    pub fn of_kind(&self, kind: FindingKind) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }

    /// [`EXIT_ERROR`] if anything could not be checked, else [`EXIT_PROBLEMS`] if anything
    /// was found, else [`EXIT_HEALTHY`].
    pub fn exit_code(&self) -> i32 {
        if !self.errors.is_empty() {
            EXIT_ERROR
        } else if !self.findings.is_empty() {
            EXIT_PROBLEMS
        } else {
            EXIT_HEALTHY
        }
    }

    /// Human-readable report: one line per finding and error, then the summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            // Absence is the point of `missing`; for the others it means nothing to delete.
            let absent = !f.present && f.kind != FindingKind::Missing;
            let note = if absent { ", object absent" } else { "" };
            let (kind, bucket, key) = (f.kind.as_str(), &f.bucket, &f.key);
            let _ = writeln!(out, "{kind:<9} {bucket}/{key}  ({}{note})", f.reason);
        }
        for e in &self.errors {
            let _ = writeln!(out, "{:<9} {}/{}: {}", "error", e.bucket, e.key, e.message);
        }
        let c = &self.counts;
        let _ = writeln!(
            out,
            "audited {} manifests, {} derived objects: {} healthy, {} missing, {} stale, \
             {} orphaned, {} retired, {} errors",
            c.manifests, c.objects, c.healthy, c.missing, c.stale, c.orphaned, c.retired, c.errors
        );
        if let Some(r) = &self.repair {
            let _ = writeln!(
                out,
                "repair: queued {} jobs (id {}) to regenerate {} objects; orphaned and retired \
                 objects are never repaired",
                r.jobs, r.job_id, r.objects
            );
        }
        out
    }
}
