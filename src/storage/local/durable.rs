//! What makes a [`super::LocalStore`] write survive a crash, and what a crash leaves behind.
//!
//! * **Folders are durable before what is put in them.** A new shard folder (or bucket,
//!   or `objects/`) is made one level at a time and each new entry's parent fsynced: an
//!   fsynced record inside a folder whose own entry never reached the disk can vanish
//!   with the folder on power loss.
//! * **Temp files are locked by their writer** (`flock`, exclusive) from creation until the
//!   rename has published them, so a sweeper in any process can tell an orphan (lock free)
//!   from a write in flight (lock held) — even a writer stalled for hours.
//! * **Orphans are swept at open**: `.tmp-*` (and `check()`'s `.probe-*`) files older than
//!   [`ORPHAN_AGE`] whose lock can be taken. The age keeps the sweep off files so new that
//!   their writer may not have locked them yet (created, then locked, a moment later).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{list::shard_files, IoContext};
use crate::storage::StoreError;

/// A temp file younger than this is never swept, locked or not.
pub const ORPHAN_AGE: Duration = Duration::from_secs(15 * 60);

/// Makes renames, unlinks and new entries in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).ctx("fsync", dir)
}

/// Creates `dir` and its missing ancestors, fsyncing the parent of each folder made. Cheap
/// when `dir` exists (one `stat`). A folder made meanwhile by another writer is fine.
pub(super) fn create_dir_durable(dir: &Path) -> Result<(), StoreError> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.is_dir() {
        missing.push(at);
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => break,
        }
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            other => other.ctx("create", d)?,
        }
        if let Some(parent) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Holds the exclusive stripe lock for as long as it lives (dropping the file unlocks).
pub(super) fn lock_stripe(path: &Path) -> Result<File, StoreError> {
    if let Some(dir) = path.parent() {
        create_dir_durable(dir)?;
    }
    // Append mode: creates the file if needed and never truncates; its content is irrelevant.
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .ctx("open", path)?;
    // `File::lock` is `flock(LOCK_EX)` on Unix: per open file description, so it also excludes
    // other threads of this process (each operation opens its own description). Stable since
    // Rust 1.89, the crate's rust-version.
    let locked = file.lock();
    locked.ctx("lock", path)?;
    Ok(file)
}

/// A temp file being written: created new, locked against the sweeper, removed on drop
/// unless [`TempFile::published`] was called after the rename.
pub(super) struct TempFile {
    pub path: PathBuf,
    pub file: File,
    keep: bool,
}

impl TempFile {
    pub fn create(path: PathBuf) -> io::Result<TempFile> {
        let file = File::create_new(&path)?;
        let t = TempFile {
            path,
            file,
            keep: false,
        };
        t.file.lock()?;
        Ok(t)
    }

    /// The rename happened: the path is the record's now, not ours to remove.
    pub fn published(mut self) {
        self.keep = true;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn is_leftover(name: &str) -> bool {
    name.starts_with(".tmp-") || name.starts_with(".probe-")
}

/// Removes leftovers of crashed writes under `root` (every bucket): temp files older than
/// `min_age` whose writer's lock is gone. Returns how many were removed.
pub fn sweep_orphans(root: &Path, min_age: Duration) -> Result<usize, StoreError> {
    let mut candidates = Vec::new();
    let buckets = match fs::read_dir(root) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        other => other.ctx("read", root)?,
    };
    for bucket in buckets {
        let dir = bucket.ctx("read", root)?.path();
        if !dir.is_dir() {
            continue;
        }
        candidates.extend(shard_files(&dir.join("objects"), is_leftover)?);
        // `check()` probes sit in the bucket folder itself.
        for entry in fs::read_dir(&dir).ctx("read", &dir)? {
            let path = entry.ctx("read", &dir)?.path();
            if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_leftover)
            {
                candidates.push(path);
            }
        }
    }
    let now = SystemTime::now();
    Ok(candidates
        .into_iter()
        .filter(|p| remove_if_orphan(p, now, min_age))
        .count())
}

/// Removes `path` if it is old enough and no writer holds its lock; false otherwise (and
/// when it vanished meanwhile: its writer published or removed it).
fn remove_if_orphan(path: &Path, now: SystemTime, min_age: Duration) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let old = file
        .metadata()
        .and_then(|m| m.modified())
        .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= min_age);
    // Holding the lock while unlinking: no writer can be between its create and its lock
    // (the file is old) or between its lock and its rename (we hold the lock).
    old && file.try_lock().is_ok() && fs::remove_file(path).is_ok()
}
