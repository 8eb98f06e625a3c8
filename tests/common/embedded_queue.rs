//! The embedded queue's depth, read straight from its SQLite file
//! (`<data_dir>/queue.sqlite3`, table `messages`, one row per message until it is deleted,
//! dead letters under `<queue>-dlq`) without derivd's code, for the multi-process tests.

use std::path::Path;

/// Messages of `queue` still in the database: visible, in flight or delayed.
pub fn depth(data_dir: &Path, queue: &str) -> u64 {
    let conn = rusqlite::Connection::open(data_dir.join("queue.sqlite3")).expect("open queue db");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    conn.query_row(
        "SELECT count(*) FROM messages WHERE queue = ?1",
        [queue],
        |row| row.get::<_, i64>(0),
    )
    .expect("count messages") as u64
}
