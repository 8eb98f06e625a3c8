//! Running one external tool, contained: the one way derivd starts ffmpeg, ffprobe,
//! pdfinfo and pdftoppm.
//!
//! - no shell: the program and every argument are passed as they are;
//! - an empty environment but `PATH=/usr/bin:/bin` and `LC_ALL=C` (no `LD_PRELOAD`, no
//!   proxy variables, no AWS credentials reach the tool);
//! - stdin is `/dev/null`; stdout is read (capped), stderr kept (its last 4 KiB) for the
//!   error;
//! - rlimits set before the tool's `exec`: address space, CPU seconds, open files, no file
//!   writes at all (`RLIMIT_FSIZE = 0`: output goes to the stdout pipe only), no core. They
//!   are set by util-linux's `prlimit`, which derivd starts with `posix_spawn` and which
//!   then execs the tool: setting them in a `fork`ed child of derivd instead (a `pre_exec`
//!   hook) made every page derivd wrote afterwards a copy-on-write fault, which measured
//!   30–40 ms per run on a 128 MiB working set, more than a page render;
//! - its own process group, killed (SIGKILL) at the deadline, so a hanging decoder never
//!   outlives its job.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use super::ExtractError;

/// Sets the rlimits and execs the tool (util-linux, in every Debian system).
const LAUNCHER: &str = "prlimit";

/// Most stderr kept for an error message.
const STDERR_KEPT: usize = 4096;

/// The limits every tool run gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sandbox {
    /// RLIMIT_AS of the tool, bytes.
    pub memory_bytes: u64,
    /// RLIMIT_CPU of the tool, seconds.
    pub cpu_seconds: u64,
    /// Most bytes read from the tool's stdout; more is a limit error.
    pub max_output_bytes: u64,
}

/// A finished run that exited with status 0.
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// A run that did not exit cleanly, for the tool's own module to classify.
#[derive(Debug)]
pub enum Failure {
    /// Exited non-zero or was killed by a signal other than ours.
    Failed { status: ExitStatus, stderr: String },
    /// Typed already (missing tool, deadline, output limit).
    Error(ExtractError),
}

impl Failure {
    /// The failure as a typed error, a non-zero exit counting as `corrupt` input.
    pub fn into_error(self, tool: &str) -> ExtractError {
        match self {
            Failure::Error(e) => e,
            Failure::Failed { status, stderr } => classify_exit(tool, status, stderr),
        }
    }
}

/// A signal from our own rlimits means the input asked for too much; any other non-zero
/// end means the tool could not read it.
fn classify_exit(tool: &str, status: ExitStatus, stderr: String) -> ExtractError {
    match status.signal() {
        Some(libc::SIGXCPU) => ExtractError::LimitExceeded(format!("{tool}: CPU time limit")),
        Some(libc::SIGKILL | libc::SIGSEGV | libc::SIGABRT) if stderr.is_empty() => {
            ExtractError::LimitExceeded(format!("{tool}: killed (memory limit?)"))
        }
        _ => ExtractError::Corrupt(format!("{tool} ({status}): {stderr}")),
    }
}

impl Sandbox {
    /// Runs `program args…` to completion or `deadline`.
    pub fn run(
        &self,
        program: &Path,
        args: &[OsString],
        deadline: Instant,
    ) -> Result<Output, Failure> {
        let tool = tool_name(program);
        let mut child = self.spawn(&tool, program, args)?;
        let pid = child.id() as libc::pid_t;
        let (out_reader, err_reader) = readers(&mut child, self.max_output_bytes, pid);
        let cap = self.max_output_bytes;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let wait = deadline.saturating_duration_since(Instant::now());
        let (status, timed_out) = match rx.recv_timeout(wait) {
            Ok(s) => (s, false),
            Err(_) => {
                kill_group(pid);
                (
                    rx.recv().unwrap_or_else(|e| Err(std::io::Error::other(e))),
                    true,
                )
            }
        };
        let stdout = out_reader.join().unwrap_or_else(|_| Ok(Vec::new()));
        let stderr = tail(&err_reader.join().unwrap_or_default());
        let status = status.map_err(|e| internal(&tool, e))?;
        if timed_out {
            return Err(Failure::Error(ExtractError::Timeout { tool, stderr }));
        }
        let stdout = stdout.map_err(|e| internal(&tool, e))?;
        if stdout.len() as u64 > cap {
            let m = format!("{tool} wrote more than {cap} bytes");
            return Err(Failure::Error(ExtractError::LimitExceeded(m)));
        }
        if !status.success() {
            return Err(Failure::Failed { status, stderr });
        }
        Ok(Output { stdout, stderr })
    }

