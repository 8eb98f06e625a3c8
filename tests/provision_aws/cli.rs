//! The binary end to end: `derivd setup` / `derivd check` with a config file, exit codes.

use std::path::Path;
use std::process::Command;

use super::*;

fn derivd(config: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_derivd"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("DERIVD_")) {
        cmd.env_remove(k);
    }
    let out = cmd.arg("--config").arg(config).args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("$ derivd {}\n{stdout}{stderr}", args.join(" "));
    (out.status.code().unwrap(), stdout)
}

fn config_file(dir: &Path, cfg: &Config) -> std::path::PathBuf {
    let path = dir.join("derivd.toml");
    let toml = format!(
        "backend = \"aws\"\n[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n\
         [storage]\ndefault_bucket = \"{bucket}\"\n[[storage.buckets]]\nsource = \"{bucket}\"\n\
         [queue]\njobs = \"{}\"\nrepair = \"{}\"\n[notices]\nsns_topic_arn = \"{}\"\n\
         [provision]\nloss_topic = \"{}\"\n",
        moto::endpoint(),
        cfg.queue.jobs,
        cfg.queue.repair.as_deref().unwrap(),
        cfg.notices.sns_topic_arn.as_deref().unwrap(),
        cfg.provision.loss_topic,
        bucket = cfg.storage.default_bucket,
    );
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test]
async fn the_binary_sets_up_checks_and_exits_by_the_report() {
    let cfg = stack("prov-bin").await;
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(dir.path(), &cfg);
    let (code, out) = derivd(&path, &["setup"]);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l.starts_with("+ queue ")), "{out}");
    let (code, out) = derivd(&path, &["setup"]);
    assert_eq!(code, 0);
    let unchanged = |l: &str| l.starts_with("✓ ") || l.starts_with("– ");
    assert!(out.lines().all(unchanged), "{out}");
    let (code, out) = derivd(&path, &["check"]);
    assert_eq!((code, out.contains('✗')), (0, false), "{out}");

    set_queue_attribute(&cfg.queue.jobs, QueueAttributeName::VisibilityTimeout, "30").await;
    let (code, out) = derivd(&path, &["check"]);
    assert_eq!(code, 1, "{out}");
    let broken = format!("✗ queue {}: visibility 30 s", cfg.queue.jobs);
    assert!(
        out.contains(&broken) && out.contains("— fix: run derivd setup"),
        "{out}"
    );
    let (code, out) = derivd(&path, &["check", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let failed = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "failed");
    assert_eq!(failed.count(), 1, "{out}");
}

#[test]
fn on_the_embedded_backend_there_is_nothing_to_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("derivd.toml");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let toml = format!("[storage]\ndata_dir = {:?}\n", data.display().to_string());
    std::fs::write(&path, toml).unwrap();
    let (code, out) = derivd(&path, &["setup"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to set up"), "{out}");
    let (code, out) = derivd(&path, &["check"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("✓ data dir ") && out.contains("writable"),
        "{out}"
    );
}
