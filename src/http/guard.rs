//! Request guards for a token-less API: a browser page must not be able to use it.
//!
//! Without `http.auth_token` the API trusts anyone who can connect, which on loopback
//! includes every web page the operator's browser opens. Two checks close that:
//!
//! - **Host allow-list** (DNS rebinding): a page on `attacker.example` that rebinds its
//!   name to 127.0.0.1 still sends `Host: attacker.example`. Such a request answers
//!   **421 Misdirected Request** — the status RFC 9110 §15.5.20 gives for a request this
//!   server is not authoritative for — rather than 403, which would claim the resource
//!   exists but is forbidden. `/v1/sns` is not guarded: SNS posts with the public Host,
//!   and its signature is the check.
//! - **JSON only** (CSRF): a cross-site `<form>` or `fetch` without preflight can send
//!   only `text/plain`, form or multipart bodies; `POST /v1/jobs` demands
//!   `application/json` (415 otherwise), which a browser sends cross-site only after a
//!   CORS preflight derivd never answers. This applies with a token too: it is the
//!   route's contract.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error;

/// The allowed `Host` names, lower-case; `None` when a token guards the API instead.
#[derive(Clone)]
pub struct HostGuard(Option<Arc<Vec<String>>>);

impl HostGuard {
    pub fn new(auth_token: Option<&str>, allowed: &[String]) -> HostGuard {
        match auth_token {
            Some(_) => HostGuard(None),
            None => HostGuard(Some(Arc::new(
                allowed.iter().map(|h| h.to_ascii_lowercase()).collect(),
            ))),
        }
    }

    fn allows(&self, host: Option<&str>) -> bool {
        let Some(allowed) = &self.0 else {
            return true;
        };
        host.and_then(host_name)
            .is_some_and(|h| allowed.iter().any(|a| a.eq_ignore_ascii_case(h)))
    }
}

/// Middleware: refuses a request whose Host is not allowed (when there is no token).
pub async fn check_host(State(guard): State<HostGuard>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if !guard.allows(host) {
        return error(
            StatusCode::MISDIRECTED_REQUEST,
            "Host is not in http.allowed_hosts (set http.auth_token to serve other names)",
        );
    }
    next.run(req).await
}

/// Middleware: refuses a body that is not declared `application/json`.
pub async fn require_json(req: Request, next: Next) -> Response {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json);
    if !json {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    next.run(req).await
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// The name part of a Host value: `[::1]:8080` → `[::1]`, `localhost:80` → `localhost`.
/// `None` for a malformed value (an unbracketed IPv6 address, a non-numeric port).
fn host_name(host: &str) -> Option<&str> {
    let split = match host.starts_with('[') {
        true => host.find(']')? + 1,
        false => host.find(':').unwrap_or(host.len()),
    };
    let (name, port) = host.split_at(split);
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (port_ok && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> HostGuard {
        let d = crate::config::Config::default().http.allowed_hosts;
        HostGuard::new(None, &d)
    }

    #[test]
    fn allowed_hosts_match_with_or_without_a_port() {
        let g = defaults();
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(g.allows(Some(ok)), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:8080",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "localhost:80:80",
            "localhost:x",
            "::1",
            "[::1]x",
            "",
        ] {
            assert!(!g.allows(Some(bad)), "{bad}");
        }
        assert!(!g.allows(None));
    }

    #[test]
    fn a_token_lifts_the_host_check() {
        let g = HostGuard::new(Some("0123456789abcdef"), &[]);
        assert!(g.allows(Some("attacker.example")));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("application/jsonx"));
    }
}
