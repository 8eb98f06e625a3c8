//! What the soak runs: its settings (from the environment), the jobs over the corpus
//! photos, the planted poison, and the moments of the kills, all drawn from one seed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::common::fault_proxy::chaos::splitmix64;
use super::common::images;

pub struct Settings {
    pub jobs: usize,
    pub seed: u64,
    pub processes: usize,
    pub fault_rate: f64,
    pub kills: usize,
}

impl Settings {
    /// `DERIVD_SOAK_JOBS` (200), `DERIVD_SOAK_SEED` (random, printed),
    /// `DERIVD_SOAK_PROCESSES` (3), `DERIVD_SOAK_FAULT_RATE` (0.10).
    pub fn from_env() -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        fn parse<T: std::str::FromStr>(k: &str, v: String) -> T {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{k}={v} does not parse"))
        }
        let random = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 % 1_000_000_007);
        Settings {
            jobs: var("DERIVD_SOAK_JOBS").map_or(200, |v| parse("DERIVD_SOAK_JOBS", v)),
            seed: var("DERIVD_SOAK_SEED").map_or(random, |v| parse("DERIVD_SOAK_SEED", v)),
            processes: var("DERIVD_SOAK_PROCESSES")
                .map_or(3, |v| parse("DERIVD_SOAK_PROCESSES", v)),
            fault_rate: var("DERIVD_SOAK_FAULT_RATE")
                .map_or(0.10, |v| parse("DERIVD_SOAK_FAULT_RATE", v)),
            kills: 3,
        }
    }

    /// The `n`-th number drawn from the seed for `purpose`, in 0..1.
    pub fn draw(&self, purpose: u64, n: u64) -> f64 {
        let h = splitmix64(self.seed ^ splitmix64(purpose << 32 | n));
        (h >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Messages that are not job messages, with the rejects-queue reason each must get.
pub const MALFORMED: [(&str, &str); 4] = [
    ("{not json", "not_json"),
    (r#"{"source": 5}"#, "invalid"),
    (
        r#"{"source": "a.jpg", "transforms": "thumb-128"}"#,
        "invalid",
    ),
    (r#"{"hello": "soak"}"#, "unrecognised"),
];

/// Sources under this folder answer every GET with 500 (a fault-proxy rule): their jobs
/// fail every attempt and must end in the dead-letter queue.
pub const POISON_DIR: &str = "/poison/";
pub const POISON_JOBS: usize = 2;

/// A second job on every eighth source asks for this, so jobs for one source merge into
/// one manifest (often on different processes at once).
const EXTRA: &str = "icon-64-png";
const TRANSFORMS: [&str; 2] = ["thumb-128", "thumb-256"];

pub struct Plan {
    /// Source key → the photo it is a copy of (poison sources included).
    pub uploads: BTreeMap<String, PathBuf>,
    /// Every message to send, poison planted among the jobs.
    pub messages: Vec<String>,
    /// Source key → every transform its jobs asked for (poison excluded).
    pub expected: BTreeMap<String, BTreeSet<String>>,
    /// Bodies of the jobs that must dead-letter.
    pub poison_jobs: BTreeSet<String>,
    pub jobs: usize,
}

fn photos() -> Vec<PathBuf> {
    let dir = images::corpus().join("photos");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no corpus photos in {}", dir.display());
    v
}

fn job(source: &str, transforms: &[&str]) -> String {
    serde_json::json!({"source": source, "transforms": transforms}).to_string()
}

pub fn plan(s: &Settings, run: &str) -> Plan {
    let photos = photos();
    let mut p = Plan {
        uploads: BTreeMap::new(),
        messages: Vec::new(),
        expected: BTreeMap::new(),
        poison_jobs: BTreeSet::new(),
        jobs: s.jobs,
    };
    let mut last = String::new();
    for i in 0..s.jobs {
        let (source, transforms): (String, &[&str]) = if i % 8 == 7 {
            (last.clone(), &[EXTRA])
        } else {
            let photo = &photos[i % photos.len()];
            let name = photo.file_name().unwrap().to_string_lossy();
            let source = format!("soak/{run}/{i:05} é/{name}");
            p.uploads.insert(source.clone(), photo.clone());
            (source, &TRANSFORMS)
        };
        let wanted = p.expected.entry(source.clone()).or_default();
        wanted.extend(transforms.iter().map(|t| t.to_string()));
        p.messages.push(job(&source, transforms));
        last = source;
    }
    let mut poison: Vec<String> = MALFORMED.iter().map(|(b, _)| b.to_string()).collect();
    for (k, photo) in photos.iter().cycle().take(POISON_JOBS).enumerate() {
        let source = format!("soak/{run}{POISON_DIR}{k}.jpg");
        p.uploads.insert(source.clone(), photo.clone());
        let body = job(&source, &TRANSFORMS);
        p.poison_jobs.insert(body.clone());
        poison.push(body);
    }
    for (n, body) in poison.into_iter().enumerate() {
        let at = (s.draw(1, n as u64) * p.messages.len() as f64) as usize;
        p.messages.insert(at, body);
    }
    p
}

/// When to kill whom: after the given fraction of the jobs left the queue, process `victim`.
pub struct Kill {
    pub after_fraction: f64,
    pub victim: usize,
}

pub fn kills(s: &Settings) -> Vec<Kill> {
    let mut v: Vec<Kill> = (0..s.kills as u64)
        .map(|k| Kill {
            after_fraction: 0.1 + 0.7 * s.draw(2, k),
            victim: (s.draw(3, k) * s.processes as f64) as usize % s.processes,
        })
        .collect();
    v.sort_by(|a, b| a.after_fraction.total_cmp(&b.after_fraction));
    v
}
