//! SNS envelopes, for S3 events (or job messages) published to a topic that an SQS queue
//! subscribes to without raw message delivery.
//!
//! The envelope's `Message` is a JSON document in a string; it is parsed like a queue body,
//! except that it may not be another envelope. Errors inside it are reported with their
//! field path under `Message.` so the sender can tell envelope from payload. Signatures are
//! not checked: the queue's access policy decides which topics may deliver to it.

use super::json::{clip, invalid, parse_object, Object};
use super::{classify, reason, Incoming, MessageError, Nesting};

/// An object with `Type` and `TopicArn`.
pub(crate) fn envelope(object: &Object) -> Result<Vec<Incoming>, MessageError> {
    let text = |k: &str| object.get(k).and_then(|v| v.as_str());
    let topic = clip(text("TopicArn").unwrap_or_default(), 256);
    match text("Type") {
        Some("Notification") => {
            let message =
                text("Message").ok_or_else(|| invalid("Message", "missing, or not a string"))?;
            parse_object(message)
                .and_then(|inner| classify(&inner, Nesting::InSns))
                .map_err(nested)
        }
        Some("SubscriptionConfirmation") => Ok(vec![Incoming::Ignored {
            reason: reason::SUBSCRIPTION_CONFIRMATION,
            detail: topic,
        }]),
        Some("UnsubscribeConfirmation") => Ok(vec![Incoming::Ignored {
            reason: reason::UNSUBSCRIBE_CONFIRMATION,
            detail: topic,
        }]),
        _ => Err(invalid(
            "Type",
            "must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation",
        )),
    }
}

/// An error about the envelope's `Message`, re-addressed from the envelope's point of view.
fn nested(e: MessageError) -> MessageError {
    match e {
        MessageError::Invalid { field, reason } => MessageError::Invalid {
            field: format!("Message.{field}"),
            reason,
        },
        MessageError::NotJson(detail) => invalid("Message", format!("is not JSON: {detail}")),
        MessageError::Unrecognised(detail) => {
            MessageError::Unrecognised(format!("SNS notification whose Message is {detail}"))
        }
        too_large @ MessageError::TooLarge { .. } => too_large,
    }
}
