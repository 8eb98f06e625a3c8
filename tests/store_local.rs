//! LocalStore: the shared store contract, plus what only a directory on disk can get wrong —
//! escaping the root, torn reads, stray temp files, and atomic conditional writes across
//! processes (checked with real child processes, as several derivd processes may share a root).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use common::store_contract::{self as contract, put_req};
use derivd::storage::local::LocalStore;
use derivd::storage::{ObjectStore, PutCondition, StoreError};
use proptest::prelude::*;

const BUCKET: &str = "contract-bucket";

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("root")).unwrap();
    (dir, store)
}

macro_rules! contract_tests {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            let (_dir, store) = store();
            contract::$check(&store, BUCKET).await;
        }
    )*};
}

contract_tests!(
    round_trip_with_metadata,
    overwrite_replaces_everything,
    empty_object,
    missing_is_none,
    confirm_absent,
    delete_is_idempotent,
    list_by_prefix_in_byte_order,
    list_paginates,
    if_absent,
    if_match,
    if_absent_race,
    if_match_race,
    hostile_keys,
    key_length_limits,
    check_succeeds,
);

/// All checks in one bucket: proves they isolate themselves by prefix, as moto runs need.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_in_one_bucket() {
    let (_dir, store) = store();
    contract::run_all(&store, BUCKET, contract::Options::default()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_escapes_the_root() {
    let (dir, store) = store();
    let mut keys: Vec<String> = contract::hostile_suffixes();
    keys.extend(
        [
            "../escape",
            "/etc/passwd",
            "..",
            ".",
            "../../..",
            "a\0b",
            "..\\..\\win",
            "~/.ssh/x",
        ]
        .map(String::from),
    );
    for k in &keys {
        store.put(BUCKET, put_req(k, k.clone())).await.unwrap();
    }
    // The temp dir holds only the root; the root only the fixed layout.
    let top: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(top, vec![std::ffi::OsString::from("root")]);
    let root = store.root().canonicalize().unwrap();
    let mut records = 0;
    for file in files_under(&root) {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let parts: Vec<&str> = rel.split('/').collect();
        let is_hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        match parts.as_slice() {
            [BUCKET, "objects", a, b, name] if is_hex(a, 2) && is_hex(b, 2) => {
                let hash = name.strip_suffix(".obj").expect("only records remain");
                assert!(is_hex(hash, 64) && hash.starts_with(*a), "{rel}");
                records += 1;
            }
            [BUCKET, "locks", name] => assert!(is_hex(name.strip_suffix(".lock").unwrap(), 2)),
            _ => panic!("unexpected file {rel}"),
        }
    }
    assert_eq!(records, keys.len());
    for k in &keys {
        assert_eq!(
            store.get(BUCKET, k).await.unwrap().unwrap().bytes,
            Bytes::from(k.clone())
        );
    }
}

#[tokio::test]
async fn bad_bucket_names_are_rejected() {
    let (_dir, store) = store();
    for bucket in ["abc", "my-bucket.v2", "1.2.3", &"x".repeat(63)] {
        store.put(bucket, put_req("k", "x")).await.expect(bucket);
    }
    let long = "x".repeat(64);
    for bucket in [
        "..", "...", "../x", "ab", "Upper", "a/b", "a..b", "-ab", "ab-", "a_b", "", &long,
    ] {
        let put = store.put(bucket, put_req("k", "x")).await;
        assert!(
            matches!(put, Err(StoreError::InvalidKey(_))),
            "{bucket:?}: {put:?}"
        );
        assert!(matches!(
            store.get(bucket, "k").await,
            Err(StoreError::InvalidKey(_))
        ));
        assert!(matches!(
            store.list(bucket, "", None).await,
            Err(StoreError::InvalidKey(_))
        ));
        assert!(matches!(
            store.check(bucket).await,
            Err(StoreError::InvalidKey(_))
        ));
    }
}

#[tokio::test]
async fn objects_survive_reopening_and_missing_buckets_are_empty() {
    let (dir, store) = store();
    let etag = store.put(BUCKET, put_req("k", "v")).await.unwrap();
    drop(store);
    let store = LocalStore::new(dir.path().join("root")).unwrap();
    assert_eq!(store.head(BUCKET, "k").await.unwrap().unwrap().etag, etag);
    assert!(store.get("other-bucket", "k").await.unwrap().is_none());
    assert!(store
        .list("other-bucket", "", None)
        .await
        .unwrap()
        .objects
        .is_empty());
    store.delete("other-bucket", "k").await.unwrap();
}

/// Readers racing an overwriter see whole versions: bytes always agree with their metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_torn_versions() {
    let (_dir, store) = store();
    let version = |fill: u8, len: usize| {
        let mut req = put_req("torn", vec![fill; len]);
        req.metadata.insert("fill".into(), fill.to_string());
        req
    };
    store.put(BUCKET, version(b'a', 1 << 20)).await.unwrap();
    let writer = async {
        for i in 0..40 {
            let (fill, len) = if i % 2 == 0 {
                (b'b', 300_000)
            } else {
                (b'a', 1 << 20)
            };
            store.put(BUCKET, version(fill, len)).await.unwrap();
        }
    };
    let reader = async {
        for _ in 0..200 {
            let o = store.get(BUCKET, "torn").await.unwrap().unwrap();
            let fill: u8 = o.meta.metadata["fill"].parse().unwrap();
            assert_eq!(o.bytes.len() as u64, o.meta.size);
            assert!(
                o.bytes.iter().all(|&b| b == fill),
                "bytes from another version"
            );
            tokio::task::yield_now().await;
        }
    };
    tokio::join!(writer, reader);
}

