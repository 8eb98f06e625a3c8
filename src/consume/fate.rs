//! What becomes of a handled message, and the one policy that carries it out.
//!
//! - [`Fate::Done`]: deleted. Finished work, and client faults (malformed message, unknown
//!   transform, missing or corrupt source, limits): retrying cannot succeed, so the fault
//!   is logged, counted and reported in a failure notice, then the message goes.
//! - [`Fate::Retry`]: left in the queue, hidden for an exponential backoff; the queue's
//!   redrive policy dead-letters it after the maximum number of receives. Transient faults
//!   (5xx, throttling, time limit) and bugs (a panic, an encoder failure, access denied):
//!   the latter so they end in the dead-letter queue for a human.
//! - [`Fate::Abandoned`]: the lease was lost; the message belongs to whoever received it
//!   since, so it is left alone.

use std::time::Duration;

use tracing::{info, warn};

use crate::engine::Fault;
use crate::queue::{Queue, ReceivedMessage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Done,
    Retry(Fault),
    Abandoned,
}

impl Fate {
    /// The fate of a message that carried several pieces of work: any retry wins.
    pub fn combine(self, other: Fate) -> Fate {
        match (self, other) {
            (Fate::Abandoned, _) | (_, Fate::Abandoned) => Fate::Abandoned,
            (Fate::Retry(f), _) | (_, Fate::Retry(f)) => Fate::Retry(f),
            _ => Fate::Done,
        }
    }
}

/// Carries out `fate` for `msg`.
pub async fn settle(queue: &dyn Queue, msg: &ReceivedMessage, fate: Fate, backoff_base: u64) {
    match fate {
        Fate::Done => {
            if let Err(e) = queue.delete(&msg.receipt).await {
                warn!(error = %e, "could not delete a finished message; it may run again");
            }
        }
        Fate::Retry(fault) => {
            let delay = backoff(backoff_base, msg.receive_count);
            info!(
                ?fault,
                backoff_secs = delay.as_secs(),
                "leaving message for retry"
            );
            if let Err(e) = queue.change_visibility(&msg.receipt, delay).await {
                warn!(error = %e, "could not set the retry backoff");
            }
        }
        Fate::Abandoned => {}
    }
}

/// `base`, 2×`base`, 4×`base`, … capped at 15 minutes.
pub fn backoff(base: u64, receive_count: u32) -> Duration {
    let exp = receive_count.saturating_sub(1).min(10);
    Duration::from_secs(base.saturating_mul(1 << exp).min(900))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(10, 1), Duration::from_secs(10));
        assert_eq!(backoff(10, 2), Duration::from_secs(20));
        assert_eq!(backoff(10, 4), Duration::from_secs(80));
        assert_eq!(backoff(10, 40), Duration::from_secs(900));
        assert_eq!(backoff(0, 3), Duration::ZERO);
    }

    #[test]
    fn any_retry_keeps_the_message() {
        let retry = Fate::Retry(Fault::Transient);
        assert_eq!(Fate::Done.combine(retry), retry);
        assert_eq!(retry.combine(Fate::Done), retry);
        assert_eq!(Fate::Done.combine(Fate::Done), Fate::Done);
        assert_eq!(retry.combine(Fate::Abandoned), Fate::Abandoned);
    }
}
