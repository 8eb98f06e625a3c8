//! LocalStore after a crash: what a crashed write leaves behind is swept at open (but never
//! a write in flight in another process), and every folder a write makes is durable in its
//! parent before the record in it counts as written (traced with strace).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::store_contract::put_req;
use derivd::storage::local::LocalStore;
use derivd::storage::ObjectStore;

const BUCKET: &str = "contract-bucket";

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("root")).unwrap();
    (dir, store)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A record's shard folder and its bucket folder, after one put.
async fn shard_of(store: &LocalStore) -> (PathBuf, PathBuf) {
    store.put(BUCKET, put_req("k", "v")).await.unwrap();
    let record = files_under(store.root())
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "obj"))
        .unwrap();
    (
        record.parent().unwrap().to_path_buf(),
        store.root().join(BUCKET),
    )
}

fn aged(path: &Path, age: std::time::Duration) -> std::fs::File {
    let f = std::fs::File::create(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - age).unwrap();
    f
}

/// issue 15, item 8: temp files of crashed writes were never removed. Opening the store
/// sweeps them — but never a file younger than ORPHAN_AGE (its writer may be about to lock
/// it), nor one whose writer holds its lock (a write in flight in another process: `flock`
/// treats another open file description exactly like another process).
#[tokio::test]
async fn crash_leftovers_are_swept_at_open_but_writes_in_flight_are_not() {
    let (_dir, store) = store();
    let (shard, bucket) = shard_of(&store).await;
    let hour = std::time::Duration::from_secs(3600);
    aged(&shard.join(".tmp-crashed"), hour);
    aged(&bucket.join(".probe-crashed"), hour);
    aged(&shard.join(".tmp-just-made"), std::time::Duration::ZERO);
    let in_flight = aged(&shard.join(".tmp-in-flight"), hour);
    in_flight.lock().unwrap();
    let reopened = LocalStore::new(store.root()).unwrap();
    let left: Vec<String> = files_under(store.root())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.contains(&".tmp-just-made".to_string()), "{left:?}");
    assert!(left.contains(&".tmp-in-flight".to_string()), "{left:?}");
    assert_eq!(left.len(), 2, "{left:?}");
    // Once its writer is gone, the old one goes too; records are never touched.
    drop(in_flight);
    assert_eq!(
        derivd::storage::local::sweep_orphans(store.root(), hour / 2).unwrap(),
        1
    );
    assert_eq!(
        &reopened.get(BUCKET, "k").await.unwrap().unwrap().bytes[..],
        b"v"
    );
}

const DURABLE_ROOT: &str = "DERIVD_TEST_DURABLE_ROOT";

/// Not a test on its own: the put that `new_folders_are_fsynced_into_their_parents` traces
/// (a no-op unless the env var is set).
#[tokio::test]
async fn durable_put_child() {
    let Ok(root) = std::env::var(DURABLE_ROOT) else {
        return;
    };
    let store = LocalStore::new(root).unwrap();
    store.put(BUCKET, put_req("k", "v")).await.unwrap();
}

/// issue 15, item 8: a put into a new shard made `objects/ab/cd/` with `create_dir_all`
/// and fsynced only `cd/`, so a crash could lose the folder entries and the record in them.
/// Traced with strace (`-y` names each fsynced descriptor's path): every folder the put
/// made has its parent fsynced.
#[test]
fn new_folders_are_fsynced_into_their_parents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let trace = dir.path().join("trace");
    let status = Command::new("strace")
        .args(["-f", "-y", "-qq", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durable_put_child",
            "--test-threads=1",
            "--quiet",
        ])
        .env(DURABLE_ROOT, &root)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("strace (scripts/setup-system.sh test)");
    assert!(status.success());
    let synced: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter_map(|l| Some(l.split_once('<')?.1.split_once('>')?.0.to_string()))
        .collect();
    let record = files_under(&root)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "obj"))
        .unwrap();
    let shard = record.parent().unwrap();
    let mut want = vec![shard];
    while let Some(parent) = want.last().unwrap().parent() {
        want.push(parent);
        if parent == root.parent().unwrap() {
            break;
        }
    }
    for folder in want {
        let f = folder.to_string_lossy();
        assert!(
            synced.iter().any(|s| *s == f),
            "{f} not fsynced: {synced:?}"
        );
    }
}
