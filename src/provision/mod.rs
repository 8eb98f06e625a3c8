//! `derivd setup` and `derivd check`: derivd wires its AWS resources itself and verifies the
//! live wiring.
//!
//! Why: moto's CloudFormation skips subscriptions, policies and notifications, and many
//! users run no CloudFormation at all, yet a missing redrive policy or loss notification
//! fails silently (poison messages loop forever; lost objects are never repaired). So
//! [`setup::setup`] creates, idempotently, what the config names, and [`check::check`]
//! follows the live chain (bucket → notification → topic → subscription → queue) and says
//! per link whether it holds.
//!
//! | file | what |
//! |---|---|
//! | [`plan`] | what the config asks for: queue, DLQ and topic names, ARNs (pure) |
//! | [`wiring`] | bucket notifications: the model, S3's overlap rule and the merge (pure) |
//! | [`policy`] | resource policies: merging derivd's statement, "does it allow?" (pure) |
//! | [`aws_calls`] | the SDK calls, reduced to those types and [`ProvisionError`] |
//! | [`setup`] / [`check`] | the two commands, each returning a [`Report`] |
//!
//! Both commands return a typed [`Report`] (one [`Line`] per item) that the CLI prints, so
//! tests assert on statuses and messages rather than scraping stdout.

pub mod aws_calls;
pub mod check;
pub mod plan;
pub mod policy;
pub mod setup;
pub mod wiring;

use std::fmt;

use crate::aws::ErrorClass;

pub use check::check;
pub use setup::{setup, SetupOptions};

/// The AWS clients both commands use.
#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        Clients {
            s3: crate::aws::s3_client(sdk),
            sqs: crate::aws::sqs_client(sdk),
            sns: crate::aws::sns_client(sdk),
        }
    }
}

/// How one item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Already as wanted (✓).
    Ok,
    /// Created by this run (+).
    Created,
    /// Changed by this run to what the config says (~).
    Updated,
    /// Works, but probably not what you want (!). Does not fail the command.
    Warn,
    /// Not configured, nothing to do (–).
    Skipped,
    /// Wrong or missing; the command exits non-zero (✗).
    Failed,
    /// A read was denied, so it could not be verified (?).
    Unknown,
}

impl Status {
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Created => "+",
            Status::Updated => "~",
            Status::Warn => "!",
            Status::Skipped => "–",
            Status::Failed => "✗",
            Status::Unknown => "?",
        }
    }
}

/// One item of a report: `✓ queue derivd-jobs: exists — fix: …`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub status: Status,
    /// What the line is about (`queue derivd-jobs`, `bucket photos`).
    pub subject: String,
    pub message: String,
    /// What to do about a ✗, ! or ?.
    pub fix: Option<String>,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.symbol(),
            self.subject,
            self.message
        )?;
        match &self.fix {
            Some(fix) => write!(f, " — fix: {fix}"),
            None => Ok(()),
        }
    }
}

/// Everything a run found or did, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    pub fn push(&mut self, status: Status, subject: impl Into<String>, message: impl Into<String>) {
        self.lines.push(Line {
            status,
            subject: subject.into(),
            message: message.into(),
            fix: None,
        });
    }

    /// Adds a line with a fix hint.
    pub fn push_fix(
        &mut self,
        status: Status,
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.lines.push(Line {
            status,
            subject: subject.into(),
            message: message.into(),
            fix: Some(fix.into()),
        });
    }

    /// A failed read in `check`: "? cannot verify (AccessDenied)" when it was denied (derivd
    /// does not guess), else ✗.
    pub fn push_check_error(&mut self, subject: impl Into<String>, err: &ProvisionError) {
        match err {
            ProvisionError::AccessDenied { op, code, .. } => self.push_fix(
                Status::Unknown,
                subject,
                denied_message(op, code),
                "grant the actions in deploy/iam-check-policy.json",
            ),
            other => self.push(Status::Failed, subject, other.to_string()),
        }
    }

    /// A failed call in `setup`: always ✗ (what it was to create is not there).
    pub fn push_setup_error(&mut self, subject: impl Into<String>, err: &ProvisionError) {
        match err {
            ProvisionError::AccessDenied { op, code, .. } => self.push_fix(
                Status::Failed,
                subject,
                format!("{op} was denied ({code})"),
                "run setup with the actions in deploy/iam-setup-policy.json",
            ),
            other => self.push(Status::Failed, subject, other.to_string()),
        }
    }

    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(move |l| l.status == status)
    }

    pub fn count(&self, status: Status) -> usize {
        self.with_status(status).count()
    }

    /// 1 if anything failed; 2 if nothing failed but something could not be verified; else 0.
    pub fn exit_code(&self) -> i32 {
        if self.count(Status::Failed) > 0 {
            1
        } else if self.count(Status::Unknown) > 0 {
            2
        } else {
            0
        }
    }

    pub fn to_text(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

fn denied_message(op: &str, code: &str) -> String {
    if code == "AccessDenied" {
        format!("cannot verify (AccessDenied): {op} was denied")
    } else {
        format!("cannot verify (AccessDenied): {op} answered {code}")
    }
}

/// A provisioning call that failed, by fault: the caller's permissions, AWS, or an answer
/// derivd cannot use.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProvisionError {
    /// These credentials may not make the call (client fault: grant the policy).
    #[error("{op} {resource}: access denied ({code})")]
    AccessDenied {
        op: &'static str,
        resource: String,
        code: String,
    },
    /// The call failed otherwise; `class` says whether trying again may help.
    #[error("{op} {resource}: {detail}")]
    Aws {
        op: &'static str,
        resource: String,
        class: ErrorClass,
        detail: String,
    },
    /// AWS answered something derivd cannot use (a policy that is not JSON, no ARN).
    #[error("{what}: {detail}")]
    Unexpected { what: String, detail: String },
}

impl ProvisionError {
    pub fn is_access_denied(&self) -> bool {
        matches!(self, ProvisionError::AccessDenied { .. })
    }
}

#[cfg(test)]
mod policy_files_tests;
#[cfg(test)]
mod tests;
