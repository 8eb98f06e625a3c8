//! S3: bucket reachability and notification configurations, to and from [`Notifications`].

use aws_sdk_s3::types as s3t;

use super::{fail, is_missing, unexpected};
use crate::provision::wiring::{Destination, Entry, Notifications};
use crate::provision::{Clients, ProvisionError};

/// Whether the bucket exists (and these credentials reach it).
pub async fn bucket_exists(c: &Clients, bucket: &str) -> Result<bool, ProvisionError> {
    match c.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if is_missing(&e) => Ok(false),
        Err(e) => Err(fail("s3:ListBucket (HeadBucket)", bucket, &e)),
    }
}

fn filter_of(f: Option<&s3t::NotificationConfigurationFilter>) -> (String, String) {
    let (mut prefix, mut suffix) = (String::new(), String::new());
    for rule in f
        .and_then(|f| f.key())
        .map_or(&[][..], |k| k.filter_rules())
    {
        let value = rule.value().unwrap_or_default().to_owned();
        match rule
            .name()
            .map(|n| n.as_str().to_ascii_lowercase())
            .as_deref()
        {
            Some("prefix") => prefix = value,
            Some("suffix") => suffix = value,
            _ => {}
        }
    }
    (prefix, suffix)
}

fn entry(
    id: Option<&str>,
    destination: Destination,
    events: &[s3t::Event],
    f: Option<&s3t::NotificationConfigurationFilter>,
) -> Entry {
    let (prefix, suffix) = filter_of(f);
    Entry {
        id: id.map(str::to_owned),
        destination,
        events: events.iter().map(|e| e.as_str().to_owned()).collect(),
        prefix,
        suffix,
    }
}

/// The bucket's notification configuration.
pub async fn notifications(c: &Clients, bucket: &str) -> Result<Notifications, ProvisionError> {
    let sent =
        c.s3.get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await;
    let out = match sent {
        Ok(out) => out,
        Err(e) if answered_empty(&e) => return Ok(Notifications::default()),
        Err(e) => return Err(fail("s3:GetBucketNotification", bucket, &e)),
    };
    let mut entries = Vec::new();
    for t in out.topic_configurations() {
        let d = Destination::Topic(t.topic_arn().to_owned());
        entries.push(entry(t.id(), d, t.events(), t.filter()));
    }
    for q in out.queue_configurations() {
        let d = Destination::Queue(q.queue_arn().to_owned());
        entries.push(entry(q.id(), d, q.events(), q.filter()));
    }
    for l in out.lambda_function_configurations() {
        let d = Destination::Lambda(l.lambda_function_arn().to_owned());
        entries.push(entry(l.id(), d, l.events(), l.filter()));
    }
    let event_bridge = out.event_bridge_configuration().is_some();
    Ok(Notifications {
        entries,
        event_bridge,
    })
}

/// A 200 answer the SDK could not read whose body is one empty XML element: "no
/// configuration". moto (5.2.5) sends `<GetBucketNotificationResponse/>` for a bucket
/// without notifications where S3 sends `<NotificationConfiguration/>`, and the SDK refuses
/// the unknown root element. Anything else stays an error: writing after a misread would
/// delete everyone else's entries.
fn answered_empty<E>(err: &aws_sdk_s3::error::SdkError<E>) -> bool {
    let Some(raw) = err.raw_response() else {
        return false;
    };
    let body = raw.body().bytes().unwrap_or_default();
    raw.status().as_u16() == 200 && is_empty_element(body)
}

/// `<?xml …?><Name attrs/>` or `<Name attrs></Name>`, nothing else.
fn is_empty_element(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let mut text = text.trim();
    if text.starts_with("<?") {
        text = text.split_once("?>").map_or("", |(_, rest)| rest.trim());
    }
    let Some(tag) = text.strip_prefix('<') else {
        return false;
    };
    let Some((open, rest)) = tag.split_once('>') else {
        return false;
    };
    let name = open.split_whitespace().next().unwrap_or_default();
    let plain = |s: &str| !s.is_empty() && !s.contains(['<', '>', '/']);
    match open.strip_suffix('/') {
        Some(inner) => rest.is_empty() && plain(inner.split_whitespace().next().unwrap_or("")),
        None => plain(name) && rest.trim() == format!("</{name}>"),
    }
}