    /// Starts `program` under `prlimit` with `posix_spawn` (no `pre_exec` hook, so no fork
    /// of derivd's memory), in the sandbox's environment and its own process group.
    fn spawn(&self, tool: &str, program: &Path, args: &[OsString]) -> Result<Child, Failure> {
        let missing = |message: String| {
            Failure::Error(ExtractError::ToolMissing {
                tool: tool.to_string(),
                message,
            })
        };
        let program = locate(program).ok_or_else(|| missing("not found".into()))?;
        let launcher = locate(Path::new(LAUNCHER))
            .ok_or_else(|| missing(format!("{LAUNCHER} not found: install util-linux")))?;
        Command::new(launcher)
            .args(self.limit_args())
            .arg("--")
            .arg(&program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| missing(format!("cannot start {}: {e}", program.display())))
    }

    /// `prlimit`'s options for the limits (soft = hard, so the tool cannot raise them).
    fn limit_args(&self) -> Vec<String> {
        vec![
            format!("--as={}", self.memory_bytes),
            format!("--cpu={}", self.cpu_seconds),
            "--nofile=64".into(),
            "--fsize=0".into(),
            "--core=0".into(),
        ]
    }
}

/// Threads draining the child's stdout (capped: over `cap`, the tool is stopped rather
/// than left blocked on a full pipe) and stderr.
fn readers(
    child: &mut std::process::Child,
    cap: u64,
    pid: libc::pid_t,
) -> (Reader<std::io::Result<Vec<u8>>>, Reader<Vec<u8>>) {
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = (&mut stdout).take(cap + 1).read_to_end(&mut buf);
        if buf.len() as u64 > cap {
            kill_group(pid);
        }
        r.map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    (out, err)
}

type Reader<T> = std::thread::JoinHandle<T>;

fn kill_group(pid: libc::pid_t) {
    // SAFETY: signals our own child's process group (it is its own leader).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

fn internal(tool: &str, e: std::io::Error) -> Failure {
    Failure::Error(ExtractError::Internal(format!("{tool}: {e}")))
}

fn tool_name(program: &Path) -> String {
    program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.display().to_string())
}

/// The last [`STDERR_KEPT`] bytes of stderr, trimmed, as text.
fn tail(bytes: &[u8]) -> String {
    let from = bytes.len().saturating_sub(STDERR_KEPT);
    String::from_utf8_lossy(&bytes[from..]).trim().to_string()
}

/// `PATH` lookup of a tool named without a slash, as the sandbox's own `PATH` would do it.
pub fn locate(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sandbox() -> Sandbox {
        Sandbox {
            memory_bytes: 512 << 20,
            cpu_seconds: 10,
            max_output_bytes: 1 << 20,
        }
    }

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_environment_is_empty_and_no_file_can_be_written() {
        std::env::set_var("DERIVD_SANDBOX_SECRET", "x");
        let soon = Instant::now() + Duration::from_secs(10);
        let out = sandbox().run(Path::new("/usr/bin/env"), &[], soon).unwrap();
        let env = String::from_utf8(out.stdout).unwrap();
        assert!(!env.contains("DERIVD_SANDBOX_SECRET"), "{env}");
        assert!(env.contains("PATH=/usr/bin:/bin"));
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let cmd = format!("echo hi > {}", target.display());
        let r = sandbox().run(Path::new("/bin/sh"), &args(&["-c", &cmd]), soon);
        assert!(r.is_err());
        assert_eq!(std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0), 0);
    }

    #[test]
    fn the_limits_are_those_of_the_sandbox() {
        let soon = Instant::now() + Duration::from_secs(10);
        let script = "ulimit -v; ulimit -t; ulimit -n; ulimit -f; ulimit -c";
        let out = sandbox().run(Path::new("/bin/sh"), &args(&["-c", script]), soon);
        let text = String::from_utf8(out.unwrap().stdout).unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got, ["524288", "10", "64", "0", "0"], "{text}");
    }

    #[test]
    fn a_hanging_tool_is_killed_at_the_deadline() {
        let started = Instant::now();
        let soon = started + Duration::from_millis(300);
        let r = sandbox().run(Path::new("/bin/sleep"), &args(&["30"]), soon);
        let e = r.unwrap_err().into_error("sleep");
        assert!(matches!(e, ExtractError::Timeout { .. }), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn missing_tools_and_failures_are_typed() {
        let soon = Instant::now() + Duration::from_secs(10);
        let r = sandbox().run(Path::new("/nonexistent/ffmpeg"), &[], soon);
        let e = r.unwrap_err().into_error("ffmpeg");
        assert!(matches!(e, ExtractError::ToolMissing { .. }), "{e:?}");
        let r = sandbox().run(
            Path::new("/bin/sh"),
            &args(&["-c", "echo bad >&2; exit 3"]),
            soon,
        );
        let e = r.unwrap_err().into_error("sh");
        assert!(
            matches!(&e, ExtractError::Corrupt(m) if m.contains("bad")),
            "{e:?}"
        );
        let big = Sandbox {
            max_output_bytes: 10,
            ..sandbox()
        };
        let r = big.run(
            Path::new("/bin/sh"),
            &args(&["-c", "yes | head -c 100000"]),
            soon,
        );
        let e = r.unwrap_err().into_error("sh");
        assert!(matches!(e, ExtractError::LimitExceeded(_)), "{e:?}");
    }
}
