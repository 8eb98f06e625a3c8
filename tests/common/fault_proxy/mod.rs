//! A fault-injecting HTTP/1.1 reverse proxy for putting between SDK clients and moto.
//!
//! Why: moto always answers promptly and correctly, so on its own it cannot show how
//! derivd behaves when AWS throttles, fails, stalls, refuses access or drops connections.
//! Point a client's endpoint at [`FaultProxy::url`] and add rules at run time: answer the
//! next N matching requests (by method, path, JSON `X-Amz-Target` or query-protocol
//! `Action`) with an S3-, SQS- or SNS-shaped error such as 403 AccessDenied, delay them, or
//! cut the connection. Requests
//! no rule stops are forwarded to moto unchanged. Every request is logged for counting.
//! On top of the rules, [`FaultProxy::set_chaos`] faults a fraction of the requests at
//! random, from a seed ([`chaos`]); [`FaultProxy::injected`] counts what it did.
//!
//! Files: this one holds the rules and the handle; `serve.rs` the per-connection loop and
//! forwarding, `wire.rs` the HTTP framing, `answer.rs` the error bodies.
//!
//! Hand-written on tokio because hyper is not a direct dependency. Client connections are
//! kept alive; each forwarded request uses a fresh upstream connection with
//! `Connection: close`. Bodies are passed through byte for byte (Content-Length or chunked);
//! responses framed by end-of-stream get a Content-Length. Test-only: no TLS, whole
//! messages are buffered in memory.

mod answer;
pub mod chaos;
mod serve;
mod wire;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

pub use chaos::{Chaos, FaultKind, Service, Tally};
use serve::{form_action, serve};
use wire::Head;

/// Which requests a rule applies to; every given part must match.
#[derive(Debug, Clone, Default)]
pub struct Match {
    method: Option<String>,
    path: Option<String>,
    target: Option<String>,
    action: Option<String>,
}

impl Match {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }
    /// Requests with this HTTP method (`"PUT"`, `"HEAD"`, ...).
    pub fn method(method: &str) -> Self {
        let method = Some(method.to_ascii_uppercase());
        Match {
            method,
            ..Self::any()
        }
    }
    /// ... whose request target (path and query, as sent) contains `s`.
    pub fn path(mut self, s: &str) -> Self {
        self.path = Some(s.to_owned());
        self
    }
    /// ... whose `X-Amz-Target` header contains `op` (JSON-protocol services such as SQS
    /// send every call as `POST /`; the operation is in that header, e.g. `ReceiveMessage`).
    pub fn target(mut self, op: &str) -> Self {
        self.target = Some(op.to_owned());
        self
    }
    /// ... whose query-protocol `Action` is `op` (SNS sends every call as a form-encoded
    /// `POST /`; the operation is the body's `Action=` field, e.g. `GetTopicAttributes`).
    pub fn action(mut self, op: &str) -> Self {
        self.action = Some(op.to_owned());
        self
    }
    fn matches(&self, r: &Seen) -> bool {
        let target = r.amz_target.as_deref().unwrap_or_default();
        self.method.as_ref().is_none_or(|m| *m == r.method)
            && self.path.as_ref().is_none_or(|p| r.path.contains(p))
            && self.target.as_ref().is_none_or(|t| target.contains(t))
            && self
                .action
                .as_ref()
                .is_none_or(|a| r.action.as_ref() == Some(a))
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    pub amz_target: Option<String>,
    /// Query-protocol operation (the form body's `Action`), if any.
    pub action: Option<String>,
    /// Whether a fail/drop rule (or the chaos) answered it instead of the upstream.
    pub faulted: bool,
    /// What the chaos injected, if anything (latency included).
    pub chaos: Option<FaultKind>,
    /// Query-protocol call (SNS): form-encoded body, XML errors.
    form_body: bool,
}

impl Seen {
    /// What rules match on, from the request's head and (if already read) its body.
    fn of(head: &Head, body: Option<&[u8]>) -> Seen {
        let mut parts = head.start.split(' ');
        let method = parts.next().unwrap_or_default().to_ascii_uppercase();
        let path = parts.next().unwrap_or_default().to_owned();
        let form_body = head
            .get("content-type")
            .is_some_and(|c| c.contains("form-urlencoded"));
        Seen {
            method,
            path,
            amz_target: head.get("x-amz-target").map(str::to_owned),
            action: body.filter(|_| form_body).and_then(form_action),
            faulted: false,
            chaos: None,
            form_body,
        }
    }
}

#[derive(Debug, Clone)]
enum Action {
    Fail {
        status: u16,
        code: Option<String>,
    },
    Delay(Duration),
    Drop,
    /// A TCP reset instead of an answer.
    Reset,
    /// Forward, then reset instead of passing the answer on.
    LostAnswer,
}

#[derive(Debug)]
struct Rule {
    id: u64,
    matcher: Match,
    remaining: usize,
    action: Action,
}

/// Handle to a rule, for [`FaultProxy::remove`] and [`FaultProxy::remaining`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleId(u64);

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    log: Vec<Seen>,
    next_id: u64,
    chaos: Option<Chaos>,
    /// Requests the chaos has considered.
    chaos_seen: u64,
}

