use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn with_file(text: &str) -> Result<Config, ConfigError> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("derivd.toml");
    std::fs::write(&p, text).unwrap();
    Config::load(Some(&p), Vec::new())
}

#[test]
fn zero_config_is_embedded_on_loopback() {
    let c = Config::load(None, Vec::new()).unwrap();
    assert_eq!(c.backend, Backend::Embedded);
    assert_eq!(c.http.listen.as_deref(), Some("127.0.0.1:8080"));
    assert_eq!(c.storage.storage_class, StorageClass::ReducedRedundancy);
    assert_eq!(c.bucket("derivd").unwrap().prefix, "derived/");
    assert!(c.bucket("other").is_none());
}

#[test]
fn example_config_parses_and_equals_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/derivd.example.toml");
    let c = Config::load(Some(&path), Vec::new()).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn unknown_keys_are_named() {
    let err = with_file("[worker]\nconcurency = 4\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("worker") && err.contains("concurency"),
        "{err}"
    );
    let err = Config::load(None, env(&[("DERIVD_HTTP__LISTN", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("listn"), "{err}");
}

#[test]
fn env_overrides_file_with_typed_values() {
    let c = Config::load(
        None,
        env(&[
            ("DERIVD_WORKER__CONCURRENCY", "3"),
            ("DERIVD_BACKEND", "aws"),
            ("DERIVD_STORAGE__STORAGE_CLASS", "STANDARD"),
            ("OTHER_VAR", "ignored"),
        ]),
    )
    .unwrap();
    assert_eq!(c.worker.concurrency, 3);
    assert_eq!(c.backend, Backend::Aws);
    assert_eq!(c.storage.storage_class, StorageClass::Standard);
}

#[test]
fn bad_values_name_the_key() {
    let err = with_file("[queue]\nwait_secs = 30\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("queue.wait_secs"), "{err}");
    let err = with_file("[storage]\nstorage_class = \"GLACIER\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("storage.storage_class"), "{err}");
    let err = with_file("[http]\nlisten = \"0.0.0.0:8080\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("http.auth_token"), "{err}");
}

#[test]
fn two_sources_may_not_share_derived_bucket_and_prefix() {
    let err = with_file(
        r#"
[storage]
default_bucket = "a"
[[storage.buckets]]
source = "a"
derived_bucket = "d"
[[storage.buckets]]
source = "b"
derived_bucket = "d"
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("storage.buckets[1]"), "{err}");
    let ok = with_file(
        r#"
[storage]
default_bucket = "a"
[[storage.buckets]]
source = "a"
derived_bucket = "d"
prefix = "a/"
[[storage.buckets]]
source = "b"
derived_bucket = "d"
prefix = "b/"
"#,
    )
    .unwrap();
    assert_eq!(ok.bucket("b").unwrap().derived(), "d");
}

#[test]
fn bucket_mappings_are_checked_for_ambiguity_and_the_default() {
    let base = "[storage]\ndefault_bucket = \"a\"\n";
    let nested = format!(
        "{base}[[storage.buckets]]\nsource = \"a\"\nderived_bucket = \"d\"\nprefix = \"x/\"\n\
         [[storage.buckets]]\nsource = \"b\"\nderived_bucket = \"d\"\nprefix = \"x/y/\"\n"
    );
    let err = with_file(&nested).unwrap_err().to_string();
    assert!(
        err.contains("storage.buckets[1]") && err.contains("overlaps"),
        "{err}"
    );
    let no_slash = format!("{base}[[storage.buckets]]\nsource = \"a\"\nprefix = \"derived\"\n");
    let err = with_file(&no_slash).unwrap_err().to_string();
    assert!(err.contains("storage.buckets[0].prefix"), "{err}");
    let missing_default = "[[storage.buckets]]\nsource = \"photos\"\n";
    let err = with_file(missing_default).unwrap_err().to_string();
    assert!(err.contains("storage.default_bucket"), "{err}");
    let err = with_file("[queue]\nwait_secs = 0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("queue.wait_secs"), "{err}");
}

#[test]
fn kubernetes_service_links_are_not_config() {
    let c = Config::load(
        None,
        env(&[
            ("DERIVD_PORT", "tcp://10.0.0.1:8080"),
            ("DERIVD_PORT_8080_TCP_ADDR", "10.0.0.1"),
            ("DERIVD_SERVICE_HOST", "10.0.0.1"),
            ("DERIVD_SERVICE_PORT", "8080"),
        ]),
    )
    .unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn readme_aws_example_is_a_valid_config() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.starts_with("backend = \"aws\""))
        .expect("README has an aws config example");
    let c = with_file(block).unwrap();
    assert_eq!(c.backend, Backend::Aws);
    assert_eq!(c.bucket("my-bucket").unwrap().derived(), "my-bucket");
}

#[test]
fn empty_strings_of_the_old_format_still_mean_off() {
    let c = with_file(
        "[queue]\nrepair = \"\"\n[http]\nlisten = \"\"\n[notices]\nsns_topic_arn = \"\"\n",
    )
    .unwrap();
    assert_eq!(
        (c.queue.repair, c.http.listen, c.notices.sns_topic_arn),
        (None, None, None)
    );
    let c = Config::load(None, env(&[("DERIVD_QUEUE__REPAIR", "fix")])).unwrap();
    assert_eq!(c.queue.repair.as_deref(), Some("fix"));
}

#[test]
fn roles_default_to_what_is_configured_and_are_validated() {
    use crate::config::Role;
    let c = Config::default();
    assert_eq!(c.roles(), vec![Role::Jobs, Role::Http]);
    let c = Config::load(None, env(&[("DERIVD_SERVE__ROLES", "[\"jobs\"]")])).unwrap();
    assert_eq!(c.roles(), vec![Role::Jobs]);
    let err = Config::load(None, env(&[("DERIVD_SERVE__ROLES", "[\"repair\"]")])).unwrap_err();
    assert!(err.to_string().contains("serve.roles") && err.to_string().contains("queue.repair"));
    let err = Config::load(None, env(&[("DERIVD_SERVE__ROLES", "[]")])).unwrap_err();
    assert!(err.to_string().contains("serve.roles"), "{err}");
    let err = Config::load(
        None,
        env(&[("DERIVD_SERVE__ROLES", "[\"jobs\", \"jobs\"]")]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    let err = Config::load(None, env(&[("DERIVD_SERVE__ROLES", "[\"web\"]")])).unwrap_err();
    assert!(err.to_string().contains("serve.roles"), "{err}");
}

#[test]
fn provision_keys_are_validated_by_name() {
    let c = Config::load(None, Vec::new()).unwrap();
    assert_eq!(c.provision.loss_topic, "derivd-lost-objects");
    for (text, key) in [
        (
            "[provision]\nloss_topic = \"a b\"\n",
            "provision.loss_topic",
        ),
        ("[provision]\nloss_topic = \"\"\n", "provision.loss_topic"),
        ("[provision]\ndlq_suffix = \"\"\n", "provision.dlq_suffix"),
        (
            "[provision]\ndlq_suffix = \".dlq\"\n",
            "provision.dlq_suffix",
        ),
        (
            "[provision]\nupload_prefix = \"uploads\"\n",
            "provision.upload_prefix",
        ),
        // Nested in the default bucket's derived prefix "derived/".
        (
            "[provision]\nupload_prefix = \"derived/in/\"\n",
            "provision.upload_prefix",
        ),
        ("[provision]\nlos_topic = \"x\"\n", "los_topic"),
    ] {
        let err = with_file(text).unwrap_err().to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
}

#[test]
fn http_hardening_keys_are_validated_and_named() {
    for (text, key) in [
        (
            "[http]\nheader_timeout_secs = 0\n",
            "http.header_timeout_secs",
        ),
        ("[http]\nbody_timeout_secs = 0\n", "http.body_timeout_secs"),
        ("[http]\nmax_connections = 0\n", "http.max_connections"),
        (
            "[http]\nallowed_hosts = [\"localhost:8080\"]\n",
            "http.allowed_hosts[0]",
        ),
        (
            "[http]\nallowed_hosts = [\"ok\", \"::1\"]\n",
            "http.allowed_hosts[1]",
        ),
        ("[http]\nallowed_hosts = [\"\"]\n", "http.allowed_hosts[0]"),
    ] {
        let err = with_file(text).unwrap_err().to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
    let c = with_file("[http]\nallowed_hosts = [\"derivd.local\", \"[fe80::1]\"]\n").unwrap();
    assert_eq!(c.http.allowed_hosts, ["derivd.local", "[fe80::1]"]);
}
