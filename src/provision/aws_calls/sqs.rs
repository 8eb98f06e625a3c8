//! SQS: queues, their attributes (visibility, redrive, policy), creating and changing them.

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;

use super::{fail, is_missing, unexpected};
use crate::provision::plan::{Arn, QueuePlan};
use crate::provision::{Clients, ProvisionError};

/// A queue's redrive policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dlq_arn: String,
    pub max_receives: u32,
}

impl Redrive {
    /// SQS writes `maxReceiveCount` as a number or a string, depending on who set it.
    pub fn parse(json: &str) -> Option<Redrive> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        let count = &v["maxReceiveCount"];
        let max_receives = count
            .as_u64()
            .or_else(|| count.as_str().and_then(|s| s.parse().ok()))?;
        Some(Redrive {
            dlq_arn: v["deadLetterTargetArn"].as_str()?.to_owned(),
            max_receives: u32::try_from(max_receives).ok()?,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::json!({
            "deadLetterTargetArn": self.dlq_arn,
            "maxReceiveCount": self.max_receives,
        })
        .to_string()
    }
}

/// What `setup` and `check` need to know about a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueState {
    pub url: String,
    pub arn: String,
    pub visibility_secs: Option<u64>,
    /// `Err(text)`: a redrive policy derivd cannot read.
    pub redrive: Option<Result<Redrive, String>>,
    pub policy: Option<String>,
}

/// The URL of queue `name` (of `owner`'s account, default the caller's), if it exists.
pub async fn queue_url(
    c: &Clients,
    name: &str,
    owner: Option<&str>,
) -> Result<Option<String>, ProvisionError> {
    let op = c.sqs.get_queue_url().queue_name(name);
    match op
        .set_queue_owner_aws_account_id(owner.map(str::to_owned))
        .send()
        .await
    {
        Ok(out) => Ok(out.queue_url().map(str::to_owned)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(fail("sqs:GetQueueUrl", name, &e)),
    }
}

/// The attributes of the queue at `url`, if it exists.
pub async fn queue_state(c: &Clients, url: &str) -> Result<Option<QueueState>, ProvisionError> {
    let out = c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(fail("sqs:GetQueueAttributes", url, &e)),
    };
    let attrs = out.attributes().cloned().unwrap_or_default();
    let get = |name: QueueAttributeName| attrs.get(&name).cloned();
    let arn = get(QueueAttributeName::QueueArn).ok_or_else(|| {
        unexpected(
            format!("queue {url}"),
            "GetQueueAttributes gave no QueueArn",
        )
    })?;
    let redrive = get(QueueAttributeName::RedrivePolicy)
        .filter(|r| !r.trim().is_empty())
        .map(|r| Redrive::parse(&r).ok_or(r));
    Ok(Some(QueueState {
        url: url.to_owned(),
        arn,
        visibility_secs: get(QueueAttributeName::VisibilityTimeout).and_then(|v| v.parse().ok()),
        redrive,
        policy: get(QueueAttributeName::Policy).filter(|p| !p.trim().is_empty()),
    }))
}

/// The queue a plan names: by its URL when the config gives one, else by name.
pub async fn find_queue(c: &Clients, q: &QueuePlan) -> Result<Option<QueueState>, ProvisionError> {
    let url = match &q.url {
        Some(url) => url.clone(),
        None => match queue_url(c, &q.name, None).await? {
            Some(url) => url,
            None => return Ok(None),
        },
    };
    queue_state(c, &url).await
}

/// Creates queue `name` with `attrs`; returns its state.
pub async fn create_queue(
    c: &Clients,
    name: &str,
    attrs: HashMap<QueueAttributeName, String>,
) -> Result<QueueState, ProvisionError> {
    let out = c
        .sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attrs))
        .send()
        .await
        .map_err(|e| fail("sqs:CreateQueue", name, &e))?;
    let url = out
        .queue_url()
        .ok_or_else(|| unexpected(format!("queue {name}"), "CreateQueue gave no URL"))?;
    queue_state(c, url)
        .await?
        .ok_or_else(|| unexpected(format!("queue {name}"), "gone right after CreateQueue"))
}

pub async fn set_queue_attributes(
    c: &Clients,
    url: &str,
    attrs: HashMap<QueueAttributeName, String>,
) -> Result<(), ProvisionError> {
    c.sqs
        .set_queue_attributes()
        .queue_url(url)
        .set_attributes(Some(attrs))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("sqs:SetQueueAttributes", url, &e))
}

/// The account and partition of a queue, from its ARN.
pub fn queue_arn(state: &QueueState) -> Result<Arn, ProvisionError> {
    Arn::parse(&state.arn).ok_or_else(|| {
        unexpected(
            format!("queue {}", state.url),
            format!("unreadable ARN {:?}", state.arn),
        )
    })
}
