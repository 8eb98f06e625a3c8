//! SNS: topics, their policy, and subscriptions.

use std::collections::HashMap;

use super::{fail, is_missing, unexpected};
use crate::provision::{Clients, ProvisionError};

/// A topic's attributes (`Policy`, …), if it exists.
pub async fn topic_attributes(
    c: &Clients,
    arn: &str,
) -> Result<Option<HashMap<String, String>>, ProvisionError> {
    match c.sns.get_topic_attributes().topic_arn(arn).send().await {
        Ok(out) => Ok(Some(out.attributes().cloned().unwrap_or_default())),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(fail("sns:GetTopicAttributes", arn, &e)),
    }
}

/// Creates topic `name` (SNS returns the existing one's ARN if it is there); its ARN.
pub async fn create_topic(c: &Clients, name: &str) -> Result<String, ProvisionError> {
    let out = c
        .sns
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(|e| fail("sns:CreateTopic", name, &e))?;
    out.topic_arn()
        .map(str::to_owned)
        .ok_or_else(|| unexpected(format!("topic {name}"), "CreateTopic gave no ARN"))
}

pub async fn set_topic_policy(c: &Clients, arn: &str, policy: &str) -> Result<(), ProvisionError> {
    c.sns
        .set_topic_attributes()
        .topic_arn(arn)
        .attribute_name("Policy")
        .attribute_value(policy)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("sns:SetTopicAttributes", arn, &e))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
}

/// Every subscription of the topic (all pages).
pub async fn subscriptions(c: &Clients, topic: &str) -> Result<Vec<Subscription>, ProvisionError> {
    let mut out = Vec::new();
    let mut pages = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| fail("sns:ListSubscriptionsByTopic", topic, &e))?;
        out.extend(page.subscriptions().iter().map(|s| Subscription {
            arn: s.subscription_arn().unwrap_or_default().to_owned(),
            protocol: s.protocol().unwrap_or_default().to_owned(),
            endpoint: s.endpoint().unwrap_or_default().to_owned(),
        }));
    }
    Ok(out)
}

/// Whether the subscription delivers raw messages (`false`: the SNS envelope).
pub async fn raw_delivery(c: &Clients, subscription: &str) -> Result<bool, ProvisionError> {
    let out = c
        .sns
        .get_subscription_attributes()
        .subscription_arn(subscription)
        .send()
        .await
        .map_err(|e| fail("sns:GetSubscriptionAttributes", subscription, &e))?;
    let raw = out.attributes().and_then(|a| a.get("RawMessageDelivery"));
    Ok(raw.is_some_and(|v| v.eq_ignore_ascii_case("true")))
}

/// Subscribes the queue to the topic with raw delivery; the subscription's ARN.
pub async fn subscribe_queue(
    c: &Clients,
    topic: &str,
    queue_arn: &str,
) -> Result<String, ProvisionError> {
    let out = c
        .sns
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true")
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| fail("sns:Subscribe", topic, &e))?;
    Ok(out.subscription_arn().unwrap_or_default().to_owned())
}
