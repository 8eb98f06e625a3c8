//! A fault-injecting HTTP/1.1 reverse proxy for putting between SDK clients and moto.
//!
//! Why: moto always answers promptly and correctly, so on its own it cannot show how
//! derivd behaves when AWS throttles, fails, stalls, refuses access or drops connections.
//! Point a client's endpoint at [`FaultProxy::url`] and add rules at run time: answer the
//! next N matching requests (by method, path, JSON `X-Amz-Target` or query-protocol
//! `Action`) with an S3-, SQS- or SNS-shaped error such as 403 AccessDenied, delay them, or
//! cut the connection. Requests
//! no rule stops are forwarded to moto unchanged. Every request is logged for counting.
//!
//! Hand-written on tokio because hyper is not a direct dependency. Client connections are
//! kept alive; each forwarded request uses a fresh upstream connection with
//! `Connection: close`. Bodies are passed through byte for byte (Content-Length or chunked);
//! responses framed by end-of-stream get a Content-Length. Test-only: no TLS, whole
//! messages are buffered in memory.

use std::io::ErrorKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

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
    /// Whether a fail/drop rule answered it instead of the upstream.
    pub faulted: bool,
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
            form_body,
        }
    }
}

#[derive(Debug, Clone)]
enum Action {
    Fail { status: u16, code: Option<String> },
    Delay(Duration),
    Drop,
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
        seen.faulted = stop.is_some();
        self.log.push(seen.clone());
        (delay, stop)
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

/// Serves one client connection until it closes (or a drop rule cuts it).
async fn serve(client: TcpStream, upstream: Arc<str>, state: Arc<Mutex<State>>) {
    let mut client = Wire::new(client);
    while let Ok(Some(head)) = client.read_head().await {
        let http10 = head.start.ends_with(" HTTP/1.0");
        // The body is read before deciding, so rules can match a query-protocol Action;
        // except after `Expect: 100-continue`, which must be answered first.
        let expects_continue = head.has_token("expect", "100-continue");
        let early_body = if expects_continue {
            None
        } else {
            match client.read_body(&head).await {
                Ok(body) => Some(body),
                Err(_) => return,
            }
        };
        let mut seen = Seen::of(&head, early_body.as_deref());
        let (delay, stop) = state.lock().unwrap().decide(&mut seen);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut keep_alive = !head.has_token("connection", "close")
            && (!http10 || head.has_token("connection", "keep-alive"));
        let response = match stop {
            Some(Action::Drop) => return,
            Some(Action::Fail { status, code }) => {
                if expects_continue {
                    keep_alive = false; // the body may never come; don't wait for it
                }
                error_response(&seen, status, code.as_deref())
            }
            None | Some(Action::Delay(_)) => {
                let body = match early_body {
                    Some(body) => body,
                    None => {
                        if client.send(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err() {
                            return;
                        }
                        let Ok(body) = client.read_body(&head).await else {
                            return;
                        };
                        body
                    }
                };
                match forward(&upstream, &head, &body, seen.method == "HEAD").await {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("fault proxy: upstream {upstream}: {e}");
                        error_response(&seen, 502, Some("BadGateway"))
                    }
                }
            }
        };
        let (mut out, body) = response;
        out.push_str(if keep_alive {
            "\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        let mut out = out.into_bytes();
        out.extend_from_slice(&body);
        if client.send(&out).await.is_err() || !keep_alive {
            return;
        }
    }
}

/// Sends the request upstream on a fresh connection and returns the response, reframed
/// for a kept-alive client.
async fn forward(
    upstream: &str,
    head: &Head,
    body: &[u8],
    is_head: bool,
) -> std::io::Result<Response> {
    let mut up = Wire::new(TcpStream::connect(upstream).await?);
    let mut req = format!("{}\r\n", head.start).into_bytes();
    for (k, v) in &head.headers {
        if !is_hop_header(k) && !k.eq_ignore_ascii_case("expect") {
            req.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
    }
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req.extend_from_slice(body);
    up.send(&req).await?;
    let (resp, status) = loop {
        let h = up.read_head().await?.ok_or(ErrorKind::UnexpectedEof)?;
        let status = h
            .start
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(502);
        if status >= 200 {
            break (h, status); // skip 1xx interim responses
        }
    };
    let mut head_out = format!("{}\r\n", resp.start);
    for (k, v) in &resp.headers {
        if !is_hop_header(k) {
            head_out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    let bodiless = is_head || status == 204 || status == 304;
    let framed =
        resp.has_token("transfer-encoding", "chunked") || resp.get("content-length").is_some();
    let body = if bodiless {
        Vec::new()
    } else if framed {
        up.read_body(&resp).await?
    } else {
        let b = up.read_to_end().await?;
        head_out.push_str(&format!("Content-Length: {}\r\n", b.len()));
        b
    };
    Ok((head_out, body))
}

/// The `Action` field of a form-encoded (query-protocol) body.
fn form_action(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned())
}

fn is_hop_header(name: &str) -> bool {
    let hop = ["connection", "keep-alive", "proxy-connection"];
    hop.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// A complete response: status line and headers (each ending in CRLF), and the body.
type Response = (String, Vec<u8>);

/// An error answer in the shape the calling service's SDK parses.
fn error_response(req: &Seen, status: u16, code: Option<&str>) -> Response {
    let json = req.amz_target.is_some();
    let query = req.form_body;
    let s3 = !json && !query;
    let code = code.map(str::to_owned).unwrap_or_else(|| {
        match status {
            400 if s3 => "InvalidRequest",
            400 => "InvalidParameterValue",
            403 if query => "AuthorizationError", // SNS's word for it
            403 => "AccessDenied",
            404 if s3 => "NoSuchKey",
            404 => "QueueDoesNotExist",
            405 => "MethodNotAllowed",
            409 => "OperationAborted",
            412 => "PreconditionFailed",
            429 | 503 if s3 => "SlowDown",
            429 => "ThrottlingException",
            503 => "ServiceUnavailable",
            500 if s3 => "InternalError",
            s if s >= 500 => "InternalFailure",
            _ => "BadRequest",
        }
        .to_owned()
    });
    let msg = format!("injected by fault proxy ({status} {code})");
    let fault = if status >= 500 { "Receiver" } else { "Sender" };
    let mut head = format!("HTTP/1.1 {status} Injected\r\nx-amz-request-id: fault-proxy\r\n");
    let body = if json {
        let sqs = req
            .amz_target
            .as_deref()
            .unwrap_or_default()
            .starts_with("AmazonSQS");
        let ns = if sqs {
            "com.amazonaws.sqs"
        } else {
            "com.amazonaws"
        };
        head.push_str("Content-Type: application/x-amz-json-1.0\r\n");
        head.push_str(&format!("x-amzn-query-error: {code};{fault}\r\n"));
        serde_json::json!({"__type": format!("{ns}#{code}"), "message": msg}).to_string()
    } else if query {
        head.push_str("Content-Type: text/xml\r\n");
        format!(
            "<ErrorResponse><Error><Type>{fault}</Type><Code>{code}</Code><Message>{msg}</Message>\
             </Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
        )
    } else {
        head.push_str("Content-Type: application/xml\r\n");
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{msg}</Message><RequestId>fault-proxy</RequestId></Error>"
        )
    };
    let body = if req.method == "HEAD" {
        Vec::new()
    } else {
        body.into_bytes()
    };
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    (head, body)
}

/// A request or status line with its headers.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn parse(raw: &[u8]) -> std::io::Result<Head> {
        let text = std::str::from_utf8(raw).map_err(|_| ErrorKind::InvalidData)?;
        let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
        let start = lines.next().ok_or(ErrorKind::InvalidData)?.to_owned();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok(Head { start, headers })
    }
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let named = self
            .headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name));
        named.map(|(_, v)| v.as_str())
    }
    fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.values(name).next()
    }
    fn has_token(&self, name: &str, token: &str) -> bool {
        let mut tokens = self.values(name).flat_map(|v| v.split(','));
        tokens.any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// A TCP stream with a read buffer and just enough HTTP/1.1 framing.
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    fn new(stream: TcpStream) -> Self {
        let buf = Vec::new();
        Wire { stream, buf }
    }

    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads more; false at end of stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    async fn fill_or_eof(&mut self) -> std::io::Result<()> {
        let more = self.fill().await?;
        more.then_some(()).ok_or(ErrorKind::UnexpectedEof.into())
    }

    /// The next head, or `None` if the peer closed cleanly between messages.
    async fn read_head(&mut self) -> std::io::Result<Option<Head>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
                return Head::parse(&raw).map(Some);
            }
            if self.buf.len() > 64 * 1024 {
                return Err(ErrorKind::InvalidData.into());
            }
            if !self.fill().await? {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    async fn take(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill_or_eof().await?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                return Ok(self.buf.drain(..end + 2).collect());
            }
            self.fill_or_eof().await?;
        }
    }

    /// The raw body (chunk framing kept) of a message with this head.
    async fn read_body(&mut self, head: &Head) -> std::io::Result<Vec<u8>> {
        if head.has_token("transfer-encoding", "chunked") {
            let mut out = Vec::new();
            loop {
                let line = self.line().await?;
                out.extend_from_slice(&line);
                let size = std::str::from_utf8(&line)
                    .ok()
                    .and_then(|l| usize::from_str_radix(l.split(';').next()?.trim(), 16).ok())
                    .ok_or(ErrorKind::InvalidData)?;
                if size == 0 {
                    loop {
                        let trailer = self.line().await?;
                        out.extend_from_slice(&trailer);
                        if trailer == b"\r\n" {
                            return Ok(out);
                        }
                    }
                }
                out.extend_from_slice(&self.take(size + 2).await?);
            }
        }
        match head.get("content-length").map(str::parse::<usize>) {
            Some(Ok(n)) => self.take(n).await,
            Some(Err(_)) => Err(ErrorKind::InvalidData.into()),
            None => Ok(Vec::new()),
        }
    }

    async fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        while self.fill().await? {}
        Ok(std::mem::take(&mut self.buf))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
