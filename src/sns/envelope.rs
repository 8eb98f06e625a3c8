//! The JSON body SNS POSTs to an HTTPS subscriber, and the exact text its signature covers.
//!
//! Every field is read as an optional string so that a missing field is reported as
//! what it is rather than as a parse error; unknown fields (`UnsubscribeURL`,
//! `MessageAttributes`, ...) are ignored, duplicate fields are refused by serde. The
//! string to sign is built only from the fields AWS documents for each type, in its order,
//! each as `Name\nvalue\n`: a field that is not signed can never influence what derivd
//! does except `SigningCertURL`, which is validated separately (see [`super::url`]).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub message_id: Option<String>,
    pub token: Option<String>,
    pub topic_arn: Option<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
    pub timestamp: Option<String>,
    pub signature_version: Option<String>,
    pub signature: Option<String>,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: Option<String>,
    #[serde(rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
}

/// The three message types SNS sends to HTTPS endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl MessageType {
    pub const ALL: [MessageType; 3] = [
        MessageType::Notification,
        MessageType::SubscriptionConfirmation,
        MessageType::UnsubscribeConfirmation,
    ];

    pub fn parse(s: &str) -> Option<MessageType> {
        MessageType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The `Type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Notification => "Notification",
            MessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            MessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }

    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            MessageType::Notification => "notification",
            MessageType::SubscriptionConfirmation => "subscription_confirmation",
            MessageType::UnsubscribeConfirmation => "unsubscribe_confirmation",
        }
    }
}

/// `SignatureVersion`: "1" is SHA1withRSA, "2" SHA256withRSA. Nothing else is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    Sha1,
    Sha256,
}

impl SignatureVersion {
    pub fn parse(s: &str) -> Option<SignatureVersion> {
        match s {
            "1" => Some(SignatureVersion::Sha1),
            "2" => Some(SignatureVersion::Sha256),
            _ => None,
        }
    }
}

/// The text the `Signature` covers, or the name of a signed field that is missing.
/// `Subject` is the only optional one (Notification only, signed when present).
pub fn string_to_sign(kind: MessageType, e: &Envelope) -> Result<String, &'static str> {
    let fields: Vec<(&'static str, &Option<String>)> = match kind {
        MessageType::Notification => vec![
            ("Message", &e.message),
            ("MessageId", &e.message_id),
            ("Subject", &e.subject),
            ("Timestamp", &e.timestamp),
            ("TopicArn", &e.topic_arn),
            ("Type", &e.kind),
        ],
        MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => vec![
            ("Message", &e.message),
            ("MessageId", &e.message_id),
            ("SubscribeURL", &e.subscribe_url),
            ("Timestamp", &e.timestamp),
            ("Token", &e.token),
            ("TopicArn", &e.topic_arn),
            ("Type", &e.kind),
        ],
    };
    let mut out = String::new();
    for (name, value) in fields {
        match value {
            Some(v) => {
                out.push_str(name);
                out.push('\n');
                out.push_str(v);
                out.push('\n');
            }
            None if name == "Subject" => {}
            None => return Err(name),
        }
    }
    Ok(out)
}
