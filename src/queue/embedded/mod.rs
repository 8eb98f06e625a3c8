//! [`EmbeddedQueue`]: the zero-config queue, a SQLite file with SQS's delivery semantics.
//!
//! derivd's workers are written against SQS, so the embedded queue reproduces what they rely
//! on rather than offering "nicer" semantics that would hide bugs until production:
//!
//! - **At-least-once with visibility timeouts.** A received message stays in the table,
//!   invisible until `visible_at`; only `delete` removes it. A worker that dies simply lets the
//!   timeout lapse and the message is delivered again.
//! - **Receipts are per receive.** Each delivery stores a fresh random receipt, so a worker
//!   whose lease lapsed and whose message went to someone else gets
//!   [`QueueError::InvalidReceipt`] instead of deleting the other worker's message. (Real SQS is
//!   laxer here; being strict only ever surfaces a bug earlier.) A receipt stays valid after its
//!   timeout lapses until the message is received again, as on SQS.
//! - **Redrive.** Like an SQS redrive policy, a receive that finds a message already received
//!   `max_receives` times moves it to the dead-letter queue instead of delivering it (or drops it
//!   with a warning if no DLQ is configured). Its receive count restarts in the DLQ so a DLQ
//!   with its own limit does not immediately bounce it again.
//! - **Limits mirror SQS** (1–10 messages per receive, 256 KiB bodies, SQS queue-name rules), so
//!   code that works here does not fail on SQS.
//!
//! Several named queues (jobs, repair, their DLQs) share one database file, one table keyed by
//! queue name; opening the DLQ's name reads the dead letters. The file may be shared by several
//! processes: WAL mode plus a busy timeout, and every receive runs in a `BEGIN IMMEDIATE`
//! transaction so two receivers can never claim the same message. `synchronous=FULL` because a
//! lost `send` is a lost job. Times are wall-clock milliseconds since the epoch, because they must
//! mean the same thing to other processes and after a restart.
//!
//! Long polling polls the table every [`POLL_INTERVAL`]; additionally a process-wide
//! [`Notify`] per (file, queue) wakes waiters as soon as a handle in the same process sends or
//! releases a message. All SQLite calls run in `spawn_blocking`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{params, Connection, ErrorCode};
use tokio::sync::Notify;

use super::{Queue, QueueError, ReceivedMessage};

mod tx;

use tx::receive_tx;

/// How often a long poll re-checks the table for messages sent by other processes or whose
/// visibility timeout lapsed.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// SQS's classic body limit; larger bodies would work here and fail in production.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-queue behaviour that SQS would keep in the queue's attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbeddedQueueSettings {
    /// A message already received this many times is dead-lettered on its next receive.
    /// `0` means never (like an SQS queue without a redrive policy).
    pub max_receives: u32,
    /// Queue (in the same file) that dead letters move to; `None` drops them with a warning.
    pub dead_letter_queue: Option<String>,
}

/// A named queue in a SQLite file. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct EmbeddedQueue {
    conn: Arc<Mutex<Connection>>,
    name: Arc<str>,
    settings: EmbeddedQueueSettings,
    notify: Arc<Notify>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT    NOT NULL,
    id            TEXT    NOT NULL UNIQUE,
    body          TEXT    NOT NULL,
    sent_at       INTEGER NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue, seq);
";

/// SQS queue-name rules (1–80 of `[A-Za-z0-9_-]`, optional `.fifo`), so names port to SQS.
fn validate_name(name: &str) -> Result<(), QueueError> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let ok = (1..=80).contains(&name.len())
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(QueueError::Permanent(format!(
            "invalid queue name {name:?}"
        )))
    }
}

fn db_err(e: rusqlite::Error) -> QueueError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull) => {
            QueueError::Transient(e.to_string())
        }
        Some(ErrorCode::SystemIoFailure) => QueueError::Transient(e.to_string()),
        _ => QueueError::Permanent(e.to_string()),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// One `Notify` per (database file, queue) for the whole process, so a `send` on one handle
/// wakes long polls on every other handle of the same queue in this process.
fn notifier(db: &Path, queue: &str) -> Arc<Notify> {
    type Notifiers = Mutex<HashMap<(PathBuf, String), Arc<Notify>>>;
    static MAP: OnceLock<Notifiers> = OnceLock::new();
    let mut map = MAP
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry((db.to_path_buf(), queue.to_owned()))
        .or_default()
        .clone()
}