#[tokio::test]
async fn stray_temp_files_are_ignored() {
    let (_dir, store) = store();
    store.put(BUCKET, put_req("k", "v")).await.unwrap();
    let record = files_under(store.root())
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "obj"))
        .unwrap();
    // What a crash between write and rename leaves behind.
    std::fs::write(record.with_file_name(".tmp-crashed"), b"garbage").unwrap();
    let page = store.list(BUCKET, "", None).await.unwrap();
    assert_eq!(
        page.objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        ["k"]
    );
    assert_eq!(
        &store.get(BUCKET, "k").await.unwrap().unwrap().bytes[..],
        b"v"
    );
}

const CHILD_ROOT: &str = "DERIVD_TEST_COUNTER_ROOT";
const INCREMENTS: u32 = 25;

/// Not a test on its own: the body run by the child processes of
/// `compare_and_swap_is_atomic_across_processes` (a no-op unless the env var is set).
#[tokio::test]
async fn cross_process_counter_child() {
    let Ok(root) = std::env::var(CHILD_ROOT) else {
        return;
    };
    let store = LocalStore::new(root).unwrap();
    let mut done = 0;
    while done < INCREMENTS {
        let cur = store.get(BUCKET, "counter").await.unwrap().unwrap();
        let n: u32 = std::str::from_utf8(&cur.bytes).unwrap().parse().unwrap();
        let mut req = put_req("counter", (n + 1).to_string());
        req.condition = PutCondition::IfMatch(cur.meta.etag);
        match store.put(BUCKET, req).await {
            Ok(_) => done += 1,
            Err(StoreError::PreconditionFailed { .. }) => {} // lost the race: reread
            Err(e) => panic!("{e}"),
        }
    }
}

/// Read-modify-IfMatch-write increments from several processes: a lost update (two processes
/// both passing the ETag check) would leave the counter short.
#[tokio::test]
async fn compare_and_swap_is_atomic_across_processes() {
    let (_dir, store) = store();
    store.put(BUCKET, put_req("counter", "0")).await.unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "cross_process_counter_child",
                    "--test-threads=1",
                    "--quiet",
                ])
                .env(CHILD_ROOT, store.root())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "child failed");
    }
    let n = store.get(BUCKET, "counter").await.unwrap().unwrap().bytes;
    assert_eq!(n, Bytes::from((3 * INCREMENTS).to_string()));
}

fn key_strategy() -> impl Strategy<Value = String> {
    // Mostly characters that stress path handling, plus anything at all.
    let tricky = prop::sample::select(vec![
        '/', '.', '\\', 'a', 'A', '%', '+', ' ', '\u{e9}', '\0', '~',
    ]);
    let ch = prop_oneof![3 => tricky, 1 => any::<char>()];
    prop::collection::vec(ch, 1..300)
        .prop_map(String::from_iter)
        .prop_filter("S3 key limit", |k| k.len() <= 1024)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any key S3 would accept round-trips through put, get and list.
    #[test]
    fn any_valid_key_round_trips(key in key_strategy(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (_dir, store) = store();
        rt.block_on(async {
            let etag = store.put(BUCKET, put_req(&key, body.clone())).await.unwrap();
            let got = store.get(BUCKET, &key).await.unwrap().unwrap();
            prop_assert_eq!(&got.bytes[..], &body[..]);
            prop_assert_eq!(&got.meta.key, &key);
            let page = store.list(BUCKET, &key, None).await.unwrap();
            prop_assert_eq!(page.objects.len(), 1);
            prop_assert_eq!(&page.objects[0].key, &key);
            prop_assert_eq!(&page.objects[0].etag, &etag);
            Ok(())
        })?;
    }
}
