//! A multi-process harness: real `derivd serve` processes, each with its own config file and
//! environment, that a test starts, `kill -9`s, restarts and stops with SIGTERM, and whose
//! `/metrics` it reads over HTTP.
//!
//! Why processes and not the in-process app: scale-out, crash and soak tests are about what
//! happens *between* processes (leases, conditional writes, file locks, a process dying with
//! work in flight), and the in-process service shares a runtime, a registry and caches. And
//! the harness talks to derivd only through its public surface — the binary, its config and
//! environment, its log line naming the bound HTTP address, and HTTP — so it survives any
//! restructuring of the crate's internals. Nothing here imports `derivd::`.
//!
//! Every process binds HTTP on `127.0.0.1:0` (unless its spec says otherwise); the harness
//! learns the port from the `HTTP listening addr=…` line derivd logs at start-up, so ports
//! never collide, even across restarts. Logs go to `<dir>/<name>.<start>.log` (one file per
//! start, kept for the post-mortem of a failed test). Processes still running when a
//! [`Proc`] is dropped are killed by PID.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The `derivd` binary cargo built for this test run (debug for `cargo test`, release for
/// `cargo test --release`).
pub fn derivd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_derivd"))
}

/// How to run one process: its name (for logs and messages), its config file's text, and
/// extra environment variables (`DERIVD_*` overrides, AWS settings). `DERIVD_*` variables of
/// the test's own environment are never passed on, so only the spec configures the process.
#[derive(Debug, Clone)]
pub struct ProcSpec {
    pub name: String,
    pub config_toml: String,
    pub env: Vec<(String, String)>,
}

impl ProcSpec {
    pub fn new(name: &str, config_toml: &str) -> ProcSpec {
        ProcSpec {
            name: name.to_string(),
            config_toml: config_toml.to_string(),
            env: Vec::new(),
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> ProcSpec {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS`: resident now, bytes.
    pub rss: u64,
    /// `VmHWM`: peak resident since the process started, bytes.
    pub peak: u64,
}

/// One `derivd serve` process, possibly across several starts.
pub struct Proc {
    spec: ProcSpec,
    dir: PathBuf,
    config_path: PathBuf,
    child: Option<Child>,
    addr: Option<SocketAddr>,
    starts: u32,
}

impl Proc {
    /// Writes the config file under `dir`; does not start the process.
    pub fn new(dir: &Path, spec: ProcSpec) -> Proc {
        std::fs::create_dir_all(dir).expect("create the harness dir");
        let config_path = dir.join(format!("{}.toml", spec.name));
        std::fs::write(&config_path, &spec.config_toml).expect("write the config file");
        Proc {
            spec,
            dir: dir.to_path_buf(),
            config_path,
            child: None,
            addr: None,
            starts: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// `derivd --config <this process's file> ARGS` with this process's environment, for
    /// one-shot commands (`submit`, `audit`) that must see the same configuration.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(derivd_bin());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DERIVD_") {
                cmd.env_remove(&key);
            }
        }
        cmd.arg("--config").arg(&self.config_path).args(args);
        cmd.current_dir(&self.dir).env("NO_COLOR", "1");
        cmd.envs(self.spec.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.dir.join(format!("{}.{start}.log", self.spec.name))
    }

    /// The log of the current (or last) start.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.starts)).unwrap_or_default()
    }