impl State {
    /// Logs the request and consumes matching rules: all delays add up; the first
    /// fail/drop rule decides the answer.
    fn decide(&mut self, seen: &mut Seen) -> (Duration, Option<Action>) {
        let mut delay = Duration::ZERO;
        let mut stop = None;
        for rule in self.rules.iter_mut() {
            if rule.remaining == 0 || !rule.matcher.matches(seen) {
                continue;
            }
            match &rule.action {
                Action::Delay(d) => delay += *d,
                _ if stop.is_some() => continue,
                a => stop = Some(a.clone()),
            }
            rule.remaining -= 1;
        }
        if stop.is_none() {
            if let Some((kind, extra)) = self.chaos_pick(seen) {
                seen.chaos = Some(kind);
                match kind {
                    FaultKind::Latency => delay += extra,
                    FaultKind::SlowDown => {
                        stop = Some(Action::Fail {
                            status: 503,
                            code: None,
                        })
                    }
                    FaultKind::Internal => {
                        stop = Some(Action::Fail {
                            status: 500,
                            code: None,
                        })
                    }
                    FaultKind::Reset => stop = Some(Action::Reset),
                    FaultKind::LostAnswer => stop = Some(Action::LostAnswer),
                }
            }
        }
        seen.faulted = stop.is_some();
        self.log.push(seen.clone());
        (delay, stop)
    }

    fn chaos_pick(&mut self, seen: &Seen) -> Option<(FaultKind, Duration)> {
        let chaos = self.chaos.as_ref().filter(|c| c.applies(seen))?;
        let n = self.chaos_seen;
        self.chaos_seen += 1;
        chaos.pick(n)
    }
}

/// The proxy; stops (and cuts its connections) when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (random port) and forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let rest = upstream.strip_prefix("http://").unwrap_or_else(|| {
            panic!("fault proxy upstream must be http://host:port, got {upstream}")
        });
        let upstream: Arc<str> = rest.split('/').next().unwrap_or(rest).into();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fault proxy");
        let addr = listener.local_addr().expect("fault proxy address");
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let accept = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            let _ = stream.set_nodelay(true);
                            conns.spawn(serve(stream, upstream.clone(), st.clone()));
                        }
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        FaultProxy {
            addr,
            state,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT`, for an SDK endpoint override.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn add(&self, matcher: Match, remaining: usize, action: Action) -> RuleId {
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        let id = st.next_id;
        let rule = Rule {
            id,
            matcher,
            remaining,
            action,
        };
        st.rules.push(rule);
        RuleId(id)
    }

    fn count(&self, pred: impl Fn(&Seen) -> bool) -> usize {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|s| pred(s))
            .count()
    }

    /// Answers the next `n` matching requests with `status` and an error body shaped like
    /// the service's (S3 XML, SQS JSON or query-protocol XML) carrying a fitting code
    /// (500 InternalError, 503 SlowDown / ServiceUnavailable, 403 AccessDenied, ...).
    pub fn fail_next(&self, m: Match, n: usize, status: u16) -> RuleId {
        self.add(m, n, Action::Fail { status, code: None })
    }

    /// Answers the next `n` matching requests as AWS answers a caller without permission:
    /// 403 with the service's code (S3 and SQS `AccessDenied`, SNS `AuthorizationError`).
    pub fn deny_next(&self, m: Match, n: usize) -> RuleId {
        self.fail_next(m, n, 403)
    }

    /// Like [`fail_next`](Self::fail_next) with an explicit error code.
    pub fn fail_next_with_code(&self, m: Match, n: usize, status: u16, code: &str) -> RuleId {
        let code = Some(code.to_owned());
        self.add(m, n, Action::Fail { status, code })
    }

    /// Holds the next `n` matching requests for `by` before handling them
    /// (`usize::MAX` for all of them).
    pub fn delay(&self, m: Match, n: usize, by: Duration) -> RuleId {
        self.add(m, n, Action::Delay(by))
    }

    /// Closes the connection on the next `n` matching requests without answering.
    pub fn drop_next(&self, m: Match, n: usize) -> RuleId {
        self.add(m, n, Action::Drop)
    }

    /// Starts (or, with `None`, stops) random faults; rules still come first.
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        let mut st = self.state.lock().unwrap();
        st.chaos = chaos;
        st.chaos_seen = 0;
    }

    /// What the chaos injected so far, by service and kind.
    pub fn injected(&self) -> Tally {
        let mut t = Tally::new();
        for s in &self.state.lock().unwrap().log {
            if let Some(kind) = s.chaos {
                *t.entry((Service::of(s), kind)).or_default() += 1;
            }
        }
        t
    }

    pub fn remove(&self, id: RuleId) {
        self.state.lock().unwrap().rules.retain(|r| r.id != id.0);
    }

    /// How many more requests the rule will act on (0 once spent or removed).
    pub fn remaining(&self, id: RuleId) -> usize {
        let st = self.state.lock().unwrap();
        let rule = st.rules.iter().find(|r| r.id == id.0);
        rule.map_or(0, |r| r.remaining)
    }

    /// Requests seen with this method (faulted ones included).
    pub fn seen(&self, method: &str) -> usize {
        self.seen_matching(&Match::method(method))
    }

    pub fn seen_matching(&self, m: &Match) -> usize {
        self.count(|s| m.matches(s))
    }

    pub fn seen_total(&self) -> usize {
        self.count(|_| true)
    }

    /// Requests answered by a fail or drop rule.
    pub fn faulted(&self) -> usize {
        self.count(|s| s.faulted)
    }

    pub fn log(&self) -> Vec<Seen> {
        self.state.lock().unwrap().log.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
