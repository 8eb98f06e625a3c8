//! The receive and dead-letter transactions: what one `receive` does inside SQLite.

use std::time::Duration;

use rusqlite::{params, Connection, TransactionBehavior};

use super::{db_err, ms, now_ms, EmbeddedQueueSettings};
use crate::queue::{QueueError, ReceivedMessage};

/// Claims up to `max` visible messages, oldest first, dead-lettering over-received ones.
pub(super) fn receive_tx(
    conn: &mut Connection,
    name: &str,
    settings: &EmbeddedQueueSettings,
    max: usize,
    visibility: Duration,
) -> Result<Vec<ReceivedMessage>, QueueError> {
    // Cheap read first: idle long polls (every POLL_INTERVAL, in every process) then never take
    // the file-wide write lock.
    let any: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE queue = ?1 AND visible_at <= ?2)",
        )
        .and_then(|mut stmt| stmt.query_row(params![name, now_ms()], |r| r.get(0)))
        .map_err(db_err)?;
    if !any {
        return Ok(Vec::new());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let now = now_ms();
    let mut out = Vec::new();
    // Dead-lettered rows leave the queue, so re-select until we have enough or none are left.
    while out.len() < max {
        let candidates: Vec<(i64, String, String, u32)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT seq, id, body, receive_count FROM messages
                     WHERE queue = ?1 AND visible_at <= ?2 ORDER BY seq LIMIT ?3",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![name, now, (max - out.len()) as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)?
        };
        if candidates.is_empty() {
            break;
        }
        for (seq, id, body, count) in candidates {
            if settings.max_receives > 0 && count >= settings.max_receives {
                dead_letter(&tx, name, settings, seq, &id, count, now)?;
                continue;
            }
            let receipt = uuid::Uuid::new_v4().simple().to_string();
            tx.execute(
                "UPDATE messages SET receive_count = receive_count + 1, receipt = ?2,
                 visible_at = ?3 WHERE seq = ?1",
                params![seq, &receipt, now.saturating_add(ms(visibility))],
            )
            .map_err(db_err)?;
            out.push(ReceivedMessage {
                id,
                body,
                receipt,
                receive_count: count + 1,
            });
        }
    }
    tx.commit().map_err(db_err)?;
    Ok(out)
}

fn dead_letter(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    settings: &EmbeddedQueueSettings,
    seq: i64,
    id: &str,
    count: u32,
    now: i64,
) -> Result<(), QueueError> {
    match &settings.dead_letter_queue {
        Some(dlq) => {
            tracing::warn!(queue = name, dlq = %dlq, message_id = id, receives = count,
                "message exceeded max receives; moved to dead-letter queue");
            tx.execute(
                "UPDATE messages SET queue = ?2, visible_at = ?3, receive_count = 0,
                 receipt = NULL WHERE seq = ?1",
                params![seq, dlq, now],
            )
            .map_err(db_err)?;
        }
        None => {
            tracing::warn!(
                queue = name,
                message_id = id,
                receives = count,
                "message exceeded max receives and no dead-letter queue is set; dropped"
            );
            tx.execute("DELETE FROM messages WHERE seq = ?1", params![seq])
                .map_err(db_err)?;
        }
    }
    Ok(())
}