    /// Starts `derivd serve` and waits until it has logged its HTTP address and answers
    /// `/healthz`. Panics (with the log) if it exits or takes longer than 60 s.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name());
        self.starts += 1;
        let log = std::fs::File::create(self.log_path(self.starts)).expect("create log");
        let mut cmd = self.command(&["serve"]);
        if !self
            .spec
            .env
            .iter()
            .any(|(k, _)| k == "DERIVD_HTTP__LISTEN")
        {
            cmd.env("DERIVD_HTTP__LISTEN", "127.0.0.1:0");
        }
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn derivd serve"));
        let addr = wait_for(&format!("{} to log its address", self.name()), 60, || {
            let found = self
                .exited_early()
                .map(Err)
                .or_else(|| listening_addr(&self.log()).map(Ok));
            async move { found }
        })
        .await
        .unwrap_or_else(|status| panic!("{} exited ({status}):\n{}", self.name(), self.log()));
        self.addr = Some(addr);
        let url = self.url("/healthz");
        wait_for(&format!("{} to answer /healthz", self.name()), 60, || {
            let url = url.clone();
            async move { http_get(&url).await.ok().filter(|(code, _)| *code == 200) }
        })
        .await;
    }

    fn exited_early(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().expect("try_wait")
    }

    /// PID of the running process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.exited_early().is_none()
    }

    /// `kill -9`: the process gets no chance to finish or release anything.
    pub fn kill9(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("kill9: not running");
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        self.addr = None;
        status
    }

    /// SIGTERM, then waits up to `timeout` for the process to exit (and kills it after
    /// that, panicking, so a hung shutdown fails the test).
    pub async fn sigterm(&mut self, timeout: Duration) -> ExitStatus {
        let pid = self.pid().expect("sigterm: not running") as libc::pid_t;
        // SAFETY: kill(2) on the PID of a child we spawned and have not yet reaped, so the
        // PID cannot have been reused for another process.
        assert_eq!(
            unsafe { libc::kill(pid, libc::SIGTERM) },
            0,
            "kill -TERM {pid}"
        );
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited_early() {
                self.child = None;
                self.addr = None;
                return status;
            }
            if Instant::now() > deadline {
                let status = self.kill9();
                panic!(
                    "{} ignored SIGTERM for {timeout:?} ({status}):\n{}",
                    self.name(),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the process again (after [`Proc::kill9`] or [`Proc::sigterm`]), same config.
    pub async fn restart(&mut self) {
        if self.is_running() {
            self.kill9();
        }
        self.child = None;
        self.start().await;
    }

    /// `http://ADDR{path}` of the running process.
    pub fn url(&self, path: &str) -> String {
        let addr = self
            .addr
            .unwrap_or_else(|| panic!("{} has no HTTP address", self.name()));
        format!("http://{addr}{path}")
    }

    /// The process's `/metrics`, parsed.
    pub async fn metrics(&self) -> Metrics {
        let (code, body) = http_get(&self.url("/metrics"))
            .await
            .unwrap_or_else(|e| panic!("GET /metrics of {}: {e}", self.name()));
        assert_eq!(code, 200, "/metrics of {}: {body}", self.name());
        Metrics::parse(&body)
    }

    /// Resident and peak memory of the running process (Linux `/proc`).
    pub fn memory(&self) -> Memory {
        let pid = self.pid().expect("memory: not running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
        let kb = |field: &str| -> u64 {
            let line = status
                .lines()
                .find(|l| l.starts_with(field))
                .expect("field in status");
            let n: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            n * 1024
        };
        Memory {
            rss: kb("VmRSS:"),
            peak: kb("VmHWM:"),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The address in derivd's `HTTP listening addr=…` log line, if it has been logged.
pub fn listening_addr(log: &str) -> Option<SocketAddr> {
    let line = log.lines().find(|l| l.contains("HTTP listening"))?;
    let plain = strip_ansi(line);
    let value = plain.split("addr=").nth(1)?.split_whitespace().next()?;
    value.trim_matches('"').parse().ok()
}

/// Drops ANSI colour sequences (`ESC [ … letter`), in case a log is coloured after all.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One GET; (status, body).
pub async fn http_get(url: &str) -> Result<(u16, String), reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let resp = client.get(url).send().await?;
    let code = resp.status().as_u16();
    Ok((code, resp.text().await?))
}

/// Polls `probe` every 100 ms until it returns `Some`, for at most `timeout_secs`; panics
/// naming `what` on timeout.
pub async fn wait_for<T, F, Fut>(what: &str, timeout_secs: u64, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout_secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Prometheus text exposition, as (name, labels, value) samples.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(parse_sample)
            .collect();
        Metrics { samples }
    }

    /// Sum of every sample of `name` whose labels include all of `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }
}

/// `name{k="v",…} value` or `name value`. Label values here never hold `,` or `"`
/// (derivd's labels are fixed words).
fn parse_sample(line: &str) -> Option<(String, BTreeMap<String, String>, f64)> {
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match head.split_once('{') {
        Some((name, rest)) => {
            let inner = rest.strip_suffix('}')?;
            let labels = inner
                .split(',')
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.to_string(), v.trim_matches('"').to_string()))
                })
                .collect();
            (name, labels)
        }
        None => (head, BTreeMap::new()),
    };
    Some((name.to_string(), labels, value))
}

/// Sum of a metric over every process that is running (a killed process's counters are
/// gone with it).
pub async fn sum_running(procs: &mut [Proc], name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut total = 0.0;
    for p in procs.iter_mut() {
        if p.is_running() {
            total += p.metrics().await.sum(name, labels);
        }
    }
    total
}