impl EmbeddedQueue {
    /// Opens queue `queue_name` in the SQLite file `db_path` (created if missing).
    ///
    /// Blocking (it opens the file and may create the schema): call it at startup or from
    /// `spawn_blocking`, not from a hot async path.
    pub fn open(
        db_path: &Path,
        queue_name: &str,
        settings: EmbeddedQueueSettings,
    ) -> Result<Self, QueueError> {
        validate_name(queue_name)?;
        if let Some(dlq) = &settings.dead_letter_queue {
            validate_name(dlq)?;
            if dlq == queue_name {
                return Err(QueueError::Permanent(format!(
                    "queue {queue_name:?} cannot be its own dead-letter queue"
                )));
            }
        }
        let conn = Connection::open(db_path).map_err(db_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
        // journal_mode returns a row, so it cannot go through execute_batch's no-rows path.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(db_err)?;
        conn.execute_batch("PRAGMA synchronous = FULL;")
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        // Canonical so two spellings of one path share a notifier.
        let canonical = db_path
            .canonicalize()
            .unwrap_or_else(|_| db_path.to_path_buf());
        Ok(EmbeddedQueue {
            conn: Arc::new(Mutex::new(conn)),
            name: Arc::from(queue_name),
            notify: notifier(&canonical, queue_name),
            settings,
        })
    }

    /// This queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Approximate `(visible, in flight)` message counts, like SQS's queue attributes.
    pub async fn len(&self) -> Result<(usize, usize), QueueError> {
        let name = self.name.clone();
        self.with_conn(move |conn| {
            conn.query_row(
                "SELECT COALESCE(SUM(visible_at <= ?2), 0), COALESCE(SUM(visible_at > ?2), 0)
                 FROM messages WHERE queue = ?1",
                params![&*name, now_ms()],
                |r| Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as usize)),
            )
            .map_err(db_err)
        })
        .await
    }

    /// Runs `f` on the connection in the blocking pool. A poisoned mutex is recovered: SQLite
    /// rolls back an interrupted transaction, so the connection itself is still sound.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, QueueError> + Send + 'static,
    ) -> Result<T, QueueError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| QueueError::Permanent(format!("queue task failed: {e}")))?
    }

    /// One non-waiting receive attempt.
    async fn try_receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let name = self.name.clone();
        let settings = self.settings.clone();
        self.with_conn(move |conn| receive_tx(conn, &name, &settings, max, visibility))
            .await
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        super::check_receive_max(max)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so a send between the look and the sleep
            // still wakes us.
            let notified = self.notify.notified();
            let got = self.try_receive(max, visibility).await?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let nap = (deadline - now).min(POLL_INTERVAL);
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let (name, receipt) = (self.name.clone(), receipt.to_owned());
        let n = self
            .with_conn(move |conn| {
                conn.execute(
                    "DELETE FROM messages WHERE queue = ?1 AND receipt = ?2",
                    params![&*name, receipt],
                )
                .map_err(db_err)
            })
            .await?;
        if n == 0 {
            return Err(QueueError::InvalidReceipt);
        }
        Ok(())
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), QueueError> {
        let (name, receipt) = (self.name.clone(), receipt.to_owned());
        let n = self
            .with_conn(move |conn| {
                conn.execute(
                    "UPDATE messages SET visible_at = ?3 WHERE queue = ?1 AND receipt = ?2",
                    params![&*name, receipt, now_ms().saturating_add(ms(timeout))],
                )
                .map_err(db_err)
            })
            .await?;
        if n == 0 {
            return Err(QueueError::InvalidReceipt);
        }
        if timeout.is_zero() {
            self.notify.notify_waiters();
        }
        Ok(())
    }

    async fn send(&self, body: &str) -> Result<String, QueueError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(QueueError::Permanent(format!(
                "message of {} bytes exceeds {MAX_BODY_BYTES}",
                body.len()
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let (name, body, row_id) = (self.name.clone(), body.to_owned(), id.clone());
        self.with_conn(move |conn| {
            let now = now_ms();
            conn.execute(
                "INSERT INTO messages (queue, id, body, sent_at, visible_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![&*name, row_id, body, now],
            )
            .map_err(db_err)
        })
        .await?;
        self.notify.notify_waiters();
        Ok(id)
    }

    async fn check(&self) -> Result<(), QueueError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT count(*) FROM messages WHERE 0", [], |_| Ok(()))
                .map_err(db_err)
        })
        .await
    }
}