/// S3 rejects an empty filter value, so an entry without prefix and suffix has no filter.
fn sdk_filter(e: &Entry) -> Option<s3t::NotificationConfigurationFilter> {
    let rules: Vec<s3t::FilterRule> = [
        (s3t::FilterRuleName::Prefix, &e.prefix),
        (s3t::FilterRuleName::Suffix, &e.suffix),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(name, v)| {
        s3t::FilterRule::builder()
            .name(name)
            .value(v.as_str())
            .build()
    })
    .collect();
    (!rules.is_empty()).then(|| {
        let key = s3t::S3KeyFilter::builder()
            .set_filter_rules(Some(rules))
            .build();
        s3t::NotificationConfigurationFilter::builder()
            .key(key)
            .build()
    })
}

fn sdk_configuration(n: &Notifications) -> Result<s3t::NotificationConfiguration, ProvisionError> {
    let bad = |e: aws_sdk_s3::error::BuildError| unexpected("notification entry", e.to_string());
    let mut cfg = s3t::NotificationConfiguration::builder();
    for e in &n.entries {
        let events = Some(
            e.events
                .iter()
                .map(|x| s3t::Event::from(x.as_str()))
                .collect(),
        );
        let (id, filter) = (e.id.clone(), sdk_filter(e));
        cfg = match &e.destination {
            Destination::Topic(arn) => cfg.topic_configurations(
                s3t::TopicConfiguration::builder()
                    .set_id(id)
                    .topic_arn(arn)
                    .set_events(events)
                    .set_filter(filter)
                    .build()
                    .map_err(bad)?,
            ),
            Destination::Queue(arn) => cfg.queue_configurations(
                s3t::QueueConfiguration::builder()
                    .set_id(id)
                    .queue_arn(arn)
                    .set_events(events)
                    .set_filter(filter)
                    .build()
                    .map_err(bad)?,
            ),
            Destination::Lambda(arn) => cfg.lambda_function_configurations(
                s3t::LambdaFunctionConfiguration::builder()
                    .set_id(id)
                    .lambda_function_arn(arn)
                    .set_events(events)
                    .set_filter(filter)
                    .build()
                    .map_err(bad)?,
            ),
        };
    }
    if n.event_bridge {
        cfg = cfg.event_bridge_configuration(s3t::EventBridgeConfiguration::builder().build());
    }
    Ok(cfg.build())
}

/// Replaces the bucket's whole notification configuration with `n`.
pub async fn put_notifications(
    c: &Clients,
    bucket: &str,
    n: &Notifications,
) -> Result<(), ProvisionError> {
    c.s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(sdk_configuration(n)?)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| fail("s3:PutBucketNotification", bucket, &e))
}

#[cfg(test)]
mod tests {
    use super::is_empty_element;

    #[test]
    fn only_an_empty_root_element_reads_as_no_configuration() {
        let moto = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<GetBucketNotificationResponse \
                    xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>";
        assert!(is_empty_element(moto.as_bytes()));
        assert!(is_empty_element(
            b"<NotificationConfiguration></NotificationConfiguration>"
        ));
        assert!(!is_empty_element(
            b"<NotificationConfiguration><TopicConfiguration>"
        ));
        assert!(!is_empty_element(b"<A><B/></A>"));
        assert!(!is_empty_element(b"<NotificationConfiguration"));
        assert!(!is_empty_element(b""));
        assert!(!is_empty_element(
            b"<Error><Code>AccessDenied</Code></Error>"
        ));
    }
}
